"""Dashboard forms. They only collect input: the rules live in `calls.services`."""

from django import forms

from billing import pricing

RATINGS = [(value, f"{value} / 5") for value in range(5, 0, -1)]


class CallNowForm(forms.Form):
    """Persona choices come grouped: the person's contacts first, then the catalogue."""

    persona = forms.ChoiceField(label="Who calls you")
    scenario = forms.ChoiceField(label="Scenario", required=False)
    phone_number = forms.CharField(label="Your phone", max_length=20)
    minutes = forms.IntegerField(
        label="Length (minutes)",
        min_value=pricing.MIN_ESTIMATE_MINUTES,
        max_value=pricing.MAX_ESTIMATE_MINUTES,
        initial=5,
        help_text="The call ends when the time held on your card runs out.",
    )

    def __init__(self, *args, contacts: list, catalogue: list, scenarios: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        groups = []
        if contacts:
            groups.append(("Your contacts", [(str(p.pk), p.name) for p in contacts]))
        if catalogue:
            groups.append(("Catalogue", [(str(p.pk), p.name) for p in catalogue]))
        self.fields["persona"].choices = [("", "Choose a persona"), *groups]
        self.fields["scenario"].choices = [("", "None: a friendly call")] + [(str(s.pk), s.name) for s in scenarios]


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(choices=RATINGS, coerce=int, label="Rating")
    feedback_text = forms.CharField(
        label="Comments", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

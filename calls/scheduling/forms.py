"""Dashboard forms for booking calls and starting series; times are in the person's zone."""

from django import forms

from billing import pricing

WEEKDAY_CHOICES = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]
DURATION_CHOICES = [(minutes, f"{minutes} min") for minutes in (5, 10, 15, 30)]


class _CallFields(forms.Form):
    persona_id = forms.ChoiceField(label="Persona")
    phone_number = forms.CharField(max_length=32, widget=forms.TextInput(attrs={"inputmode": "tel"}))
    estimated_duration = forms.TypedChoiceField(
        label="Up to", choices=DURATION_CHOICES, coerce=int, initial=5, help_text="The hold placed on your card."
    )
    call_pretext = forms.CharField(
        label="What the call is about", required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, personas=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["persona_id"].choices = [(str(persona.pk), persona.name) for persona in personas]

    def clean_estimated_duration(self) -> int:
        minutes = self.cleaned_data["estimated_duration"]
        if not pricing.MIN_ESTIMATE_MINUTES <= minutes <= pricing.MAX_ESTIMATE_MINUTES:
            raise forms.ValidationError("Choose a length between 1 and 30 minutes.")
        return minutes


class ScheduleForm(_CallFields):
    local_time = forms.DateTimeField(
        label="When", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), input_formats=["%Y-%m-%dT%H:%M"]
    )


class SeriesForm(_CallFields):
    time_of_day = forms.TimeField(label="Time of day", widget=forms.TimeInput(attrs={"type": "time"}))
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAY_CHOICES, coerce=int, widget=forms.CheckboxSelectMultiple, initial=[1, 2, 3, 4, 5]
    )
    time_zone = forms.CharField(
        label="Time zone", max_length=64, widget=forms.TextInput(attrs={"data-browser-timezone": ""})
    )
    end_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    max_calls = forms.IntegerField(required=False, min_value=1, label="At most this many calls")
    off_session_consent = forms.BooleanField(
        label="Hold the cost of each call on my default card shortly before it (I may not be online then)."
    )

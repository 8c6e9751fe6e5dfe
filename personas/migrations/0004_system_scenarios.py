"""The system scenario templates every fresh database starts with (`001_*`)."""

from django.db import migrations

SCENARIOS = [
    {
        "name": "Wake-up Call",
        "description": "A cheerful call that gets you out of bed and moving, and checks you are really awake.",
        "pretext": "You are calling to wake them up and get them moving. Stay on the line until they sound "
        "properly awake and are out of bed, and remind them what they told you they have planned today.",
        "suggested": "Wake-up Buddy",
    },
    {
        "name": "Interview Practice",
        "description": "A short mock interview before the real one, with quick feedback on every answer.",
        "pretext": "You are calling to run a short mock job interview before their real one. Ask one common "
        "interview question at a time, give brief, constructive feedback after each answer, and finish with "
        "a word of encouragement.",
        "suggested": "Interview Coach",
    },
    {
        "name": "Friendly Check-in",
        "description": "A warm call just to ask how you are doing and listen.",
        "pretext": "You are calling just to check in. Ask how their day and week are going, follow up on what "
        "they share, and make sure they feel heard before you say goodbye.",
        "suggested": "Best Friend",
    },
    {
        "name": "Excuse to Leave",
        "description": "A polite way out: a call that gives you a reason to leave a meeting, date or party.",
        "pretext": "You are calling to give them a polite excuse to leave where they are. Sound friendly but a "
        "little urgent, say you need their help with something right away, keep it short, and agree with "
        "whatever reason they give so they can say goodbye and go.",
        "suggested": "Best Friend",
    },
    {
        "name": "Evening Wind-down",
        "description": "A slow, calm call to reflect on the day and get ready for sleep.",
        "pretext": "You are calling in the evening to help them wind down. Speak slowly and softly, ask about "
        "one good thing from their day, help them let go of any worries for tonight, and wish them a "
        "restful sleep.",
        "suggested": "Wise Grandparent",
    },
]


def create_scenarios(apps, schema_editor):
    Persona = apps.get_model("personas", "Persona")
    ScenarioTemplate = apps.get_model("personas", "ScenarioTemplate")
    for data in SCENARIOS:
        fields = dict(data)
        suggested = Persona.objects.filter(owner=None, name=fields.pop("suggested")).first()
        ScenarioTemplate.objects.get_or_create(
            owner=None,
            name=fields.pop("name"),
            defaults={**fields, "is_public": True, "suggested_persona": suggested},
        )


def delete_scenarios(apps, schema_editor):
    ScenarioTemplate = apps.get_model("personas", "ScenarioTemplate")
    ScenarioTemplate.objects.filter(owner=None, name__in=[data["name"] for data in SCENARIOS]).delete()


class Migration(migrations.Migration):
    dependencies = [("personas", "0003_system_personas")]

    operations = [migrations.RunPython(create_scenarios, delete_scenarios)]

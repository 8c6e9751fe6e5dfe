"""Scheduling answers the lower apps' questions about what it still needs, so they never
import it."""

from django.dispatch import receiver

from calls.scheduling import selectors
from personas.models import Persona
from personas.signals import persona_delete_requested


@receiver(persona_delete_requested, sender=Persona, dispatch_uid="scheduling-persona-in-use")
def persona_still_booked(sender, persona: Persona, **kwargs) -> bool:
    """A persona a waiting booking or a running series will still call with may not be deleted."""
    return selectors.persona_has_active_bookings(persona_id=persona.pk)

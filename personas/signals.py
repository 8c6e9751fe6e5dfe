"""Personas keep their own cached lists fresh when rows go away by any path: a service,
an admin delete, or a cascade from deleting a user. (Writes go through the services,
which refresh the caches themselves; deletes can come from elsewhere.)

Apps above personas that still need a persona answer `persona_delete_requested`, so
personas need not know them."""

from django.db.models.signals import post_delete
from django.dispatch import Signal, receiver

from personas import cache
from personas.models import Contact, Persona

# Sent (with `persona=`) when a person asks to delete their persona; a receiver returns True
# when something it owns will still call with that persona, and the deletion is refused.
# An admin's delete and a cascade from deleting an account do not ask.
persona_delete_requested = Signal()


@receiver(post_delete, sender=Persona, dispatch_uid="personas-persona-deleted")
def persona_deleted(sender, instance: Persona, **kwargs) -> None:
    cache.bump(cache.CATALOGUE)


@receiver(post_delete, sender=Contact, dispatch_uid="personas-contact-deleted")
def contact_deleted(sender, instance: Contact, **kwargs) -> None:
    cache.bump(cache.contacts_scope(instance.user_id))

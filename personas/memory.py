"""What a persona remembers about a person (`PersonaMemory`): the two operations every writer
and reader shares. The after-call analysis stores what it distilled with `memory_store`; a live
call reads it with `memory_recall`; the person's own edits go through the same bound.

The text is data about the person, never instructions: whoever puts it in a prompt frames it
as notes and quotes it."""

import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from personas.models import PersonaMemory


def memory_bounded(text: str, *, limit: int | None = None) -> str:
    """`text` cut to `PERSONA_MEMORY_MAX_CHARS`, at the last line or sentence that fits, so a
    note is never stored half-written."""
    limit = limit or settings.PERSONA_MEMORY_MAX_CHARS
    text = "\n".join(line.strip() for line in text.strip().splitlines() if line.strip())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind("\n"), cut.rfind(". "))
    return cut[: end + 1].strip() if end > 0 else cut.rsplit(" ", 1)[0].strip()


def memory_recall(*, user_id: uuid.UUID, persona_id: uuid.UUID) -> str:
    """What the persona remembers about the person, or "" when nothing or when switched off."""
    memory = PersonaMemory.objects.filter(user_id=user_id, persona_id=persona_id, enabled=True).first()
    return memory.text if memory else ""


def memory_store(*, user_id: uuid.UUID, persona_id: uuid.UUID, text: str) -> PersonaMemory | None:
    """Replaces the persona's notes about the person with `text` (bounded). Does nothing when
    the person switched this persona's memory off; returns the stored memory otherwise."""
    with transaction.atomic():
        memory, _ = PersonaMemory.objects.select_for_update().get_or_create(user_id=user_id, persona_id=persona_id)
        if not memory.enabled:
            return None
        memory.text = memory_bounded(text)
        memory.updated_at = timezone.now()
        memory.save(update_fields=["text", "updated_at"])
    return memory

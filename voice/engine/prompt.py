"""What the LLM is told: the persona, the scenario, how to talk on the phone, the history."""

from __future__ import annotations

from collections.abc import Sequence

from voice.providers.base import ChatMessage, ToolSpec

PHONE_RULES = (
    "You are on a live phone call, and everything you write is spoken aloud by a speech synthesiser. "
    "Keep each turn short, one to three sentences, then let the other person talk. "
    "Write plain spoken sentences: no lists, no markdown, no emojis, no stage directions, no asides. "
    "Write numbers, dates, times, prices and symbols as words, the way you would say them. "
    "Stay in character and never mention that you are an AI or a program. "
    "If one of your earlier turns stops mid-sentence, the other person interrupted you there: "
    "respond to what they said. "
    "When the conversation has come to an end and you have said goodbye, call the end_call tool."
)

END_CALL_TOOL = ToolSpec(
    name="end_call",
    description=(
        "Hang up the phone. Use it only once the conversation is over and you have already said goodbye "
        "in your reply."
    ),
    parameters={"type": "object", "properties": {}, "additionalProperties": False},
)


def persona_instructions(*, persona_name: str, system_prompt: str, pretext: str, first_name: str) -> str:
    """The system message: who the persona is, the scenario, the phone rules, who it is calling."""
    parts = [system_prompt.strip(), f"Your name is {persona_name}."]
    if pretext.strip():
        parts.append(f"The situation for this call: {pretext.strip()}")
    parts.append(PHONE_RULES)
    if first_name.strip():
        parts.append(f"You are talking with {first_name.strip()}; use their first name now and then.")
    return "\n\n".join(part for part in parts if part)


def build_messages(
    *, instructions: str, history: Sequence[ChatMessage], history_limit: int, note: str | None = None
) -> list[ChatMessage]:
    """The system message, the latest `history_limit` turns, and an optional note about right now."""
    messages = [ChatMessage(role="system", content=instructions), *history[-history_limit:]]
    if note:
        messages.append(ChatMessage(role="system", content=note))
    return messages

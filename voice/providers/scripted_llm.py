"""A scripted persona for running without an LLM: it keeps the persona's name from the
system prompt, reacts to the last thing the person said (answers a question, picks up a
word they used, says goodbye and calls `end_call` when they do) and streams its reply
word by word like a real model, so the whole pipeline behaves as it would in production.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence

from .base import ChatMessage, LlmItem, TextDelta, ToolCall, ToolSpec

END_CALL = "end_call"
_PERSONA_NAME = re.compile(r"Your name is ([^.\n]+)\.")
_INTRODUCTION = re.compile(r"\bYou are ([A-Z][\w'-]*(?: [A-Z][\w'-]*)?)")
_FIRST_NAME = re.compile(r"You are talking with ([^;.\n]+)")
_GOODBYE = re.compile(r"\b(good ?bye|bye|see you|talk (?:to you )?later|hang up|got to go|gotta go)\b", re.I)
_NAME_QUESTION = re.compile(r"\b(your name|who are you|who is this|who's this|who's calling)\b", re.I)
_HOW_ARE_YOU = re.compile(r"\bhow are (?:you|things)\b|\bhow's it going\b|\bhow do you do\b", re.I)
_QUESTION_START = re.compile(r"^(what|why|how|when|where|who|which|do|does|did|are|is|can|could|would|will)\b", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
_COMMON_WORDS = (
    "a about after again all also am an and any are as at be because been but by can could did do does "
    "doing for from had has have having he her here him his how i i'm if in into is it it's its just like "
    "me my no not now of off oh okay on one or our out really so some that that's the their them then "
    "there they this to too up very was we well were what when where which who why will with would yeah "
    "yes you your"
)
_STOPWORDS = frozenset(_COMMON_WORDS.split())


class ScriptedPersonaLlm:
    label = "scripted persona (local)"

    def __init__(self, *, word_delay: float = 0.0) -> None:
        self._word_delay = word_delay

    async def stream_reply(
        self,
        *,
        messages: Sequence[ChatMessage],
        model: str,
        temperature: float,
        tools: Sequence[ToolSpec] = (),
    ) -> AsyncIterator[LlmItem]:
        """No model, so no tokens: it reports no Usage."""
        reply, hang_up = compose_reply(messages)
        for index, word in enumerate(reply.split()):
            if index:
                await asyncio.sleep(self._word_delay)
            yield TextDelta(word if index == 0 else f" {word}")
        if hang_up and any(tool.name == END_CALL for tool in tools):
            yield ToolCall(name=END_CALL, arguments={})


def compose_reply(messages: Sequence[ChatMessage]) -> tuple[str, bool]:
    """The persona's next line and whether it hangs up after it."""
    instructions = next((message.content for message in messages if message.role == "system"), "")
    persona = _persona_name(instructions)
    first_name = _match(_FIRST_NAME, instructions)
    to_them = f", {first_name}" if first_name else ""
    last = messages[-1] if messages else None
    said = [message for message in messages if message.role == "user"]

    if last is not None and last.role == "system" and len(messages) > 1:
        return _answer_note(last.content, to_them), False
    if not said:
        return f"Hi{to_them}! It's {persona}. How are you doing?", False
    heard = said[-1].content.strip()
    if not _WORD.search(heard):
        return "Sorry, I didn't quite catch that. Could you say it again?", False
    if _GOODBYE.search(heard):
        return f"Goodbye{to_them}! It was lovely talking with you.", True
    if _NAME_QUESTION.search(heard):
        return f"It's {persona}, of course!", False
    if _HOW_ARE_YOU.search(heard):
        return "I'm doing well, thank you for asking. And how are you?", False
    if heard.endswith("?") or _QUESTION_START.match(heard):
        return "Good question. I'd have to think about that one. What do you reckon?", False
    keyword = _keyword(heard)
    if keyword:
        return f"{keyword.capitalize()}? Tell me more about that.", False
    return "I see. Go on, I'm listening.", False


def _answer_note(note: str, to_them: str) -> str:
    """The engine's notes: silence (check they are there) or time to wrap up (goodbye)."""
    if "goodbye" in note.lower():
        return f"It was lovely talking with you{to_them}. Goodbye!"
    return f"Hello{to_them}? Are you still there?"


def _persona_name(instructions: str) -> str:
    return _match(_PERSONA_NAME, instructions) or _match(_INTRODUCTION, instructions) or "your caller"


def _match(pattern: re.Pattern, text: str) -> str:
    found = pattern.search(text)
    return found.group(1).strip() if found else ""


def _keyword(heard: str) -> str:
    words = [word for word in _WORD.findall(heard) if word.lower() not in _STOPWORDS]
    return max(words, key=len) if words else ""

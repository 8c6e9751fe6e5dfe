"""Input rules for personas and scenario templates (`000_*` §3.2), shared by the API,
the dashboard and the admin through the services."""

import html
import re
from dataclasses import dataclass

import nh3
from django.core.exceptions import ValidationError

from callmeback.errors import excerpt

MAX_TAGS = 10
NAME_MIN_LENGTH = 3
NAME_MAX_LENGTH = 50
TAG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Letters and digits of any script, with spaces, hyphens or apostrophes between them
# (persona names, and so also what a search may contain).
NAME_RE = re.compile(r"^[^\W_]+(?:[ '\u2019\-]+[^\W_]+)*$")
LLM_MODEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/\-]{0,99}$")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_SANITIZE_ROUNDS = 5


def sanitize_text(value: str) -> str:
    """Plain text without markup: tags and their script/style content go, text stays.

    nh3 escapes what it keeps (`<3` → `&lt;3`), so each round is unescaped back to plain
    text; a second round catches markup that was smuggled in as entities
    (`&lt;script&gt;`). Text that is still changing after a few rounds is refused.
    """
    text = _CONTROL_CHARS.sub("", value)
    for _ in range(_MAX_SANITIZE_ROUNDS):
        cleaned = html.unescape(nh3.clean(text, tags=set()))
        if cleaned == text:
            return text
        text = cleaned
    raise ValidationError("Text may not contain HTML.")


@dataclass(frozen=True)
class TextRule:
    """Length limits of one free-text field, counted after sanitising and trimming."""

    label: str
    min_length: int
    max_length: int

    def clean(self, value: str) -> str:
        text = sanitize_text(value).strip()
        if len(text) < self.min_length:
            if not text:
                raise ValidationError(f"{self.label} is required.")
            raise ValidationError(f"{self.label} must be at least {self.min_length} characters.")
        if len(text) > self.max_length:
            raise ValidationError(f"{self.label} must be at most {self.max_length} characters.")
        return text

    @property
    def bounds(self) -> str:
        """The limits in words, for form help texts."""
        if self.min_length:
            return f"{self.min_length} to {self.max_length} characters"
        return f"Up to {self.max_length} characters"


@dataclass(frozen=True)
class RangeRule:
    label: str
    minimum: float
    maximum: float

    def clean(self, value: float) -> float:
        if not self.minimum <= value <= self.maximum:
            raise ValidationError(f"{self.label} must be between {self.minimum:g} and {self.maximum:g}.")
        return float(value)

    @property
    def bounds(self) -> str:
        return f"{self.minimum:g} to {self.maximum:g}"


DESCRIPTION = TextRule("Description", 10, 500)
SYSTEM_PROMPT = TextRule("System prompt", 20, 2000)
GREETING = TextRule("Greeting", 0, 300)
PRETEXT = TextRule("Pretext", 10, 1000)
VOICE_STABILITY = RangeRule("Stability", 0, 1)
VOICE_SIMILARITY = RangeRule("Similarity", 0, 1)
VOICE_SPEED = RangeRule("Speaking rate", 0.7, 1.2)
LLM_TEMPERATURE = RangeRule("Temperature", 0, 2)


NAME_MIN_LENGTH = 3
NAME_MAX_LENGTH = 50


def clean_name(value: str) -> str:
    name = " ".join(sanitize_text(value).split())
    if len(name) < NAME_MIN_LENGTH:
        raise ValidationError(f"Name must be at least {NAME_MIN_LENGTH} characters." if name else "Name is required.")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(f"Name must be at most {NAME_MAX_LENGTH} characters.")
    if not NAME_RE.match(name):
        raise ValidationError("Name may contain only letters, numbers, spaces, hyphens and apostrophes.")
    return name


def clean_tag(value: str) -> str:
    tag = value.strip().lower()
    if not 2 <= len(tag) <= 30:
        raise ValidationError(f"Tag '{excerpt(tag)}' must be 2 to 30 characters.")
    if not TAG_RE.match(tag):
        raise ValidationError(f"Tag '{excerpt(tag)}' may contain only lowercase letters, numbers and hyphens.")
    return tag


def clean_tags(values: list[str] | tuple[str, ...]) -> list[str]:
    """Lowercased, de-duplicated in order, at most `MAX_TAGS`."""
    if not isinstance(values, list | tuple):
        raise ValidationError("Tags must be a list.")
    tags: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise ValidationError("Tags must be strings.")
        tag = clean_tag(value)
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationError(f"At most {MAX_TAGS} tags are allowed.")
    return tags


def clean_llm_model(value: str) -> str:
    model = value.strip()
    if model and not LLM_MODEL_RE.match(model):
        raise ValidationError("Model must be a model name such as gpt-4o-mini (letters, numbers, . _ : / -).")
    return model


def clean_search(value: str) -> str:
    text = " ".join(value.split())
    if not 2 <= len(text) <= 100:
        raise ValidationError("Search must be 2 to 100 characters.")
    if not NAME_RE.match(text):
        raise ValidationError("Search may contain only letters, numbers, spaces, hyphens and apostrophes.")
    return text

"""`page`/`limit` pagination with the spec's `pagination` block."""

from dataclasses import dataclass
from math import ceil

from django.db.models import QuerySet

from callmeback.errors import ValidationFailed

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class PageRequest:
    page: int
    limit: int

    @classmethod
    def from_query(cls, params, *, default_limit: int = DEFAULT_LIMIT, max_limit: int = MAX_LIMIT) -> "PageRequest":
        """Reads `page` (≥ 1) and `limit` (1..max_limit); anything else is a VALIDATION_ERROR."""
        errors: dict[str, list[str]] = {}
        page = _positive_int(params.get("page"), 1, "page", errors)
        limit = _positive_int(params.get("limit"), default_limit, "limit", errors)
        if "limit" not in errors and limit > max_limit:
            errors["limit"] = [f"limit must be at most {max_limit}."]
        if errors:
            raise ValidationFailed.for_fields(errors)
        return cls(page=page, limit=limit)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def _positive_int(raw: str | None, default: int, name: str, errors: dict) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        errors[name] = [f"{name} must be a whole number."]
        return default
    if value < 1:
        errors[name] = [f"{name} must be at least 1."]
    return value


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    limit: int
    total: int

    @property
    def pages(self) -> int:
        return ceil(self.total / self.limit) if self.total else 0

    def pagination(self) -> dict[str, int]:
        return {"page": self.page, "limit": self.limit, "total": self.total, "pages": self.pages}


def paginate(queryset: QuerySet, request: PageRequest) -> Page:
    """One COUNT and one slice query, whatever the page size."""
    total = queryset.count()
    items = list(queryset[request.offset : request.offset + request.limit])
    return Page(items=items, page=request.page, limit=request.limit, total=total)

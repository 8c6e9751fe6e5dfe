"""The API's JSON parser: DRF's, with a limit on how deeply a body may nest.

Python's decoder recurses once per level, so 100,000 `[` end in a RecursionError (a 500),
and even a body it can decode may be too deep for what reads it afterwards. Our bodies
are flat objects with the odd list; anything past `MAX_JSON_DEPTH` is refused as 400.
"""

from typing import Any

from rest_framework import parsers

from callmeback.errors import ValidationFailed

MAX_JSON_DEPTH = 32


def json_depth(value: Any) -> int:
    """How many objects/arrays deep `value` goes (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _too_deep() -> ValidationFailed:
    return ValidationFailed(f"Request body nests JSON deeper than {MAX_JSON_DEPTH} levels.")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        if json_depth(data) > MAX_JSON_DEPTH:
            raise _too_deep()
        return data

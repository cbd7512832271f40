"""Generated sections of hand-written docs (the settings reference, the README's variables)."""

from __future__ import annotations


def between_markers(text: str, begin: str, end: str, body: str) -> str | None:
    """`text` with `body` put between its `begin` and `end` marker lines; None without them."""
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        return None
    return f"{text[:start]}{begin}\n\n{body}\n\n{text[stop:]}"

"""Which language a question is in, as far as retrieval and answering need to know."""

from __future__ import annotations

from knowledge.text.cjk import han_count


def text_language(text: str) -> str:
    """``zh`` when a fair share of the characters are Chinese (Han), else ``en``."""
    return "zh" if han_count(text) >= max(2, len(text) * 0.2) else "en"

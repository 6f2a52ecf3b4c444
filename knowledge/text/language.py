"""Which language a question is in, as far as retrieval and answering need to know."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u4e00-\u9fff]")


def text_language(text: str) -> str:
    """``zh`` when a fair share of the characters are Chinese, else ``en``."""
    return "zh" if len(_CJK.findall(text)) >= max(2, len(text) * 0.2) else "en"

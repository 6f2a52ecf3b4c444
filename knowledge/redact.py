"""Mask personal data in documents and questions before anything is stored or embedded.

Precision matters as much as recall here: the numbers clinicians and analysts ask about
("INR 2.0-3.0", "CET1 14.2%", "2023-12-31", "section 3.2.1") look like identifiers to a naive
pattern, and a masked dose or ratio makes a document useless. So every built-in pattern is
anchored on digit boundaries (not ``\\b``, which does not separate digits from Chinese
characters), phone numbers need a phone-shaped prefix or grouping, and identifiers with a check
digit are validated: Chinese resident IDs by ISO 7064 MOD 11-2 plus a real birth date, payment
cards by Luhn plus a card-network first digit, SSNs by the ranges never issued.

Each match becomes a typed placeholder (``[EMAIL]``, ``[PHONE]``, ``[NATIONAL_ID]``, ``[CARD]``,
or ``[MRN]`` for a pack pattern named ``mrn``), so readers and the model still see that a value
was there. Left out on purpose: personal names and addresses (they need an NER model and their
false positives would hit drug and statute names), and document metadata and file names, which
the loaders take from the file system rather than from the content.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from domains.pack import RedactionConfig
from knowledge.types import Block, ParsedDocument

_NO_DIGIT_BEFORE = r"(?<![0-9])"
_NO_DIGIT_AFTER = r"(?![0-9])"
_NO_ALNUM_BEFORE = r"(?<![A-Za-z0-9])"
_NO_ALNUM_AFTER = r"(?![A-Za-z0-9])"

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
    r"(?![A-Za-z0-9-])"
)
_PHONE_PATTERNS = (
    # International: +44 20 7946 0958, +86 138 1234 5678, +1 (555) 123-4567.
    re.compile(
        r"(?<![A-Za-z0-9+])\+\d{1,3}(?:[ .-]?\(0\))?(?:[ .-]?\(?\d{1,4}\)?){2,5}" + _NO_DIGIT_AFTER
    ),
    # UK and Chinese landlines with a trunk 0: 020 7946 0958, 01632 960123, 010-12345678.
    re.compile(
        r"(?<![A-Za-z0-9.,])(?:\(0\d{2,4}\) ?|0\d{2,4}[ -]?)\d{3,4}[ -]?\d{3,4}" + _NO_DIGIT_AFTER
    ),
    # North American: (555) 123-4567, 555-123-4567, 1-800-555-0199.
    re.compile(
        _NO_ALNUM_BEFORE + r"(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[.-])\d{3}[.-]\d{4}" + _NO_DIGIT_AFTER
    ),
    # Chinese mobile: 13812345678, 138 1234 5678, 138-1234-5678.
    re.compile(_NO_DIGIT_BEFORE + r"1[3-9]\d(?:[ -]?\d{4}){2}" + _NO_DIGIT_AFTER),
)
_CN_RESIDENT_ID = re.compile(
    _NO_ALNUM_BEFORE
    + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
    + _NO_ALNUM_AFTER
)
_UK_NINO = re.compile(
    _NO_ALNUM_BEFORE
    + r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]"
    + _NO_ALNUM_AFTER
)
_US_SSN = re.compile(r"(?<![0-9-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![0-9-])")
# Unbroken, 4-4-4-4(-3) groups, or the 4-6-5 / 4-6-4 grouping of Amex and Diners.
_CARD = re.compile(
    _NO_DIGIT_BEFORE
    + r"(?:\d{13,19}|\d{4}(?P<a>[ -])\d{4}(?:(?P=a)\d{4}){1,2}(?:(?P=a)\d{1,4})?"
    + r"|\d{4}(?P<b>[ -])\d{6}(?P=b)\d{4,5})"
    + _NO_DIGIT_AFTER
)
_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_ID_CHECK = "10X98765432"


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _valid_phone(value: str) -> bool:
    return 8 <= len(_digits(value)) <= 15


def _valid_cn_id(value: str) -> bool:
    """Checksum and birth date: a random 18-digit number passes both about once in 150."""
    body, check = value[:17], value[17].upper()
    total = sum(int(d) * w for d, w in zip(body, _CN_ID_WEIGHTS, strict=True))
    if _CN_ID_CHECK[total % 11] != check:
        return False
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return True


def _valid_card(value: str) -> bool:
    """Luhn, and a first digit some card network issues (2-6), so "0000…" or a run of
    years ("2019 2020 2021 2022" starts with 2 but rarely passes Luhn too) stays rare."""
    digits = _digits(value)
    if not 13 <= len(digits) <= 19 or digits[0] not in "23456":
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _always(_: str) -> bool:
    return True


@dataclass(frozen=True)
class _Detector:
    kind: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool] = _always

    @property
    def placeholder(self) -> str:
        return f"[{self.kind.upper()}]"


_BUILT_IN: dict[str, tuple[_Detector, ...]] = {
    "email": (_Detector("email", _EMAIL),),
    "national_id": (
        _Detector("national_id", _CN_RESIDENT_ID, _valid_cn_id),
        _Detector("national_id", _UK_NINO),
        _Detector("national_id", _US_SSN),
    ),
    "card": (_Detector("card", _CARD, _valid_card),),
    "phone": tuple(_Detector("phone", p, _valid_phone) for p in _PHONE_PATTERNS),
}
# When matches overlap, the earlier kind here wins: an e-mail holds digits that look like a
# phone, a pack's own pattern is the most specific thing we know, and a resident ID can pass
# Luhn, so it must claim its digits before the card detector does.
_PRIORITY = ("email", "custom", "national_id", "card", "phone")


def _detectors(cfg: RedactionConfig) -> list[_Detector]:
    """Built-ins for the configured kinds plus the pack's patterns, in priority order.

    Built per call: ``re`` caches compiled patterns, so this costs a few dict lookups.
    """
    found: list[_Detector] = []
    for group in _PRIORITY:
        if group == "custom":
            found.extend(_Detector(n, re.compile(p)) for n, p in sorted(cfg.patterns.items()))
        elif group in cfg.kinds:
            found.extend(_BUILT_IN[group])
    return found


def _taken(text: str, detectors: Iterable[_Detector]) -> list[tuple[int, int, _Detector]]:
    """The spans of ``text`` to mask, earliest first; a span claimed first keeps its chars."""
    taken: list[tuple[int, int, _Detector]] = []
    for detector in detectors:
        for match in detector.pattern.finditer(text):
            start, end = match.span()
            if end == start or not detector.valid(match.group()):
                continue
            if all(end <= s or start >= e for s, e, _ in taken):
                taken.append((start, end, detector))
    taken.sort(key=lambda t: t[0])
    return taken


def redaction_spans(text: str, cfg: RedactionConfig) -> list[tuple[int, int]]:
    """Where in ``text`` the pack would mask personal data (none when disabled): what a
    rendered page of the original must black out, as the indexed text was masked."""
    if not cfg.enabled:
        return []
    return [(start, end) for start, end, _ in _taken(text, _detectors(cfg))]


def _redact(text: str, detectors: Iterable[_Detector]) -> tuple[str, Counter[str]]:
    taken = _taken(text, detectors)
    parts: list[str] = []
    counts: Counter[str] = Counter()
    position = 0
    for start, end, detector in taken:
        parts.append(text[position:start])
        parts.append(detector.placeholder)
        counts[detector.kind] += 1
        position = end
    parts.append(text[position:])
    return "".join(parts), counts


def redact_text(text: str, cfg: RedactionConfig) -> str:
    """``text`` with personal data replaced by placeholders; unchanged when disabled.

    Questions go through the same masking as documents so that a number typed in a question
    is never logged or embedded when the pack would have hidden it in a document.
    """
    if not cfg.enabled:
        return text
    return _redact(text, _detectors(cfg))[0]


def redact_document(
    doc: ParsedDocument, cfg: RedactionConfig
) -> tuple[ParsedDocument, dict[str, int]]:
    """A masked copy of ``doc`` and how many values of each kind were masked.

    Table blocks carry the same cells twice (rendered ``text`` and ``rows``); both are masked,
    and each kind is counted once per table (the larger of the two counts), not twice.
    """
    if not cfg.enabled:
        return doc, {}
    detectors = _detectors(cfg)
    total: Counter[str] = Counter()
    blocks: list[Block] = []
    for block in doc.blocks:
        text, counts = _redact(block.text, detectors)
        rows = block.rows
        if rows is not None:
            row_counts: Counter[str] = Counter()
            masked_rows = []
            for row in rows:
                cells = []
                for cell in row:
                    masked, cell_counts = _redact(cell, detectors)
                    cells.append(masked)
                    row_counts.update(cell_counts)
                masked_rows.append(tuple(cells))
            rows = tuple(masked_rows)
            counts = counts | row_counts  # Counter union keeps the maximum per kind
        total.update(counts)
        blocks.append(dataclasses.replace(block, text=text, rows=rows))
    masked_doc = dataclasses.replace(doc, blocks=blocks, metadata=dict(doc.metadata))
    return masked_doc, dict(sorted(total.items()))

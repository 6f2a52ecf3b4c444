"""Numbers as a checker must compare them: with their magnitude, unit and rate, in en and zh.

"4" is not supported by "chlorhexidine 4%" when the claim says "4 hours", and "40 mmol per
hour" is not "40 mmol per day": a number agrees with a passage only together with what it
counts. Each number is read with the magnitude word after it (million, bn, 万, 亿), a unit
before or after it (£, $, 元, mg, %, hours, 岁, 小时...) and a rate (per hour, /h, 每天, daily).
A range "20–30 seconds" gives both ends the unit written after the second. Four-digit years
(2023, FY2023, 2023年) are qualifiers, not amounts: they are returned with ``unit="year"``.

Units are folded to one spelling per unit ("hrs", "hours", "h", "小时" -> "hour") so a
paraphrase does not fail a claim; a number with no unit is compatible with any unit, because
a table cell "12.0" under a "£m" header has none written beside it. Left out on purpose:
numbers written in words ("three days", "三天") and unit conversion (2 g vs 2000 mg counts as
a mismatch: a claim should say what the document says).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

# fmt: off
_UNITS: dict[str, tuple[str, ...]] = {
    "percent": ("%", "percent", "per cent", "pct", "个百分点", "百分点"),
    "mg": ("mg", "milligrams?", "毫克"),
    "g": ("g", "grams?", "克"),
    "kg": ("kg", "kilograms?", "公斤", "千克"),
    "mcg": ("mcg", "µg", "μg", "micrograms?", "微克"),
    "ml": ("ml", "millilitres?", "milliliters?", "毫升"),
    "l": ("l", "litres?", "liters?", "升"),
    "mmol": ("mmol", "millimoles?", "毫摩尔"),
    "unit": ("units?", "iu", "单位"),
    "mmhg": ("mmhg",),
    "hour": ("hours?", "hrs?", "h", "小时", "个小时"),
    "minute": ("minutes?", "mins?", "分钟"),
    "second": ("seconds?", "secs?", "s", "秒", "秒钟"),
    "day": ("days?", "d", "天", "日"),
    "week": ("weeks?", "wks?", "周", "星期"),
    "month": ("months?", "个月", "月"),
    "year_span": ("years?", "yrs?", "年"),
    "age": ("岁", "years?[- ]old", "y/?o"),
    "times": ("times", "次", "倍"),
    "celsius": ("°c", "℃", "degrees?"),
    "bpm": ("bpm", "beats per minute", "次/分"),
    "person": ("people", "persons?", "patients?", "employees?", "人", "名"),
    "share": ("shares?", "股"),
    "cny": ("元", "人民币", "rmb", "cny", "yuan"),
    "usd": ("美元", "usd", "dollars?"),
    "gbp": ("英镑", "gbp", "pounds?"),
    "eur": ("欧元", "eur", "euros?"),
    "hkd": ("港元", "港币", "hkd"),
}
_CURRENCY_BEFORE = {"us$": "usd", "hk$": "hkd", "$": "usd", "£": "gbp", "€": "eur",
                    "¥": "cny", "rmb": "cny", "usd": "usd", "gbp": "gbp", "eur": "eur",
                    "cny": "cny", "hkd": "hkd", "人民币": "cny"}
_MAGNITUDES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "millions": 1e6, "mn": 1e6, "m": 1e6,
               "billion": 1e9, "billions": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12,
               "千": 1e3, "万": 1e4, "十万": 1e5, "百万": 1e6, "千万": 1e7, "亿": 1e8,
               "十亿": 1e9, "百亿": 1e10, "千亿": 1e11, "万亿": 1e12}
_RATES: dict[str, tuple[str, ...]] = {
    "hour": (r"(?:/|per |an |each |every )\s*(?:hours?|hr|h)\b", "每小时", "/小时"),
    "minute": (r"(?:/|per |a |each |every )\s*(?:minutes?|min)\b", "每分钟", "/分钟"),
    "day": (r"(?:/|per |a |each |every )\s*(?:days?|d)\b", r"daily\b", "每天", "每日", "/天",
            "/日"),
    "week": (r"(?:/|per |a |each |every )\s*(?:weeks?|wk)\b", r"weekly\b", "每周", "/周"),
    "month": (r"(?:/|per |a |each |every )\s*months?\b", r"monthly\b", "每月", "/月"),
    "year": (r"(?:/|per |a |each |every )\s*(?:years?|annum)\b", r"annually\b", "每年", "/年"),
    "kg": (r"/\s*kg\b", r"per (?:kg|kilogram)\b", "每公斤", "/公斤"),
}
# fmt: on


def _alternation(words: tuple[str, ...] | list[str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_UNIT_OF = {}
for _name, _spellings in _UNITS.items():
    for _spelling in _spellings:
        _UNIT_OF[_spelling] = _name
_UNIT_RE = re.compile(
    r"(?:\s|-(?=[a-z]))?(?P<unit>" + _alternation([s for v in _UNITS.values() for s in v])
    + r")(?![a-z])", re.IGNORECASE)
_MAGNITUDE_RE = re.compile(
    r"\s?(?P<mag>" + _alternation([re.escape(m) for m in _MAGNITUDES]) + r")(?![a-z])",
    re.IGNORECASE)
_RATE_RE = {name: re.compile(r"\s*(?:" + "|".join(forms) + ")", re.IGNORECASE)
            for name, forms in _RATES.items()}
_PRE_RATE_RE = {name: re.compile("(?:" + "|".join(f for f in forms if not f.startswith(("(", "/"))
                                                  and "\\b" not in f) + r")\s*$")
                for name, forms in _RATES.items()}
_CURRENCY_RE = re.compile(
    "(?P<cur>" + _alternation([re.escape(c) for c in _CURRENCY_BEFORE]) + r")\s?$", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![A-Za-z0-9.])(?:FY|fy)?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)")
_RANGE_JOIN = re.compile(r"\s*(?:-|–|—|~|～|to|至|到)\s*$", re.IGNORECASE)
# a calendar year written alone ("2019", "FY2019"): the period a figure or a column is for
YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_YEAR_SUFFIX = re.compile(r"\s?(?:年度?|财年|fiscal)")


@dataclass(frozen=True)
class Quantity:
    """A number as written (``raw``), scaled by its magnitude word (``value``), and what it
    counts: ``unit`` (folded, "" if none; "year" for a calendar year) and ``per`` (a rate's
    denominator, "" if none). ``start``/``end`` locate the digits in the text."""

    raw: float
    value: float
    unit: str
    per: str
    start: int
    end: int
    # Written with a decimal point ("2.0", "3.50"): a measured value, even when whole.
    decimal: bool = False

    @property
    def is_year(self) -> bool:
        return self.unit == "year"

    @property
    def is_measure(self) -> bool:
        """An amount whose qualifiers matter (a dose, a rate, a cell of a table), as opposed
        to a year, a date ("11月18日") or a bare small count ("3 cycles")."""
        if self.is_year or self.unit == "date":
            return False
        return bool(self.unit) or self.value != self.raw or not self.raw.is_integer() or \
            self.raw >= 1000 or self.decimal


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("−", "-")


def quantities(text: str) -> list[Quantity]:
    """Every number in ``text`` with its magnitude, unit and rate, in order."""
    text = _fold(text)
    found: list[Quantity] = []
    for m in _NUMBER.finditer(text):
        digits = m.group(1)
        raw = float(digits.replace(",", ""))
        pos = m.end()
        is_fy = m.group(0)[:2].lower() == "fy"
        year_like = "," not in digits and "." not in digits and 1900 <= raw <= 2100
        year_suffix = _YEAR_SUFFIX.match(text, pos)
        if is_fy or (year_like and (year_suffix or not _UNIT_RE.match(text, pos))):
            found.append(Quantity(raw, raw, "year", "", m.start(1), m.end(1)))
            continue
        scale = 1.0
        mag = _MAGNITUDE_RE.match(text, pos)
        if mag:
            scale = _MAGNITUDES[mag.group("mag").lower()]
            pos = mag.end()
        unit = ""
        um = _UNIT_RE.match(text, pos)
        if um:
            unit = _UNIT_OF.get(um.group("unit").lower(), "")
            if not unit:
                unit = next(n for n, forms in _UNITS.items()
                            if re.fullmatch(_alternation(list(forms)), um.group("unit"),
                                            re.IGNORECASE))
            pos = um.end()
        before = text[max(0, m.start() - 6): m.start()]
        cur = _CURRENCY_RE.search(before)
        if cur and not unit:
            unit = _CURRENCY_BEFORE[cur.group("cur").lower()]
        per = next((name for name, rx in _RATE_RE.items() if rx.match(text, pos)), "")
        if not per:
            lead = text[max(0, m.start() - 8): m.start()]
            per = next((name for name, rx in _PRE_RATE_RE.items() if rx.search(lead)), "")
        found.append(Quantity(raw, raw * scale, unit, per, m.start(1), m.end(1),
                              "." in m.group(1)))
    return _mark_dates(text, _spread_range_units(text, found))


_DATE = re.compile(r"\d{1,2}\s?月\s?\d{1,2}\s?日|\d{1,2}\s?月(?!份?\s?(?:内|以上|以下|后|前))")


def _mark_dates(text: str, found: list[Quantity]) -> list[Quantity]:
    """"11月18日" is a day of the year, not 11 months and 18 days."""
    spans = [m.span() for m in _DATE.finditer(text)]
    return [Quantity(q.raw, q.raw, "date", "", q.start, q.end)
            if any(a <= q.start < b for a, b in spans) else q for q in found]


def _spread_range_units(text: str, found: list[Quantity]) -> list[Quantity]:
    """"20–30 seconds", "15 to 20 g": the first end takes the unit written after the second."""
    out = list(found)
    for i in range(len(out) - 1):
        a, b = out[i], out[i + 1]
        if a.unit or a.is_year or not b.unit or b.is_year:
            continue
        if _RANGE_JOIN.match(text[a.end: b.start]) or text[a.end: b.start].strip() in ("-", "–"):
            out[i] = Quantity(a.raw, a.raw * (b.value / b.raw if b.raw else 1.0), b.unit,
                              b.per, a.start, a.end, a.decimal)
    return out


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def agrees(claim: Quantity, source: Quantity) -> bool:
    """Whether the claim's number says what the source's does.

    The value must be equal as written or after scaling (12.0 million = 12,000,000; "12.0"
    under a "£m" header = "£12.0 million"), and after scaling when both sides write a
    magnitude; units and rates must be equal when both sides write one. A year agrees only
    with the same year.
    """
    if claim.is_year or source.is_year:
        return claim.is_year == source.is_year and _close(claim.raw, source.raw)
    both_scaled = claim.value != claim.raw and source.value != source.raw
    if both_scaled and not _close(claim.value, source.value):
        return False  # 1.2万 is not 1.2亿, although both write "1.2"
    if not (_close(claim.raw, source.raw) or _close(claim.value, source.value)):
        return False
    if claim.unit and source.unit and claim.unit != source.unit:
        return False
    return not (claim.per and source.per and claim.per != source.per)


_UNIT_WORD = re.compile(
    "(?:" + _alternation([s for v in _UNITS.values() for s in v]
                         + [re.escape(m) for m in _MAGNITUDES]
                         + ["daily", "weekly", "monthly", "annually", "annum", "fy\\d{2,4}"])
    + ")", re.IGNORECASE)


def is_unit_word(word: str) -> bool:
    """A word that only says what a number counts ("hours", "mg", "million", "万元"): the
    number check compares it, so the word check must not ask for it a second time."""
    if _UNIT_WORD.fullmatch(word):
        return True
    return bool(word) and all(ch in _CJK_UNIT_CHARS for ch in word)


_CJK_UNIT_CHARS = frozenset("".join(s for v in _UNITS.values() for s in v if not s.isascii())
                            + "".join(m for m in _MAGNITUDES if not m.isascii()))

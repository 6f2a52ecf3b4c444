"""Turn the bytes of a text-like file into str, Chinese legacy encodings included.

Order of trust: a byte-order mark, then strict UTF-8 (and a declared charset), then GB18030
when the result reads as common simplified Chinese, then charset-normalizer's best guess. The
GB18030 step exists because charset-normalizer misreads short GBK snippets (a one-line clinical
note comes back as Korean cp949); checking that the decoded characters fall in GB2312's
punctuation and Hanzi rows keeps Big5 and Latin-1 files from being forced through it.
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from verirag.errors import DocumentRejected

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ALLOWED_CONTROLS = frozenset(b"\t\n\r\f\x1b")
_SAMPLE = 8192


def looks_binary(data: bytes) -> bool:
    """NULs or many control bytes near the start mean an executable, image or archive."""
    sample = data[:_SAMPLE]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 0x20 and b not in _ALLOWED_CONTROLS)
    return controls / len(sample) > 0.05


def _gb_plausible(text: str) -> bool:
    """True when nearly every non-ASCII character is common GB2312 punctuation or Hanzi."""
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return False
    common = 0
    for char in wide:
        try:
            code = char.encode("gb2312")
        except UnicodeEncodeError:
            continue
        if 0xA1 <= code[0] <= 0xA3 or 0xB0 <= code[0] <= 0xF7:
            common += 1
    return common / len(wide) >= 0.95


def _attempt(data: bytes, encoding: str) -> str | None:
    """Decode strictly; a failure is an answer ("not this encoding"), not an error."""
    try:
        return data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return None


def decode_text(data: bytes, name: str, declared: str | None = None) -> tuple[str, str]:
    """Return ``(text, encoding)`` or reject the file with a reason the user can act on.

    ``declared`` is an encoding the file names for itself (an HTML meta charset). It is tried
    after strict UTF-8, because pages that declare Latin-1 but are UTF-8 are common and a real
    Latin-1 page almost never decodes as UTF-8.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding.removesuffix("-sig")
            except UnicodeDecodeError as exc:
                raise DocumentRejected(name, f"cannot decode text: broken {encoding}") from exc
    if looks_binary(data):
        raise DocumentRejected(name, "binary content, not text")
    candidates = ["utf-8"] + ([declared] if declared else [])
    for encoding in candidates:
        text = _attempt(data, encoding)
        if text is not None:
            return text, encoding.lower()
    text = _attempt(data, "gb18030")
    if text is not None and _gb_plausible(text):
        return text, "gb18030"
    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise DocumentRejected(name, "cannot decode text: not UTF-8 or a known encoding")
    return str(best), best.encoding

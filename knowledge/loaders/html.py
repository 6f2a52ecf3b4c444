"""HTML: the readable content of a page as headings, paragraphs, lists, code and tables.

Pages saved from an intranet carry navigation, cookie banners and scripts that would otherwise be
indexed next to the policy text, so those elements are dropped first. Text that sits directly in
a ``div`` (no ``p``) is common in exported pages and is collected as a paragraph rather than
lost. ``header``/``footer`` are only dropped at page level: inside an ``article`` they hold the
article's own title and date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

from knowledge.loaders.base import CJK_CLASS, normalize_text, table_block
from knowledge.loaders.decoding import decode_text
from knowledge.types import Block, ParsedDocument
from verirag.errors import DocumentRejected

_DROP = ("script", "style", "nav", "aside", "noscript", "form", "template", "svg", "iframe")
_DROP_AT_PAGE_LEVEL = ("header", "footer")
_DROP_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "dialog"})
_CONTAINERS = frozenset(
    {"html", "body", "main", "article", "section", "div", "blockquote", "figure", "details"}
    | {"dl", "dd", "center", "address", "fieldset", "header", "footer", "hgroup"}
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_PARAGRAPHS = frozenset({"p", "dt", "figcaption", "caption", "summary"})
_BLOCKS = _PARAGRAPHS | {"ul", "ol", "pre", "table", "hr"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_HTML_START = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html)[\s>]", re.I | re.S
)
_SKIP_LINK = re.compile(r"^(skip|jump) to (the )?(main )?(content|navigation)", re.I)
_SKIPPED_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction)
_MAX_LIST_DEPTH = 16
# Tags that pages close explicitly (unlike li, td, p), so open-minus-closed counts how deep the
# page nests. html.parser's tree builder slows down with the square of the depth (an attack
# run's 1,500 nested <div> took seconds, 5,000 nested tables minutes), and no real page comes
# near this limit.
MAX_NESTING = 512
_NESTING_TAG = re.compile(
    r"<(/?)(div|section|article|main|aside|span|table|ul|ol|dl|blockquote|b|i|em|strong|font|"
    r"small|a|form|fieldset|details|figure|center|header|footer|nav)\b[^>]*?(/?)>", re.I)
_CJK_GAP = re.compile(rf"(?<={CJK_CLASS})\s*\n\s*(?={CJK_CLASS})")


class HtmlLoader:
    mime = "text/html"
    label = "web page (.html)"
    suffixes = (".htm", ".html")

    def sniff(self, head: bytes, suffix: str) -> bool:
        head = head.removeprefix(b"\xef\xbb\xbf")
        return suffix in self.suffixes or bool(_HTML_START.match(head))

    def load(self, path: Path, name: str) -> ParsedDocument:
        data = path.read_bytes()
        declared = _META_CHARSET.search(data[:4096])
        text, encoding = decode_text(data, name, declared[1].decode() if declared else None)
        _check_nesting(text, name)
        soup = BeautifulSoup(text, "html.parser")
        metadata = {"encoding": encoding}
        if soup.title and soup.title.get_text(strip=True):
            metadata["title"] = " ".join(soup.title.get_text().split())
        _strip_chrome(soup)
        root = soup.body or soup
        blocks = list(_walk(root))
        return ParsedDocument(name=name, mime=self.mime, blocks=blocks, metadata=metadata)


def _check_nesting(text: str, name: str) -> None:
    depth = deepest = 0
    for match in _NESTING_TAG.finditer(text):
        if match.group(3):  # <div/>: opens nothing
            continue
        depth = max(0, depth - 1) if match.group(1) else depth + 1
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            raise DocumentRejected(name, f"the page nests its elements more than {MAX_NESTING} "
                                         "levels deep; save it again from the program that "
                                         "made it")


def _strip_chrome(soup: BeautifulSoup) -> None:
    for tag in soup.find_all(["head", *_DROP]):
        tag.decompose()
    for tag in soup.find_all(_DROP_AT_PAGE_LEVEL):
        if tag.find_parent(["article", "main", "section"]) is None:
            tag.decompose()
    for tag in soup.find_all(True):
        if not tag.decomposed and _is_hidden_or_chrome(tag):
            tag.decompose()


def _is_hidden_or_chrome(tag: Tag) -> bool:
    hidden = tag.has_attr("hidden") or tag.get("aria-hidden") == "true"
    skip_link = tag.name == "a" and bool(_SKIP_LINK.match(tag.get_text(" ", strip=True)))
    return hidden or skip_link or tag.get("role") in _DROP_ROLES


def _raw_text(node: Tag | NavigableString) -> str:
    """Source text with each ``<br>`` marked by NUL, before whitespace is collapsed."""
    if isinstance(node, NavigableString):
        return "" if isinstance(node, _SKIPPED_STRINGS) else str(node)
    parts: list[str] = []
    for child in node.descendants:
        if isinstance(child, NavigableString) and not isinstance(child, _SKIPPED_STRINGS):
            parts.append(str(child))
        elif isinstance(child, Tag) and child.name == "br":
            parts.append("\x00")
    return "".join(parts)


def _clean(raw: str) -> str:
    """Collapse whitespace as a browser does, without a space between wrapped ideographs."""
    text = " ".join(_CJK_GAP.sub("", raw).split())
    return "\n".join(line.strip() for line in text.split("\x00") if line.strip())


def _inline_text(node: Tag) -> str:
    return _clean(_raw_text(node))


def _walk(root: Tag) -> Iterator[Block]:
    """Blocks of a container in document order; loose inline content becomes a paragraph.

    Containers nest as deep as a page likes (an attack run sent 1,500 ``<div>``), so they are
    walked with a stack of child iterators, not by recursion. Entering or leaving a container
    ends the loose paragraph, as a block boundary does in a browser.
    """
    loose: list[str] = []

    def flush() -> Iterator[Block]:
        text = _clean("".join(loose))
        loose.clear()
        if text:
            yield Block("paragraph", text)

    stack = [iter(list(root.children))]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            yield from flush()
        elif not isinstance(node, Tag):
            loose.append(_raw_text(node))
        elif node.name in _HEADINGS or node.name in _BLOCKS:
            yield from flush()
            yield from _block(node)
        elif node.name in _CONTAINERS:
            yield from flush()
            stack.append(iter(list(node.children)))
        else:
            loose.append(_raw_text(node))


def _block(node: Tag) -> Iterator[Block]:
    name = node.name
    if name in _HEADINGS:
        text = " ".join(_inline_text(node).split())
        if text:
            yield Block("heading", text, level=_HEADINGS[name])
    elif name in _PARAGRAPHS:
        text = _inline_text(node)
        if text:
            yield Block("paragraph", text)
    elif name in {"ul", "ol"}:
        lines = _list_lines(node, depth=0)
        if lines:
            yield Block("list", "\n".join(lines))
    elif name == "pre":
        text = normalize_text(node.get_text())
        if text.strip():
            yield Block("code", text)
    elif name == "table":
        block = table_block(_table_rows(node))
        if block is not None:
            yield block


def _list_lines(node: Tag, depth: int) -> list[str]:
    """Items as Markdown-style lines; nested lists indented under their item.

    Below ``_MAX_LIST_DEPTH`` levels a nested list stays in its item's text: no real list is
    that deep, and recursion must not follow a hostile one down thousands of levels.
    """
    lines: list[str] = []
    ordered = node.name == "ol"
    for number, item in enumerate(node.find_all("li", recursive=False), start=1):
        nested = (item.find_all(["ul", "ol"], recursive=False)
                  if depth < _MAX_LIST_DEPTH else [])
        for sub in nested:
            sub.extract()
        text = " ".join(_inline_text(item).split())
        marker = f"{number}." if ordered else "-"
        if text:
            lines.append(f"{'  ' * depth}{marker} {text}")
        for sub in nested:
            lines.extend(_list_lines(sub, depth + 1))
    return lines


def _table_rows(table: Tag) -> list[list[str]]:
    """Rows of this table only (not of tables nested in its cells); colspan pads with blanks."""
    rows = []
    for row in table.find_all("tr"):
        if row.find_parent("table") is not table:
            continue
        cells: list[str] = []
        for cell in row.find_all(["td", "th"], recursive=False):
            cells.append(" ".join(_inline_text(cell).split()))
            span = str(cell.get("colspan", "1"))
            cells.extend([""] * (int(span) - 1 if span.isdigit() and int(span) < 50 else 0))
        rows.append(cells)
    return rows

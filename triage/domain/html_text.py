"""HTML to safe plain text, for HTML-only email: the words a person would read, never markup.

Scripts, styles, the document head and other non-content elements are dropped with everything inside them;
every other tag is dropped and its text kept; entities are unescaped; block elements (paragraphs, line breaks,
list items, table rows, headings) become line breaks, so the text keeps the shape the sender saw. Nothing is
executed or fetched: :class:`html.parser.HTMLParser` only tokenises. A link keeps its text, followed by its
address when that is an ``http(s)`` or ``mailto`` address the text does not already show.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: Elements dropped with their whole content.
_SKIPPED = frozenset(
    {"script", "style", "head", "title", "template", "noscript", "svg", "math", "iframe", "object", "embed",
     "canvas", "audio", "video", "select", "button"}
)  # fmt: skip
#: Elements that start and end on a line of their own.
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "blockquote", "pre", "table",
     "tr", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "address", "figure",
     "figcaption", "form", "fieldset", "center", "details", "summary"}
)  # fmt: skip
#: Void elements: no end tag, so a start tag must never open a skipped region.
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "source", "track", "wbr"})
_SPACES = re.compile(r"[ \t\f\v\r\n\u00a0]+")
_LINK_SCHEMES = ("http://", "https://", "mailto:")


def _is_paragraph(tag: str) -> bool:
    """Blocks set apart by a blank line (the rest just start on a new line)."""
    return tag in ("p", "blockquote", "table", "ul", "ol", "pre") or (len(tag) == 2 and tag[0] == "h" and tag[1].isdigit())


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0
        self.link: str | None = None
        self.link_text: list[str] = []

    # -- structure ----------------------------------------------------------------------------------------------
    def newline(self, *, force: bool = False, blank: bool = False) -> None:
        """End the line being built (kept if it has text, or ``force``: a ``<br>``), then a blank line (``blank``)."""
        line = "".join(self.current)
        self.current = []
        line = line.rstrip() if self.pre_depth else _SPACES.sub(" ", line).strip()
        if line or force:
            self.lines.append(line)
        if blank and self.lines and self.lines[-1]:
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED and tag not in _VOID:
            self.skip_depth += 1
            return
        if self.skip_depth:
            return
        if tag == "br":
            self.newline(force=True)
        elif tag in _BLOCKS:
            self.newline(blank=_is_paragraph(tag))
            if tag == "pre":
                self.pre_depth += 1
            elif tag == "hr":
                self.current.append("----")
                self.newline()
        elif tag == "li":
            self.newline()
            self.current.append("- ")
        elif tag in ("td", "th"):
            self.current.append(" ")
        elif tag == "a":
            href = (dict(attrs).get("href") or "").strip()
            self.link = href if href.lower().startswith(_LINK_SCHEMES) else None
            self.link_text = []
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self.current.append(f" [{alt}] ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # ``<br/>``, ``<img .../>`` and a self-closed ``<script/>`` (which opens nothing to skip)
        if tag in _SKIPPED:
            return
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED and tag not in _VOID:
            self.skip_depth = max(self.skip_depth - 1, 0)
            return
        if self.skip_depth:
            return
        if tag in _BLOCKS or tag == "li":
            self.newline(blank=_is_paragraph(tag))
            if tag == "pre":
                self.pre_depth = max(self.pre_depth - 1, 0)
        elif tag == "a" and self.link is not None:
            shown = "".join(self.link_text).strip()
            address = self.link.removeprefix("mailto:") if self.link.lower().startswith("mailto:") else self.link
            if address and address not in shown:
                self.current.append(f" ({address})")
            self.link = None

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        self.current.append(data)
        if self.link is not None:
            self.link_text.append(data)

    def text(self) -> str:
        self.newline()
        return "\n".join(self.lines).strip("\n")


def html_to_text(html: str) -> str:
    """The readable text of an HTML document or fragment (see the module docstring for the rules).

    Never raises on bad markup: unclosed tags, stray end tags and broken entities are read as a browser would read
    them, as well as the standard library's tokeniser can.
    """
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return re.sub(r"\n{3,}", "\n\n", extractor.text())

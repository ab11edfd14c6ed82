"""Knowledge-base articles: import from Markdown folders or CSV files, and chunking.

An article is split into chunks for retrieval: one chunk is the title alone (users phrase tickets
like titles), the others are windows of ``title + body``. Search takes the best chunk per article,
so a suggestion always points at the article and the best chunk gives its snippet.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from triage.kernel.errors import InvalidDataset
from triage.kernel.language import detect_language

#: Characters per body window. ~120 English words or ~400 Chinese characters: short enough for
#: MiniLM's 256-token limit, long enough to keep a step-by-step answer together.
CHUNK_CHARS = 600
#: Characters shared by consecutive windows, so a sentence cut at a border is still whole once.
CHUNK_OVERLAP = 100
SNIPPET_CHARS = 280

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)


@dataclass(frozen=True, slots=True)
class Article:
    """One answer article, or the solution of a resolved ticket.

    Attributes:
        id: Stable article id (unique in a knowledge base).
        title: Short title.
        body: Answer text (Markdown allowed).
        tags: Free tags, e.g. the category ``billing/refund``.
        language: ``en``, ``zh`` or ``other``; detected from the text when not given.
        source: ``article`` or ``ticket`` (a resolved ticket's solution).
        ticket_id: The resolved ticket a ``ticket`` entry came from.
    """

    id: str
    title: str
    body: str
    tags: tuple[str, ...] = ()
    language: str = ""
    source: str = "article"
    ticket_id: str | None = None

    def __post_init__(self) -> None:
        if not str(self.id).strip():
            raise InvalidDataset("an article has an empty id; give every article a unique id")
        if not (self.title.strip() or self.body.strip()):
            raise InvalidDataset(f"article {self.id!r} has neither title nor body")
        if not self.language:
            object.__setattr__(self, "language", detect_language(f"{self.title} {self.body}").language)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A searchable piece of an article: ``text`` is embedded, ``snippet`` is shown."""

    article_id: str
    text: str
    snippet: str
    position: int = 0


def chunk_article(article: Article, *, size: int = CHUNK_CHARS, overlap: int = CHUNK_OVERLAP) -> list[Chunk]:
    """Split an article into its title chunk and overlapping ``title + body`` windows.

    Args:
        article: The article.
        size: Characters per body window.
        overlap: Characters shared by consecutive windows.

    Returns:
        At least one chunk; every chunk's ``article_id`` is ``article.id``.
    """
    body = re.sub(r"\s+", " ", article.body).strip()
    title = article.title.strip()
    windows = _windows(body, size=size, overlap=overlap) if body else []
    chunks: list[Chunk] = []
    if title:
        chunks.append(Chunk(article.id, title, _snippet(windows[0] if windows else title), 0))
    for position, window in enumerate(windows, start=len(chunks)):
        text = f"{title}\n{window}" if title else window
        chunks.append(Chunk(article.id, text, _snippet(window), position))
    return chunks


def _windows(text: str, *, size: int, overlap: int) -> list[str]:
    if len(text) <= size:
        return [text]
    step = max(1, size - overlap)
    out = []
    for start in range(0, len(text), step):
        out.append(text[start : start + size])
        if start + size >= len(text):
            break
    return out


def _snippet(text: str) -> str:
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


def load_articles(path: str | Path) -> list[Article]:
    """Read articles from a folder of Markdown files or from a CSV file.

    Markdown files start with a front matter block (``---`` YAML ``---``) holding ``id`` and
    ``title`` and optionally ``tags`` and ``language``; the rest of the file is the body. A CSV has
    the columns ``id,title,body`` and optionally ``tags`` (separated by ``;`` or ``,``) and ``language``.

    Args:
        path: A folder (searched recursively for ``*.md``) or a ``.csv`` file.

    Returns:
        The articles, in file order.

    Raises:
        InvalidDataset: missing path, empty folder, bad front matter, missing columns or duplicate ids.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidDataset(f"articles path {path} does not exist; pass a folder of .md files or a CSV file")
    articles = list(_read_markdown_folder(path) if path.is_dir() else _read_csv(path))
    if not articles:
        raise InvalidDataset(f"no articles found in {path}; expected .md files with front matter or CSV rows")
    seen: set[str] = set()
    for article in articles:
        if article.id in seen:
            raise InvalidDataset(f"duplicate article id {article.id!r} in {path}; ids must be unique")
        seen.add(article.id)
    return articles


def _read_markdown_folder(folder: Path) -> Iterable[Article]:
    files = sorted(folder.rglob("*.md"))
    files = [f for f in files if f.name.lower() != "readme.md"]
    if not files:
        raise InvalidDataset(f"folder {folder} holds no .md article files")
    for file in files:
        yield parse_markdown(file.read_text(encoding="utf-8"), origin=str(file))


def parse_markdown(text: str, *, origin: str = "<text>") -> Article:
    """Parse one Markdown article with YAML front matter.

    Raises:
        InvalidDataset: no front matter, invalid YAML, or a missing ``id``/``title``.
    """
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not match:
        raise InvalidDataset(f"{origin}: no front matter; start the file with '---', id: ..., title: ..., '---'")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise InvalidDataset(f"{origin}: front matter is not valid YAML ({exc})") from exc
    if not isinstance(meta, dict):
        raise InvalidDataset(f"{origin}: front matter must be a mapping of keys (id, title, tags, language)")
    missing = [key for key in ("id", "title") if not str(meta.get(key) or "").strip()]
    if missing:
        raise InvalidDataset(f"{origin}: front matter lacks {', '.join(missing)}")
    return Article(
        id=str(meta["id"]).strip(),
        title=str(meta["title"]).strip(),
        body=text[match.end() :].strip(),
        tags=_tags(meta.get("tags")),
        language=str(meta.get("language") or ""),
    )


def _read_csv(file: Path) -> Iterable[Article]:
    with file.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        missing = [c for c in ("id", "title", "body") if c not in columns]
        if missing:
            raise InvalidDataset(
                f"{file}: missing column(s) {', '.join(missing)}; an articles CSV needs id,title,body "
                f"(optional tags,language); found {sorted(columns)}"
            )
        for line, row in enumerate(reader, start=2):
            try:
                yield Article(
                    id=str(row["id"] or "").strip(),
                    title=str(row["title"] or ""),
                    body=str(row["body"] or ""),
                    tags=_tags(row.get("tags")),
                    language=str(row.get("language") or ""),
                )
            except InvalidDataset as exc:
                raise InvalidDataset(f"{file}, line {line}: {exc}") from exc


def _tags(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(t.strip() for t in re.split(r"[;,]", str(value)) if t.strip())

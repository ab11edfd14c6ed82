from __future__ import annotations

import pytest

from kb_index.documents import Article, chunk_article, load_articles, parse_markdown
from triage.kernel.errors import InvalidDataset

MD = """---
id: billing-refund
title: How refunds work
tags: [billing/refund]
language: en
---
Refunds reach your card within 5 business days.
"""


def test_markdown_front_matter_becomes_an_article() -> None:
    article = parse_markdown(MD)
    assert (article.id, article.title, article.tags, article.language) == (
        "billing-refund", "How refunds work", ("billing/refund",), "en")  # fmt: skip
    assert article.body.startswith("Refunds reach")


@pytest.mark.parametrize(
    ("text", "message"),
    [("no front matter", "no front matter"), ("---\ntitle: x\n---\nbody", "lacks id"), ("---\n[: bad\n---\n", "YAML")],
)
def test_bad_front_matter_is_a_clear_invalid_dataset(text: str, message: str) -> None:
    with pytest.raises(InvalidDataset, match=message):
        parse_markdown(text)


def test_folder_and_csv_import(tmp_path) -> None:
    (tmp_path / "a.md").write_text(MD, encoding="utf-8")
    assert [a.id for a in load_articles(tmp_path)] == ["billing-refund"]
    csv_file = tmp_path / "kb.csv"
    csv_file.write_text("id,title,body,tags\n1,退款,退款五天到账,billing/refund;zh\n", encoding="utf-8")
    [article] = load_articles(csv_file)
    assert article.language == "zh" and article.tags == ("billing/refund", "zh")


def test_empty_folder_missing_column_and_duplicate_ids_are_refused(tmp_path) -> None:
    with pytest.raises(InvalidDataset, match="no .md"):
        load_articles(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title\n1,x\n", encoding="utf-8")
    with pytest.raises(InvalidDataset, match="missing column"):
        load_articles(bad)
    dup = tmp_path / "dup.csv"
    dup.write_text("id,title,body\n1,a,b\n1,c,d\n", encoding="utf-8")
    with pytest.raises(InvalidDataset, match="duplicate article id"):
        load_articles(dup)


def test_long_articles_are_chunked_and_every_chunk_points_to_the_article() -> None:
    article = Article("a", "Title", "word " * 1000)
    chunks = chunk_article(article)
    assert len(chunks) > 3 and {c.article_id for c in chunks} == {"a"}
    assert chunks[0].text == "Title" and all(len(c.snippet) <= 280 for c in chunks)

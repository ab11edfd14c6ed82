from __future__ import annotations

from kb_index.documents import Article
from kb_index.knowledge_base import KnowledgeBase
from models.encoder import MemoizedEncoder
from tests.fakes import FakeEncoder
from triage.engine.stages.suggest import AnswerSuggester

ARTICLES = [
    Article("a", "Reset your password", "Use the forgot password link."),
    Article("b", "Refund timeline", "Refunds take 5 days."),
    Article("c", "发票申请", "在订单页面申请电子发票。"),
]


def test_batch_equals_per_text_calls_and_encodes_each_text_once() -> None:
    fake = FakeEncoder()
    shared = MemoizedEncoder(fake)
    suggester = AnswerSuggester(KnowledgeBase.build(ARTICLES, shared), k=2)
    texts = ["forgot my password", "where is my refund", "怎么开发票"]
    misses = shared.misses
    batched = suggester.batch(texts)
    assert batched == [suggester(t) for t in texts]
    assert shared.misses - misses == len(texts)
    assert all(isinstance(r, tuple) and len(r) <= 2 for r in batched)
    assert [r[0].article_id for r in batched] == ["a", "b", "c"]


def test_empty_knowledge_base_suggests_nothing() -> None:
    assert AnswerSuggester(KnowledgeBase(FakeEncoder()))("anything") == ()

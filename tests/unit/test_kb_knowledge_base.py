from __future__ import annotations

import threading

import pytest

import kb_index.snapshots as module
from kb_index.documents import Article
from kb_index.knowledge_base import KnowledgeBase
from kb_index.ranking import SearchConfig
from kb_index.snapshots import current_snapshot
from models.encoder import ConcatEncoder, LanguageGatedEncoder
from tests.fakes import FakeEncoder
from triage.kernel.errors import ArtifactMismatch, InvalidTicket, ModelNotReady

ARTICLES = [
    Article("acct-reset", "Reset your password", "Click forgot password on the sign-in page and follow the email."),
    Article("bill-refund", "Refund timeline", "Refunds reach your card within 5 business days."),
    Article("bill-e4001", "Payment error E-4001", "E-4001 means the bank declined the card; try another card."),
    Article("net-vpn", "VPN keeps disconnecting", "Update the VPN client and disable power saving on Wi-Fi."),
    Article("zh-refund", "退款多久到账", "退款将在五个工作日内退回原支付账户。"),
]


@pytest.fixture
def kb() -> KnowledgeBase:
    return KnowledgeBase.build(ARTICLES, FakeEncoder())


def test_results_are_sorted_unique_per_article_and_scored_in_unit_interval(kb: KnowledgeBase) -> None:
    results = kb.search("vpn disconnecting every hour", k=5)
    assert results[0].article_id == "net-vpn"
    assert len({r.article_id for r in results}) == len(results)
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert results[0].title == "VPN keeps disconnecting" and "VPN client" in results[0].snippet


def test_exact_error_code_is_found_by_hybrid_and_lexical(kb: KnowledgeBase) -> None:
    for mode in ("hybrid", "lexical"):
        assert kb.search("got E-4001 at checkout", k=1, mode=mode)[0].article_id == "bill-e4001"


def test_chinese_ticket_finds_chinese_article(kb: KnowledgeBase) -> None:
    assert kb.search("我的退款多久能到账", k=1)[0].article_id == "zh-refund"


def test_rrf_fusion_also_ranks_the_right_article_first() -> None:
    kb = KnowledgeBase.build(ARTICLES, FakeEncoder(), config=SearchConfig(fusion="rrf"))
    assert kb.search("reset password", k=1)[0].article_id == "acct-reset"


def test_save_load_gives_identical_results(kb: KnowledgeBase, tmp_path) -> None:
    kb.record_feedback("net-vpn", helpful=True)
    kb.save(tmp_path)
    again = KnowledgeBase.load(tmp_path, FakeEncoder())
    for query in ("refund", "vpn", "E-4001", "退款"):
        assert again.search(query) == kb.search(query)
    assert again.effectiveness("net-vpn") == kb.effectiveness("net-vpn")


def test_loading_with_another_encoder_is_refused(kb: KnowledgeBase, tmp_path) -> None:
    kb.save(tmp_path)
    with pytest.raises(ArtifactMismatch, match="built with encoder fake:hash@1"):
        KnowledgeBase.load(tmp_path, FakeEncoder(id="other@2"))
    with pytest.raises(ArtifactMismatch):
        KnowledgeBase.load(tmp_path, FakeEncoder(dim=32))


def test_crash_while_saving_leaves_the_old_index_loadable(kb: KnowledgeBase, tmp_path, monkeypatch) -> None:
    kb.save(tmp_path)
    kb.upsert([Article("new", "Brand new article", "text")])

    def crash(*args, **kwargs):  # noqa: ANN002, ANN003
        raise OSError("killed mid-save")

    monkeypatch.setattr(module.os, "fsync", crash)
    with pytest.raises(OSError):
        kb.save(tmp_path)
    monkeypatch.undo()
    old = KnowledgeBase.load(tmp_path, FakeEncoder())
    assert len(old) == len(ARTICLES) and "new" not in {r.article_id for r in old.search("Brand new article")}


def test_update_replaces_content_and_retire_hides_the_article(kb: KnowledgeBase) -> None:
    kb.upsert([Article("net-vpn", "Printer jams", "Open tray two and remove the paper.")])
    assert kb.search("printer jams tray", k=1)[0].article_id == "net-vpn"
    assert "Open tray" in kb.search("printer jams tray", k=1)[0].snippet
    kb.retire("net-vpn")
    assert "net-vpn" not in {r.article_id for r in kb.search("printer jams tray", k=5)}
    assert kb.is_retired("net-vpn") and len(kb) == len(ARTICLES) - 1
    kb.remove("bill-refund")
    assert "bill-refund" not in {r.article_id for r in kb.search("refund", k=5)}


def test_solution_is_searchable_right_after_ingest_and_duplicates_are_linked(kb: KnowledgeBase) -> None:
    result = kb.add_solution(ticket_id="T-9", title="Scanner offline", solution="Reinstall the scanner driver v3.2")
    assert result.created and kb.search("scanner driver", k=1)[0].article_id == result.article_id
    assert kb.search("scanner driver", k=1)[0].source == "ticket"
    again = kb.add_solution(ticket_id="T-10", title="Scanner offline", solution="Reinstall the scanner driver v3.2")
    assert not again.created and again.duplicate_of == result.article_id
    assert kb.linked_tickets(result.article_id) == ("T-9", "T-10")
    with pytest.raises(InvalidTicket):
        kb.add_solution(ticket_id="T-11", solution="  ")


def test_a_repeated_chinese_solution_is_linked_although_the_english_encoder_skipped_it() -> None:
    english_only = LanguageGatedEncoder(FakeEncoder(16, id="en:1"), unreadable=frozenset({"zh"}))
    kb = KnowledgeBase.build(ARTICLES, ConcatEncoder([english_only, FakeEncoder(32, id="both:1")]))
    first = kb.add_solution(ticket_id="T-1", title="打印机脱机", solution="重新安装打印机驱动 3.2 版")
    again = kb.add_solution(ticket_id="T-2", title="打印机脱机", solution="重新安装打印机驱动 3.2 版")
    assert first.created and not again.created and again.duplicate_of == first.article_id
    assert again.similarity == pytest.approx(1.0, abs=1e-5)


def test_feedback_moves_scores_only_within_the_bound(kb: KnowledgeBase) -> None:
    before = {r.article_id: r.score for r in kb.search("refund card", k=5)}
    for _ in range(50):
        kb.record_feedback("bill-refund", helpful=False)
        kb.record_feedback("zh-refund", helpful=True)
    after = {r.article_id: r.score for r in kb.search("refund card", k=5)}
    bound = kb.config.feedback_boost + 1e-6
    assert after["bill-refund"] < before["bill-refund"] and after["zh-refund"] >= before["zh-refund"]
    assert all(abs(after[a] - before[a]) <= bound for a in before)
    assert 0 < kb.effectiveness("bill-refund") < 0.5 < kb.effectiveness("zh-refund") < 1


def test_empty_base_and_empty_batch(tmp_path) -> None:
    kb = KnowledgeBase(FakeEncoder())
    assert kb.search("anything") == [] and kb.search_batch([]) == []


def test_reload_swaps_in_a_new_snapshot_while_searches_continue(kb: KnowledgeBase, tmp_path) -> None:
    kb.save(tmp_path)
    bigger = KnowledgeBase.build([*ARTICLES, Article("hw-fan", "Laptop fan noise", "Clean the vents.")], FakeEncoder())
    bigger.save(tmp_path)
    errors: list[Exception] = []

    def reader() -> None:
        try:
            for _ in range(50):
                assert kb.search("refund", k=1)
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    kb.reload(tmp_path)
    thread.join()
    assert not errors and kb.search("laptop fan noise", k=1)[0].article_id == "hw-fan"


def test_corrupt_snapshot_is_a_clear_model_not_ready(kb: KnowledgeBase, tmp_path) -> None:
    kb.save(tmp_path)
    (current_snapshot(tmp_path) / "index.faiss").write_bytes(b"garbage")
    with pytest.raises(ModelNotReady, match="corrupt"):
        KnowledgeBase.load(tmp_path, FakeEncoder())


def test_hnsw_base_filters_tombstones_and_compacts_on_save(tmp_path) -> None:
    kb = KnowledgeBase(FakeEncoder(), kind="hnsw")
    kb.upsert(ARTICLES)
    kb.retire("net-vpn")
    kb.upsert([Article("bill-refund", "Refund timeline", "Refunds now take 3 days.")])
    assert "net-vpn" not in {r.article_id for r in kb.search("VPN keeps disconnecting", k=5)}
    assert "3 days" in kb.search("refund timeline", k=1)[0].snippet
    kb.save(tmp_path)
    again = KnowledgeBase.load(tmp_path, FakeEncoder())
    assert again.index_kind == "hnsw" and not again._corpus.vectors.tombstones
    assert again.search("refund timeline") == kb.search("refund timeline")

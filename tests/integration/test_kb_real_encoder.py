"""Knowledge base with the real bundled encoder on a handful of bilingual articles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb_index.documents import Article, load_articles
from kb_index.knowledge_base import KnowledgeBase
from models.encoder import MemoizedEncoder
from triage.cli.main import main
from triage.engine.stages.suggest import AnswerSuggester

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ARTICLES = [
    Article("account-reset", "How to reset your password",
            "Open the sign-in page, click 'Forgot password' and follow the link we email you."),
    Article("billing-refund", "When will I get my refund?",
            "Refunds go back to the original payment method within 5-7 business days."),
    Article("billing-e4017", "Payment error PAY-4017",
            "PAY-4017 means the bank declined the transaction. Use another card or call your bank."),
    Article("network-vpn", "VPN keeps disconnecting",
            "Update the VPN client to the latest version and turn off Wi-Fi power saving."),
    Article("hardware-printer", "Printer paper jam", "Open tray 2, remove the jammed sheet and restart."),
    Article("invoice-zh", "如何申请电子发票", "在订单详情页点击“申请发票”，填写抬头和税号，发票会发送到您的邮箱。"),
    Article("outage-zh", "服务中断公告", "我们正在处理登录服务中断问题，请稍后重试。"),
]  # fmt: skip


@pytest.fixture(scope="module")
def kb(real_encoder) -> KnowledgeBase:  # noqa: ANN001
    return KnowledgeBase.build(ARTICLES, MemoizedEncoder(real_encoder))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("I forgot my password and can't log in", "account-reset"),
        ("my vpn connection drops all the time", "network-vpn"),
        ("got PAY-4017 when paying", "billing-e4017"),
        ("怎么开发票", "invoice-zh"),
        ("我的退款什么时候到账", "billing-refund"),  # Chinese ticket, English article
    ],
)
def test_top_suggestion_is_the_right_article(kb: KnowledgeBase, query: str, expected: str) -> None:
    assert kb.search(query, k=3)[0].article_id == expected


def test_resolved_ticket_solution_is_found_right_after_ingest(kb: KnowledgeBase) -> None:
    result = kb.add_solution(
        ticket_id="T-77", title="Scanner shows error SCN-881",
        solution="Error SCN-881: reinstall the scanner driver 4.2 and reboot the workstation.",
    )  # fmt: skip
    top = kb.search("scanner says SCN-881", k=1)[0]
    assert result.created and top.article_id == result.article_id and top.source == "ticket"
    again = kb.add_solution(
        ticket_id="T-78", title="Scanner shows error SCN-881",
        solution="Error SCN-881: reinstall the scanner driver 4.2 and reboot the workstation.",
    )  # fmt: skip
    assert again.duplicate_of == result.article_id


def test_suggester_batch_equals_calls(kb: KnowledgeBase) -> None:
    suggester = AnswerSuggester(kb, k=3)
    texts = ["paper stuck in printer", "登录不了，服务是不是挂了"]
    assert suggester.batch(texts) == [suggester(t) for t in texts]


def test_demo_articles_build_and_answer(real_encoder) -> None:  # noqa: ANN001
    articles = load_articles(REPO / "demo" / "kb")
    kb = KnowledgeBase.build(articles, real_encoder)
    first = articles[0]
    assert first.id in [s.article_id for s in kb.search(first.title, k=3)]


def test_cli_build_search_and_wrong_encoder(tmp_path, capsys) -> None:  # noqa: ANN001
    source = tmp_path / "articles"
    source.mkdir()
    (source / "vpn.md").write_text(
        "---\nid: network-vpn\ntitle: VPN keeps disconnecting\ntags: [repair/network]\nlanguage: en\n---\n"
        "Update the VPN client.\n", encoding="utf-8")  # fmt: skip
    out = tmp_path / "kb"
    assert main(["kb", "build", "--articles", str(source), "--out", str(out), "--encoder", "minilm"]) == 0
    capsys.readouterr()
    assert main(["kb", "search", "vpn drops", "--kb", str(out), "--encoder", "minilm"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["article_id"] == "network-vpn" and {"score", "title", "snippet"} <= set(hits[0])
    assert main(["kb", "search", "vpn", "--kb", str(out), "--encoder", "use"]) == 2
    assert "built with encoder minilm" in capsys.readouterr().err
    assert main(["kb", "build", "--articles", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err

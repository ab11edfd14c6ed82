"""The shipped default models, as a fresh clone gets them: on ticket-shaped text written for this test."""

from __future__ import annotations

import pytest

from models.loading import load_artifact
from tests.fakes import FakeEncoder
from training.default_models import PRETRAINED_DIR
from triage.engine.stages.sentiment import SentimentScorer
from triage.engine.stages.urgency import UrgencyScorer

ANGRY_THRESHOLD = 0.7  # config/routing.toml
ANGRY = [
    "This is the THIRD time I am writing about the same invoice. UNACCEPTABLE!!! Fix it today or I cancel.",
    "Thanks a lot for nothing. Two weeks and still no refund, your support is a joke.",
    "Worst service ever, nobody answers and my account is still locked. I want to speak to a manager NOW",
    "你们这是什么破服务！！！等了一个星期还没人处理，我要投诉！",
    "第三次联系你们了，问题还是没解决，太过分了，再不处理我就去12315投诉",
    "垃圾系统，天天崩溃，钱扣了订单却没了，退钱！",
    "VPN又断了！！！第三次了，this is ridiculous, 到底什么时候修好？😡",
    "Still not fixed!!! I have lost a whole day of work because of your outage.\n\nRegards,\nMark\n"
    "On Tue, Support wrote:\n> We are looking into it.",
]
CALM = [
    "Hi, could you send me the invoice for March? Thanks, Anna",
    "How do I add a second user to our account?",
    "请帮忙 reset 一下我的 VPN password，谢谢 🙏",
    "请问发票怎么开？谢谢",
    "你好，我想修改一下收货地址，麻烦帮忙处理，谢谢。",
    "你好，请问怎么修改收货地址？",
    "我想申请退货，请问流程是什么？",
    "请问退款多久能到账？",
    "The VPN asks for a new certificate after the update; where do I download it?",
    "Thanks, that fixed it.\n\nBest regards,\nAnna\n\nOn Mon, Support wrote:\n> THIS IS UNACCEPTABLE!!! Third time!!!",
    "已经好了，谢谢你们的帮助。\n\n在 2025年3月1日，客服 写道：\n> 你们这是什么破服务！！！",
]


@pytest.fixture(scope="module")
def sentiment() -> SentimentScorer:
    return SentimentScorer(load_artifact(str(PRETRAINED_DIR / "sentiment")), FakeEncoder())


def test_the_shipped_defaults_are_text_only_and_state_their_training_data_and_licences() -> None:
    for task in ("sentiment", "urgency"):
        card = load_artifact(str(PRETRAINED_DIR / task)).card
        assert card.text_only and card.training_data
        assert all(entry["licence"] and entry["permits"] and entry["rows"] > 0 for entry in card.training_data)
        assert card.params["rebuild"] == f"python -m training.default_models {task}"


@pytest.mark.parametrize("text", ANGRY)
def test_clearly_angry_tickets_raise_the_alert_in_both_languages(sentiment: SentimentScorer, text: str) -> None:
    score = sentiment(text)
    assert score.label == "negative" and score.anger >= ANGRY_THRESHOLD


@pytest.mark.parametrize("text", CALM)
def test_calm_tickets_and_replies_quoting_an_angry_thread_raise_no_alert(sentiment: SentimentScorer, text: str) -> None:
    assert sentiment(text).anger < ANGRY_THRESHOLD


def test_the_default_sentiment_needs_no_encoder_call(sentiment: SentimentScorer) -> None:
    encoder = FakeEncoder()
    SentimentScorer(sentiment.artifact, encoder).batch(ANGRY + CALM)
    assert encoder.calls == []


def test_the_default_urgency_serves_beside_any_encoder_and_ranks_an_outage_above_a_question() -> None:
    urgency = UrgencyScorer(load_artifact(str(PRETRAINED_DIR / "urgency")), FakeEncoder())
    outage = urgency("Production down for all users since 9am, system down, urgent")
    question = urgency("How do I change the language of the invoice PDF?")
    assert outage.score > question.score and outage.level in {"P1", "P2"}

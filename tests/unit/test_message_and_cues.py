"""Ticket text cleaning (quoted history, signatures) and the bilingual anger cues."""

from __future__ import annotations

import pytest

from models.sentiment_cues import FEATURE_NAMES, anger_intensity, cue_features
from triage.engine.stages.sentiment import ANGER_BASE, anger_score
from triage.kernel.message import new_message

QUOTED_EN = """Thanks, that fixed it.

Best regards,
Anna Keller
ACME GmbH | +49 30 1234

On Mon, 3 Mar 2025 at 10:02, Support <help@example.com> wrote:
> THIS IS UNACCEPTABLE!!! Third time I write, fix it NOW.
"""
QUOTED_OUTLOOK = "Still not working!!\n\n-----Original Message-----\nFrom: Bob\nSubject: all good now, thanks"
QUOTED_ZH = "已经解决了，谢谢。\n\n发自我的iPhone\n\n在 2025年3月1日，张三 写道：\n> 你们这是什么破服务！！！我要投诉！"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (QUOTED_EN, "Thanks, that fixed it."),
        (QUOTED_OUTLOOK, "Still not working!!"),
        (QUOTED_ZH, "已经解决了，谢谢。"),
        ("> only a quote", "> only a quote"),
        ("Plain message with no history.", "Plain message with no history."),
    ],
)
def test_new_message_keeps_only_the_customers_newest_words(text: str, expected: str) -> None:
    assert new_message(text) == expected


def test_a_signature_line_does_not_cut_a_message_that_starts_with_it() -> None:
    assert new_message("Thanks,\nthe invoice is wrong again") == "Thanks,\nthe invoice is wrong again"


@pytest.mark.parametrize(
    "angry",
    [
        "This is the THIRD time I am writing. UNACCEPTABLE!!!",
        "Thanks a lot for nothing, great job losing my order again 🙄",
        "你们这是什么破服务！！！我要投诉！",
        "第三次了，到底还要等多久？？",
        "服务态度好差，房间极差",  # intensified negative words
        "居然连热水都没有",  # indignation
    ],
)
def test_heated_messages_have_anger_intensity(angry: str) -> None:
    assert anger_intensity(angry) >= 0.3


def test_three_exclamation_marks_heat_a_message_like_a_run() -> None:
    assert anger_intensity("没啥区别！服务不行！退房！") == anger_intensity("服务不行!!") > 0
    assert anger_intensity("没啥区别！服务不行。") == 0.0


@pytest.mark.parametrize(
    "calm",
    ["Could you send me the invoice for March?", "请问发票怎么开？", "The printer is broken.", "房间有点旧，早餐一般",
     "服务很好，非常满意！"],
)  # fmt: skip
def test_plain_requests_and_problem_reports_have_no_heat(calm: str) -> None:
    assert anger_intensity(calm) == 0.0


def test_anger_alert_needs_a_confident_negative_or_heat() -> None:
    threshold = 0.7
    assert anger_score(0.95, "The printer is broken.") >= threshold  # confidently negative
    assert anger_score(0.6, "The printer is broken.") < threshold  # unsure, calm
    assert anger_score(0.6, "The printer is broken AGAIN!!! Unacceptable.") >= threshold  # unsure, heated
    assert anger_score(0.05, "THANK YOU!!! Amazing support!!!") < threshold  # heated but positive
    assert anger_score(1.0, "x") == pytest.approx(ANGER_BASE)


def test_cue_features_have_one_column_per_name_and_read_both_languages() -> None:
    features = cue_features(["I hate this, worst service ever", "服务很好，非常满意", ""])
    assert features.shape == (3, len(FEATURE_NAMES))
    column = {name: i for i, name in enumerate(FEATURE_NAMES)}
    assert features[0, column["vader_compound"]] < 0 < features[0, column["anger_words"]]
    assert features[1, column["zh_positive"]] > features[1, column["zh_negative"]]
    assert features[1, column["chinese_share"]] > 0.5


def test_a_negated_chinese_positive_word_counts_as_negative() -> None:
    column = {name: i for i, name in enumerate(FEATURE_NAMES)}
    plain, negated = cue_features(["很满意", "不满意"])
    assert plain[column["zh_positive"]] > 0 and negated[column["zh_negative"]] > plain[column["zh_negative"]]

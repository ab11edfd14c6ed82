from __future__ import annotations

import pytest

from triage.kernel.language import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("My VPN keeps dropping every few minutes", "en"),
        ("系统崩溃了，所有用户都无法登录", "zh"),
        ("VPN 连不上，报错 E1043", "zh"),
        ("APP闪退", "zh"),
        ("Привет, у меня не работает интернет", "other"),
        ("", "other"),
        ("12345 !!!", "other"),
    ],
)
def test_detects_chinese_english_and_other(text: str, language: str) -> None:
    assert detect_language(text).language == language


def test_confidence_is_a_share_between_zero_and_one() -> None:
    for text in ["hello", "你好 hello", "", "ok 好"]:
        assert 0.0 <= detect_language(text).confidence <= 1.0

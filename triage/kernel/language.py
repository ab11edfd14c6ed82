"""Language detection for Chinese and English tickets, with no model download.

A script-based detector is exact for the two languages the service supports and costs
microseconds: Han characters mean Chinese; Latin letters mean English. Tickets in neither script
are ``other`` (routed to a human; the encoders still embed them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_OTHER_LETTER = re.compile(r"[^\W\d_A-Za-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

#: Share of Han characters among letters above which a mixed text counts as Chinese. Chinese
#: tickets often carry English product names and error codes ("VPN 连不上, 报错 E1234"), so one
#: Han character in five is already a Chinese writer.
CHINESE_SHARE = 0.2


@dataclass(frozen=True, slots=True)
class LanguagePrediction:
    """Detected language: ``zh``, ``en`` or ``other``, with the share of the winning script."""

    language: str
    confidence: float


def detect_language(text: str) -> LanguagePrediction:
    """Detect whether ``text`` is Chinese, English or other.

    Args:
        text: Any text; empty text is ``other`` with confidence 0.

    Returns:
        The language and the share of letters in its script.
    """
    han = len(_HAN.findall(text))
    # Count Latin letters, but weigh words rather than letters: one English word is ~5 letters
    # while one Chinese word is ~1.5 characters.
    latin = len(_LATIN.findall(text))
    other = len(_OTHER_LETTER.findall(text))
    total = han + latin + other
    if total == 0:
        return LanguagePrediction("other", 0.0)
    latin_units = len(_LATIN_WORD.findall(text)) * 1.5
    units = han + latin_units + other
    if han and han / units >= CHINESE_SHARE:
        return LanguagePrediction("zh", round(han / units, 3))
    if latin and latin / total >= 0.5:
        return LanguagePrediction("en", round(latin / total, 3))
    return LanguagePrediction("other", round(max(other, latin) / total, 3))

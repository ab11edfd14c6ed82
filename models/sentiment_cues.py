"""Lexical sentiment and anger cues in English and Chinese: the ``lexicon`` view of the head and the anger score.

English polarity comes from VADER (Hutto & Gilbert 2014, MIT licence, PyPI ``vaderSentiment``), which handles
negation, intensifiers, "but", ALL CAPS, repeated exclamation marks and emoticons. Chinese polarity comes from a
small lexicon written for this project (no third-party word list), with a negator check on the characters just
before a word. Anger cues are ours in both languages: insults, threats to complain or leave, repeated contacts,
shouting and punctuation runs, and sarcasm markers.

Every function is pure and deterministic; :func:`cue_features` is picklable, so a fitted head can carry it.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

#: Chinese words that carry negative polarity (written for this project).
ZH_NEGATIVE = (
    "差", "烂", "坑", "骗", "慢", "贵", "脏", "旧", "吵", "臭", "破", "坏", "失望", "后悔", "不满", "难用", "难吃",
    "垃圾", "糟糕", "恶心", "郁闷", "无语", "生气", "愤怒", "投诉", "退货", "退款", "差评", "不好", "不行", "不能用",
    "没用", "问题", "故障", "卡顿", "死机", "崩溃", "报错", "失败", "延误", "丢失", "损坏", "质量差", "态度差",
    "敷衍", "推脱", "拖延", "欺骗", "忽悠", "上当", "太慢", "一般般", "不值", "麻烦", "着急", "不耐烦", "无法",
    "不合理", "离谱", "过分", "可恶", "差劲", "倒霉", "遗憾", "可惜", "缺点", "毛病", "不靠谱", "不负责", "没人管",
)  # fmt: skip
#: Chinese words that carry positive polarity (written for this project).
ZH_POSITIVE = (
    "好", "棒", "赞", "快", "值", "满意", "喜欢", "推荐", "不错", "很好", "非常好", "方便", "舒服", "干净", "划算",
    "实惠", "感谢", "谢谢", "辛苦", "专业", "耐心", "热情", "周到", "及时", "完美", "优秀", "给力", "好评", "漂亮",
    "超值", "开心", "高兴", "惊喜", "放心", "靠谱", "解决了", "好用", "流畅", "清晰", "物美价廉",
)  # fmt: skip
#: Negators that flip the Chinese word right after them (within two characters).
ZH_NEGATORS = ("不", "没", "无", "别", "未", "非")

#: Anger cues beyond plain negativity, English (lower-cased substrings).
EN_ANGER = (
    "unacceptable", "ridiculous", "worst", "furious", "angry", "outraged", "disgusting", "disgrace", "scam",
    "lawyer", "lawsuit", "sue you", "fed up", "sick of", "sick and tired", "pathetic", "incompetent", "useless",
    "never again", "never fly", "never use", "cancel my account", "close my account", "shame on", "horrible",
    "awful", "appalling", "joke", "clowns", "liars", "lied", "rip off", "ripoff", "wtf", "fuck", "shit", "damn",
    "hell", "stupid", "idiot", "hate", "screw", "bullshit", "third time", "3rd time", "fourth time", "again and again",
    "how many times", "still waiting", "still no", "still not", "no one cares", "nobody cares", "do your job",
    "report you", "complain", "complaint", "demand", "refund now", "immediately!", "asap!",
)  # fmt: skip
#: Anger cues, Chinese.
ZH_ANGER = (
    "太过分", "过分", "投诉", "垃圾", "气死", "愤怒", "无法接受", "不能接受", "骗子", "再也不", "差评", "忍无可忍",
    "搞什么", "第三次", "第二次", "又是", "又一次", "坑人", "什么破", "退钱", "欺骗", "曝光", "12315", "消协",
    "工商", "起诉", "律师", "恶心", "无语", "滚", "妈的", "他妈", "操", "狗屁", "废物", "一群", "没人管", "没人理",
    "敷衍", "推脱", "到底", "究竟", "凭什么", "还要等多久", "等了", "催了", "太差", "最差", "坑爹", "黑心",
)  # fmt: skip
#: Chinese heat that is not an anger word: indignation ("居然", "竟然", "简直") and a negative word intensified
#: ("好差", "极差", "太失望", see :data:`_ZH_INTENSIFIED_NEGATIVE`). Read by :func:`anger_intensity` only, not a
#: column of :func:`cue_features` (so the shipped heads' features do not change). Chosen on the ChnSentiCorp
#: *validation* reviews; the README's anger figures are on the test set.
ZH_INDIGNATION = (
    "居然", "竟然", "简直", "根本不", "根本没", "坚决不", "千万别", "千万不要", "被骗", "蒙骗", "气人", "上当",
    "不敢恭维", "岂有此理", "太离谱", "真想", "难以忍受", "受不了", "不会再", "怎么可以", "反思", "反省",
    "不负责任", "爱理不理", "有愧", "不堪",
)  # fmt: skip
_ZH_INTENSIFIED_NEGATIVE = re.compile(
    "(?:太|好|极|很|非常|相当|特别|超|巨|真|十分|实在|最)(?:差|烂|脏|吵|臭|破|失望|糟糕|恶心|郁闷|差劲|离谱|过分|不负责)"
)
#: Sarcasm markers: praise words next to a complaint read as anger, not joy.
SARCASM = (
    "thanks a lot", "thanks for nothing", "great job", "well done", "good job", "yeah right", "oh great",
    "just great", "just perfect", "love how", "love that", "so helpful", "really helpful", "/s", "🙄", "😒",
    "真是谢谢", "谢谢你们了", "真行", "真棒啊", "呵呵", "好棒哦", "服了", "厉害了",
)  # fmt: skip
#: Emoji and emoticons with a clear polarity (VADER scores ASCII emoticons itself).
NEGATIVE_EMOJI = ("😠", "😡", "🤬", "👎", "😤", "💩", "😞", "😢", "😭", "😫", "😩", "🙄", "😒", "😑", "💔")
POSITIVE_EMOJI = ("😀", "😃", "😄", "😊", "🙂", "😍", "👍", "🙏", "❤", "💕", "🎉", "👏", "😁", "🥰", "✨")

_CJK = re.compile(r"[\u4e00-\u9fff]")
_EXCLAMATION_RUN = re.compile(r"[!！]{2,}")
#: Three or more exclamation marks anywhere in a message ("太差！...！...！") heat it like a run.
_EXCLAMATION = re.compile(r"[!！]")
_QUESTION_RUN = re.compile(r"[?？]{2,}|[?？][!！]|[!！][?？]")
_SHOUTED_WORD = re.compile(r"\b[A-Z]{4,}\b")
#: Capitalised words that are names, not shouting.
ACRONYMS = frozenset({
    "HTTP", "HTTPS", "HTML", "JSON", "WIFI", "VPN", "SSO", "API", "CSV", "PDF", "SMS", "URL", "DNS", "LDAP", "SAML",
    "IMAP", "SMTP", "USB", "HDMI", "RAM", "SSD", "UEFI", "BIOS", "ASAP", "FYI", "GDPR", "IBAN", "SWIFT", "VISA",
    "NULL", "TODO", "UTC", "GMT", "CEST",
})  # fmt: skip
_LATIN_WORD = re.compile(r"\b[A-Za-z]{3,}\b")

#: Names of the columns :func:`cue_features` returns, in order.
FEATURE_NAMES = (
    "vader_neg", "vader_pos", "vader_compound", "zh_negative", "zh_positive", "anger_words", "sarcasm",
    "negative_emoji", "positive_emoji", "exclamation_runs", "question_runs", "shouting", "chinese_share",
    "log_length",
)  # fmt: skip


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def _count(lowered: str, words: tuple[str, ...]) -> int:
    return sum(lowered.count(word) for word in words)


def _zh_polarity(text: str, words: tuple[str, ...]) -> tuple[int, int]:
    """(plain, negated) occurrences of ``words`` in Chinese ``text``; negated ones have a negator just before."""
    plain = negated = 0
    for word in words:
        start = text.find(word)
        while start >= 0:
            before = text[max(0, start - 2) : start]
            if any(negator in before for negator in ZH_NEGATORS) and not word.startswith(ZH_NEGATORS):
                negated += 1
            else:
                plain += 1
            start = text.find(word, start + len(word))
    return plain, negated


def shouting(text: str) -> float:
    """Share of Latin words written in capitals (0 when fewer than three Latin words)."""
    words = _LATIN_WORD.findall(text)
    if len(words) < 3:
        return 0.0
    return sum(1 for word in words if word.isupper()) / len(words)


def cue_features(texts: list[str] | np.ndarray) -> np.ndarray:
    """Dense cue features per text (columns: :data:`FEATURE_NAMES`), for the head's ``lexicon`` view."""
    rows = []
    for text in texts:
        text = str(text)
        lowered = text.lower()
        vader = _vader().polarity_scores(text) if _LATIN_WORD.search(text) else {"neg": 0, "pos": 0, "compound": 0}
        zh_neg, zh_neg_negated = _zh_polarity(text, ZH_NEGATIVE)
        zh_pos, zh_pos_negated = _zh_polarity(text, ZH_POSITIVE)
        cjk = len(_CJK.findall(text))
        rows.append(
            (
                vader["neg"],
                vader["pos"],
                vader["compound"],
                math.log1p(zh_neg + zh_pos_negated),
                math.log1p(zh_pos + zh_neg_negated),
                math.log1p(_count(lowered, EN_ANGER) + _count(text, ZH_ANGER)),
                math.log1p(_count(lowered, SARCASM)),
                math.log1p(_count(text, NEGATIVE_EMOJI)),
                math.log1p(_count(text, POSITIVE_EMOJI)),
                math.log1p(len(_EXCLAMATION_RUN.findall(text))),
                math.log1p(len(_QUESTION_RUN.findall(text))),
                shouting(text),
                cjk / max(len(text), 1),
                math.log1p(len(text)),
            )  # fmt: skip
        )
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(FEATURE_NAMES))


def anger_intensity(text: str) -> float:
    """How heated a text reads, in [0, 1], whatever its topic.

    Anger words and sarcasm count most; shouting (not acronyms such as VPN), punctuation runs, angry emoji and a
    very negative VADER compound add to them. Plain negativity ("the printer is broken") scores 0.
    """
    lowered = text.lower()
    words = _count(lowered, EN_ANGER) + _count(text, ZH_ANGER) + _count(text, ZH_INDIGNATION)
    words += len(_ZH_INTENSIFIED_NEGATIVE.findall(text))
    score = 0.3 * min(words, 3)
    score += 0.25 * min(_count(lowered, SARCASM), 1)
    runs = len(_EXCLAMATION_RUN.findall(text)) + len(_QUESTION_RUN.findall(text))
    score += 0.2 * min(max(runs, len(_EXCLAMATION.findall(text)) >= 3), 2)
    shouted = {word for word in _SHOUTED_WORD.findall(text) if word not in ACRONYMS}
    score += 0.3 * (shouting(text) >= 0.3) + 0.15 * bool(shouted)
    score += 0.2 * min(_count(text, NEGATIVE_EMOJI), 2)
    if _LATIN_WORD.search(text) and _vader().polarity_scores(text)["compound"] <= -0.8:
        score += 0.15
    return min(score, 1.0)

"""BM25 over word tokens (English, codes, numbers) and character bigrams (Chinese).

Exact tokens such as error codes (``E1234``), order numbers or product names are what sentence
encoders blur, so the knowledge base fuses this lexical signal with the semantic one.

The index is an inverted file (term -> {row: term frequency}) kept in plain dicts, so adding or
removing a document is O(its length) and needs no rebuild; scoring touches only the postings of the
query's terms.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

_WORD = re.compile(r"[a-z0-9]+(?:[._\-/#][a-z0-9]+)*")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
#: A small English stop list: BM25's idf already discounts common words; these add only noise.
_STOP = frozenset(
    "a an and are as at be but by can do does for from how i if in is it its me my of on or so that the this to "
    "was what when where which who why will with you your".split()
)


def tokenize(text: str) -> list[str]:
    """Word tokens for Latin text plus character unigrams and bigrams for Chinese.

    Compound tokens such as ``err-504`` or ``v2.1`` are kept whole *and* split into their parts, so
    either spelling matches.

    Example:
        >>> tokenize("VPN 报错 E-1234")
        ['vpn', 'e-1234', 'e', '1234', '报', '错', '报错']
    """
    lowered = text.lower()
    tokens: list[str] = []
    for match in _WORD.finditer(lowered):
        word = match.group()
        if word in _STOP:
            continue
        tokens.append(word)
        parts = re.split(r"[._\-/#]", word)
        if len(parts) > 1:
            tokens.extend(p for p in parts if p and p not in _STOP)
    for run in _HAN_RUN.finditer(lowered):
        chars = run.group()
        tokens.extend(chars)
        tokens.extend(chars[i : i + 2] for i in range(len(chars) - 1))
    return tokens


class BM25Index:
    """Incremental Okapi BM25 (k1=1.2, b=0.75) over integer row ids.

    Example:
        >>> index = BM25Index()
        >>> index.add(7, "Error E1234 when paying")
        >>> index.scores("E1234")
        {7: ...}
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._postings: dict[str, dict[int, int]] = {}
        self._lengths: dict[int, int] = {}
        self._terms: dict[int, tuple[str, ...]] = {}
        self._total_length = 0

    def __len__(self) -> int:
        return len(self._lengths)

    def add(self, row: int, text: str) -> None:
        """Index ``text`` under ``row`` (replacing what ``row`` held before)."""
        if row in self._lengths:
            self.remove(row)
        counts = Counter(tokenize(text))
        for term, tf in counts.items():
            self._postings.setdefault(term, {})[row] = tf
        length = sum(counts.values())
        self._terms[row] = tuple(counts)
        self._lengths[row] = length
        self._total_length += length

    def remove(self, row: int) -> None:
        """Forget ``row``; unknown rows are ignored."""
        if row not in self._lengths:
            return
        self._total_length -= self._lengths.pop(row)
        for term in self._terms.pop(row):
            posting = self._postings[term]
            posting.pop(row, None)
            if not posting:
                del self._postings[term]

    def scores(self, query: str, *, allowed: Iterable[int] | None = None) -> dict[int, float]:
        """BM25 score of every row sharing a term with ``query`` (rows without one score 0).

        Args:
            query: Query text.
            allowed: Only score these rows (e.g. live, non-retired chunks).
        """
        n = len(self._lengths)
        if not n:
            return {}
        allowed_set = set(allowed) if allowed is not None else None
        avg = self._total_length / n or 1.0
        out: dict[int, float] = {}
        for term, qtf in Counter(tokenize(query)).items():
            posting = self._postings.get(term)
            if not posting:
                continue
            idf = math.log(1.0 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
            for row, tf in posting.items():
                if allowed_set is not None and row not in allowed_set:
                    continue
                norm = tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * self._lengths[row] / avg))
                out[row] = out.get(row, 0.0) + qtf * idf * norm
        return out

    def ceiling(self, query: str) -> float:
        """Upper bound of any row's score for ``query`` (every term matched with tf -> inf).

        Dividing by it turns BM25 into an absolute 0-1 "how much of the query's weight matched",
        comparable across queries, unlike dividing by the best row's score.
        """
        n = len(self._lengths)
        total = 0.0
        for term, qtf in Counter(tokenize(query)).items():
            df = len(self._postings.get(term, ()))
            total += qtf * math.log(1.0 + (n - df + 0.5) / (df + 0.5)) * (self.k1 + 1)
        return total

    def top(self, query: str, k: int, *, allowed: Iterable[int] | None = None) -> list[tuple[int, float]]:
        """The ``k`` best ``(row, score)`` pairs, best first."""
        scores = self.scores(query, allowed=allowed)
        if not scores:
            return []
        rows = np.fromiter(scores.keys(), dtype=np.int64, count=len(scores))
        values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
        order = np.argsort(-values, kind="stable")[:k]
        return [(int(rows[i]), float(values[i])) for i in order]

    def rows(self) -> Sequence[int]:
        return list(self._lengths)

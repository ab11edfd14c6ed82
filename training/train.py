"""Train a triage head, log the run to MLflow, register a version and promote it by the champion rule.

The ``champion`` alias moves only when the candidate is not worse than the current champion on
the same held-out data (``primary metric >= champion's``), unless promotion is forced.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import numpy as np

from models.encoder import MemoizedEncoder, SentenceEncoder, block_widths, encoder_runtime, unit_rows
from models.estimators import VIEWS, HybridTextClassifier, check_views
from models.features import TextFeatures
from models.loading import (
    TEXT_ONLY_ENCODER,
    ModelArtifact,
    ModelCard,
    ScopeModel,
    library_versions,
    load_artifact,
    save_artifact,
)
from training import tracking
from training.data import LabelledTexts, check_trainable, load_labelled, rare_label_note, split_holdout
from training.evaluate import check_evaluable, predict_for_evaluation, score_predictions
from triage.config import REGISTERED_MODEL_NAMES, Settings
from triage.engine.factory import load_configured_encoder
from triage.kernel.errors import ArtifactMismatch, ConfigError, InvalidDataset, ModelNotReady

TASKS = tuple(REGISTERED_MODEL_NAMES)
#: The metric the promotion rule compares. Macro-F1 where classes are imbalanced.
PRIMARY_METRIC = {"category": "accuracy", "sentiment": "macro_f1", "urgency": "macro_f1"}
CONFIG_DIR = Path(__file__).parent / "configs"
#: Share of training texts allowed below the out-of-scope similarity threshold.
DEFAULT_SCOPE_QUANTILE = 0.01


@dataclass
class TrainingOutcome:
    """What a training run produced and decided."""

    task: str
    model_name: str
    run_id: str
    version: str
    promoted: bool
    promotion_reason: str
    metrics: dict[str, Any]
    champion_metrics: dict[str, Any] | None
    n_train: int
    n_holdout: int
    train_seconds: float
    data_fingerprint: str
    notes: list[str] = field(default_factory=list)
    #: The candidate's label for each held-out row, in order (benchmarks score subsets with it; not in to_dict).
    holdout_predictions: list[str] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "holdout_predictions"}


def load_training_config(task: str, path: Path | None = None) -> dict[str, Any]:
    """Hyper-parameters of a task from ``training/configs/<task>.toml`` (or ``path``).

    Raises:
        InvalidDataset: unknown task.
        ConfigError: unreadable TOML, an unknown hyper-parameter or view.
    """
    if task not in TASKS:
        raise InvalidDataset(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    config_path = path or CONFIG_DIR / f"{task}.toml"
    try:
        with open(config_path, "rb") as handle:
            config = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: invalid TOML: {exc}") from exc
    known = set(HybridTextClassifier().get_params())
    unknown = sorted(k for k, v in config.items() if not isinstance(v, dict) and k not in known)
    if unknown:
        raise ConfigError(f"{config_path}: unknown hyper-parameters {unknown}; known: {', '.join(sorted(known))}")
    try:
        check_views(config.get("views", VIEWS))
    except ValueError as exc:
        raise ConfigError(f"{config_path}: {exc}") from exc
    return config


def fit_scope(embeddings: np.ndarray, labels: list[str], *, quantile: float) -> ScopeModel:
    """Label centroids of the (unit-length) training embeddings and the similarity below which a text is out of scope."""
    label_array = np.asarray(labels)
    rows = unit_rows(embeddings)
    centroids = []
    for label in sorted(set(labels)):
        centroid = rows[label_array == label].mean(axis=0)
        centroids.append(centroid / max(np.linalg.norm(centroid), 1e-12))
    scope = ScopeModel(centroids=np.vstack(centroids).astype(np.float32), threshold=0.0)
    scope.threshold = float(np.quantile(scope.similarity(embeddings), quantile))
    return scope


def _say(message: str) -> None:
    print(f"[train] {message}", file=sys.stderr, flush=True)


def fit_artifact(
    *,
    task: str,
    train: LabelledTexts,
    encoder: SentenceEncoder,
    params: dict[str, Any],
    scope_quantile: float = DEFAULT_SCOPE_QUANTILE,
    label_order: list[str] | None = None,
    progress: bool = True,
) -> ModelArtifact:
    """Embed the training texts, fit the head and the scope model, and fill the card.

    A head of text views alone (no ``embedding`` in its views) is fitted without encoding anything; it records
    :data:`TEXT_ONLY_ENCODER`, serves beside any encoder, and has no out-of-scope model.
    """
    check_trainable(train)
    estimator = HybridTextClassifier(**{"embedding_blocks": block_widths(encoder), **params})
    text_only = not estimator.uses_embeddings
    if text_only:
        embeddings = np.zeros((len(train), 0), dtype=np.float32)
    else:
        embeddings = encoder.encode(train.texts, show_progress=progress)
    estimator.fit(
        TextFeatures(texts=train.texts, embeddings=embeddings), train.labels, progress=_say if progress else None
    )
    scope = (
        ScopeModel(centroids=np.zeros((0, 0), dtype=np.float32), threshold=0.0)
        if text_only
        else fit_scope(embeddings, train.labels, quantile=scope_quantile)
    )
    card = ModelCard(
        name=REGISTERED_MODEL_NAMES[task],
        task=task,
        labels=[str(c) for c in estimator.classes_],
        encoder_id=TEXT_ONLY_ENCODER if text_only else encoder.id,
        encoder_dim=0 if text_only else encoder.dim,
        encoder_runtime="" if text_only else encoder_runtime(encoder),
        abstain_threshold=float(getattr(estimator, "abstain_threshold_", 0.0)),
        scope_threshold=scope.threshold,
        text_column=",".join(train.text_columns),
        label_column=train.label_column,
        data_fingerprint=train.fingerprint(),
        n_train=len(train),
        params={
            **estimator.get_params(),
            **estimator.pool_weights(),
            "threshold_basis": estimator.threshold_basis(estimator.target_accuracy),
            **({"label_order": label_order} if label_order else {}),
        },  # fmt: skip
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        libraries=library_versions(),
    )
    return ModelArtifact(estimator=estimator, card=card, scope=scope)


def _evaluate(task: str, artifact: ModelArtifact, encoder: SentenceEncoder, holdout: LabelledTexts) -> dict[str, Any]:
    predictions = predict_for_evaluation(task, artifact, encoder, holdout.texts)
    metrics = score_predictions(holdout.labels, predictions, holdout.texts)
    metrics["_predicted"] = predictions.labels
    return metrics


def _champion_metrics(
    task: str, settings: Settings, name: str, encoder: SentenceEncoder, holdout: LabelledTexts
) -> tuple[dict[str, Any] | None, str | None]:
    """Score the current champion on the candidate's held-out data; (None, reason) when impossible."""
    try:
        champion = load_artifact(f"models:/{name}@{tracking.CHAMPION}", tracking_uri=settings.resolved_mlflow_uri)
    except ModelNotReady:
        return None, None
    except ArtifactMismatch as exc:  # written by an older release: not comparable
        return None, str(exc)
    if not champion.card.text_only and champion.card.encoder_id != encoder.id:
        return None, f"champion {champion.card.version} uses encoder {champion.card.encoder_id}; not comparable"
    try:
        return _evaluate(task, champion, encoder, holdout), None
    except ArtifactMismatch as exc:
        return None, str(exc)


def decide_promotion(
    *, candidate: float, champion: float | None, metric: str, force: bool, blocker: str | None = None
) -> tuple[bool, str]:
    """The champion rule: promote when there is no champion or the candidate is not worse."""
    if force:
        return True, "forced by --force-promote"
    if blocker:
        return False, f"not promoted: {blocker}; use --force-promote to move the alias anyway"
    if champion is None:
        return True, "no champion yet"
    if candidate >= champion:
        return True, f"{metric} {candidate:.4f} >= champion {champion:.4f} on the same held-out data"
    return False, f"not promoted: {metric} {candidate:.4f} < champion {champion:.4f} on the same held-out data"


def train_task(
    *,
    task: str,
    data_path: Path,
    settings: Settings,
    test_path: Path | None = None,
    text_col: str | None = None,
    label_col: str | None = None,
    force_promote: bool = False,
    encoder: SentenceEncoder | None = None,
    label_order: list[str] | None = None,
    config_path: Path | None = None,
    progress: bool = True,
) -> TrainingOutcome:
    """Train, evaluate on held-out data, log to MLflow, register, and apply the champion rule.

    Args:
        task: ``category``, ``urgency`` or ``sentiment``.
        data_path: Labelled CSV/Parquet. Without ``test_path`` a seeded 20% is held out.
        settings: Where MLflow lives and which encoder to use.
        test_path: Held-out file for evaluation and the promotion comparison.
        text_col, label_col: Column names (``text_col`` may list several, comma-separated).
        force_promote: Move the champion alias even if the candidate is worse.
        encoder: An already-loaded encoder (tests, notebooks); loaded from settings otherwise.
        label_order: Urgency labels from most to least urgent, when not sortable (``P1..P4``).
        config_path: Hyper-parameter TOML; defaults to ``training/configs/<task>.toml``.
        progress: Show progress bars and steps on stderr.

    Raises:
        InvalidDataset: unusable data. ModelNotReady: the encoder cannot be loaded.
    """
    config = load_training_config(task, config_path)
    params = {k: v for k, v in config.items() if not isinstance(v, dict)}
    scope_quantile = float(config.get("scope", {}).get("quantile", DEFAULT_SCOPE_QUANTILE))
    data = load_labelled(data_path, text_col=text_col, label_col=label_col)
    check_trainable(data)
    if test_path is not None:
        train = data
        holdout = load_labelled(test_path, text_col=text_col, label_col=label_col)
    else:
        train, holdout = split_holdout(data)
    if not len(holdout):
        raise InvalidDataset(f"{data_path}: too few rows to hold any out for evaluation; pass --test FILE")
    rare_note = rare_label_note(train)
    if rare_note:
        print(f"warning: {train.source}: {rare_note}", file=sys.stderr)
    base_encoder = encoder or load_configured_encoder(settings)
    shared = MemoizedEncoder(base_encoder, max_size=len(holdout) + 16)

    started = time.perf_counter()
    if progress:
        _say(f"training {task} on {len(train)} rows ({len(set(train.labels))} labels), holding out {len(holdout)}")
    artifact = fit_artifact(
        task=task, train=train, encoder=base_encoder, params=params, scope_quantile=scope_quantile,
        label_order=label_order, progress=progress,
    )  # fmt: skip
    train_seconds = time.perf_counter() - started
    # Only the category stage abstains, so only its threshold needs a word.
    basis = artifact.estimator.threshold_basis(artifact.estimator.target_accuracy) if task == "category" else "bound"
    threshold_note = {
        "observed": f"the abstain threshold reaches {artifact.estimator.target_accuracy:g} accepted accuracy only at "
        "the observed out-of-fold rate, not with 95% confidence (too few or too noisy rows): expect accepted "
        "accuracy near, not above, the target",
        "unreachable": f"no confidence reaches {artifact.estimator.target_accuracy:g} accepted accuracy out of fold; "
        "the model abstains on almost every ticket (lower target_accuracy or add data)",
    }.get(basis)
    notes = (
        data.notes
        + ([rare_note] if rare_note else [])
        + ([threshold_note] if threshold_note else [])
        + check_evaluable(holdout.labels, artifact.card.labels, unknown_label=None, source=holdout.source)
    )
    metrics = _evaluate(task, artifact, shared, holdout)
    predicted = metrics.pop("_predicted")
    metric = PRIMARY_METRIC[task]
    artifact.card.metrics = {k: v for k, v in metrics.items() if isinstance(v, int | float)}

    client = tracking.mlflow_client(settings)
    name = REGISTERED_MODEL_NAMES[task]
    champion_metrics, blocker = _champion_metrics(task, settings, name, shared, holdout)
    if champion_metrics:
        champion_metrics.pop("_predicted", None)
    promote, reason = decide_promotion(
        candidate=float(metrics[metric]),
        champion=None if champion_metrics is None else float(champion_metrics[metric]),
        metric=metric,
        force=force_promote,
        blocker=blocker,
    )
    with mlflow.start_run(experiment_id=tracking.experiment_id(client, name, settings)) as run:
        artifact.card.run_id = run.info.run_id
        mlflow.log_params({f"head.{k}": v for k, v in artifact.card.params.items()})
        mlflow.log_params(
            {
                "task": task, "encoder": base_encoder.id, "encoder_runtime": encoder_runtime(base_encoder), "n_train": len(train), "n_holdout": len(holdout),
                "train_file": str(data_path), "test_file": str(test_path or "seeded 20% holdout"),
                "text_columns": ",".join(train.text_columns), "label_column": train.label_column,
                "scope_quantile": scope_quantile,
            }
        )  # fmt: skip
        mlflow.set_tags({"data_fingerprint": train.fingerprint(), "holdout_fingerprint": holdout.fingerprint()})
        mlflow.log_metrics({**artifact.card.metrics, "train_seconds": train_seconds})
        mlflow.log_metrics({f"view_weight.{k}": v for k, v in artifact.estimator.view_weights_.items()})
        chinese_weights = artifact.estimator.chinese_view_weights_ or {}
        mlflow.log_metrics({f"view_weight.zh.{k}": v for k, v in chinese_weights.items()})
        if champion_metrics:
            mlflow.log_metrics({f"champion_{k}": v for k, v in champion_metrics.items() if isinstance(v, int | float)})
        with tracking.scratch_dir() as scratch:
            folder = Path(scratch)
            labels = sorted(set(artifact.card.labels) | set(holdout.labels))
            tracking.save_confusion_matrix(holdout.labels, predicted, labels, folder / "confusion_matrix.png")
            tracking.write_json(folder, "labels.json", artifact.card.labels)
            tracking.write_json(folder, "holdout_metrics.json", metrics)
            mlflow.log_artifacts(str(folder), artifact_path="evaluation")
            save_artifact(artifact, folder / "model")
            mlflow.log_artifacts(str(folder / "model"), artifact_path="model")
        version = tracking.register_version(
            client,
            name=name,
            source=f"{run.info.artifact_uri}/model",
            run_id=run.info.run_id,
            tags={"data_fingerprint": train.fingerprint(), metric: f"{metrics[metric]:.4f}"},
        )
        mlflow.set_tags({"registered_version": version, "promoted": str(promote), "promotion_reason": reason})
    if promote:
        client.set_registered_model_alias(name, tracking.CHAMPION, version)
    return TrainingOutcome(
        task=task, model_name=name, run_id=run.info.run_id, version=version, promoted=promote,
        promotion_reason=reason, metrics=metrics, champion_metrics=champion_metrics, n_train=len(train),
        n_holdout=len(holdout), train_seconds=round(train_seconds, 2), data_fingerprint=train.fingerprint(),
        notes=notes, holdout_predictions=list(predicted),
    )  # fmt: skip

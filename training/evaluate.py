"""Evaluate a trained head on a labelled file: accuracy, macro-F1, calibration, abstention, per language."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support
from tqdm.auto import tqdm

from models.encoder import SentenceEncoder
from models.loading import ModelArtifact
from models.metrics import expected_calibration_error
from triage.domain.taxonomy import SEPARATOR, truncate_label
from triage.engine.stages.base import predict_proba
from triage.engine.stages.classify import CategoryClassifier
from triage.engine.stages.sentiment import SentimentScorer
from triage.engine.stages.zero_shot import ZeroShotClassifier
from triage.kernel.errors import InvalidDataset
from triage.kernel.language import detect_language

EVAL_BATCH = 256


@dataclass
class Predictions:
    labels: list[str]
    confidences: np.ndarray
    abstained: np.ndarray


def predict_for_evaluation(
    task: str,
    artifact: ModelArtifact,
    encoder: SentenceEncoder,
    texts: Sequence[str],
    *,
    abstain_threshold: float | None = None,
    progress: bool = False,
) -> Predictions:
    """Predict in batches, as served: category through its stage (abstain path included), sentiment through
    its stage (the newest message of each text); sentiment and urgency never abstain."""
    batches = range(0, len(texts), EVAL_BATCH)
    if progress:
        batches = tqdm(batches, desc=f"evaluate {task}", unit="batch")
    labels: list[str] = []
    confidences: list[float] = []
    abstained: list[bool] = []
    classifier = (
        CategoryClassifier(artifact, encoder, abstain_threshold=abstain_threshold) if task == "category" else None
    )
    sentiment = SentimentScorer(artifact, encoder) if task == "sentiment" else None
    classes = [str(c) for c in artifact.estimator.classes_]
    for start in batches:
        chunk = list(texts[start : start + EVAL_BATCH])
        if classifier is not None:
            for prediction in classifier.batch(chunk):
                labels.append(prediction.label)
                confidences.append(prediction.confidence)
                abstained.append(prediction.abstained)
        elif sentiment is not None:  # as served: scored on the newest message of each text
            for score in sentiment.batch(chunk):
                labels.append(score.label)
                confidences.append(score.confidence)
                abstained.append(False)
        else:
            probabilities, _ = predict_proba(artifact, encoder, chunk)
            best = probabilities.argmax(axis=1)
            labels.extend(classes[i] for i in best)
            confidences.extend(probabilities[np.arange(len(chunk)), best].tolist())
            abstained.extend([False] * len(chunk))
    return Predictions(labels, np.asarray(confidences, dtype=float), np.asarray(abstained, dtype=bool))


def zero_shot_predictions(classifier: ZeroShotClassifier, texts: list[str], *, batch: int = 256) -> Predictions:
    """Run the zero-shot stage over ``texts`` in batches, as evaluation predictions."""
    results = [p for start in range(0, len(texts), batch) for p in classifier.batch(texts[start : start + batch])]
    return Predictions(
        labels=[p.label for p in results],
        confidences=np.array([p.confidence for p in results], dtype=float),
        abstained=np.array([p.abstained for p in results], dtype=bool),
    )


def _metrics(gold: np.ndarray, pred: Predictions, mask: np.ndarray, unknown_label: str | None) -> dict[str, object]:
    gold = gold[mask]
    labels = np.asarray(pred.labels, dtype=object)[mask]
    confidences = pred.confidences[mask]
    abstained = pred.abstained[mask]
    n = int(mask.sum())
    if n == 0:
        return {"n": 0}
    label_correct = labels == gold
    accepted = ~abstained
    out: dict[str, object] = {"n": n}
    if unknown_label is None:
        out["accuracy"] = float(label_correct.mean())
        out["macro_f1"] = float(f1_score(gold, labels, average="macro", zero_division=0))
    else:
        # The system's answer per row is a label or "abstain"; out-of-scope rows are right only when it abstains.
        in_scope = gold != unknown_label
        system = np.where(abstained, unknown_label, labels)
        correct = np.where(in_scope, accepted & label_correct, abstained)
        out["accuracy"] = float(correct.mean())
        out["macro_f1"] = float(f1_score(gold, system, average="macro", zero_division=0))
        out["in_scope_accuracy"] = float(correct[in_scope].mean()) if in_scope.any() else None
        out["in_scope_label_accuracy"] = float(label_correct[in_scope].mean()) if in_scope.any() else None
        out["oos_recall"] = float(abstained[~in_scope].mean()) if (~in_scope).any() else None
        label_correct, confidences, accepted = label_correct[in_scope], confidences[in_scope], accepted[in_scope]
    out["ece"] = float(expected_calibration_error(confidences, label_correct)) if len(confidences) else None
    out["coverage"] = float(accepted.mean()) if len(accepted) else None
    out["accepted_accuracy"] = float(label_correct[accepted].mean()) if accepted.any() else None
    return out


def _per_label(gold: np.ndarray, pred: Predictions, unknown_label: str | None) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of each gold label (abstentions count as ``unknown_label``)."""
    system = np.asarray(pred.labels, dtype=object)
    if unknown_label is not None:
        system = np.where(pred.abstained, unknown_label, system)
    labels = sorted(set(gold.tolist()))
    precision, recall, f1, support = precision_recall_fscore_support(gold, system, labels=labels, zero_division=0)
    return {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
        for label, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True)
    }


def _per_level(gold: np.ndarray, pred: Predictions, unknown_label: str | None) -> dict[str, dict[str, float]]:
    """Top-1 accuracy at each level of path labels (``billing`` / ``billing/refund`` / ...), in-scope rows only.

    Empty when no gold label is a path. Level ``n`` compares the first ``n`` levels of gold and predicted label.
    """
    in_scope = gold != unknown_label if unknown_label is not None else np.ones(len(gold), dtype=bool)
    gold_labels = [str(g) for g in gold[in_scope]]
    depth = max((g.count(SEPARATOR) + 1 for g in gold_labels), default=1)
    if depth < 2:
        return {}
    predicted = [str(p) for p in np.asarray(pred.labels, dtype=object)[in_scope]]
    return {
        str(level): {
            "accuracy": float(
                np.mean(
                    [
                        truncate_label(g, level) == truncate_label(p, level)
                        for g, p in zip(gold_labels, predicted, strict=True)
                    ]
                )
            ),
            "n_labels": len({truncate_label(g, level) for g in gold_labels}),
        }
        for level in range(1, depth + 1)
    }


def score_predictions(
    gold: Sequence[str],
    pred: Predictions,
    texts: Sequence[str],
    *,
    unknown_label: str | None = None,
) -> dict[str, object]:
    """All metrics, overall and per detected language.

    Without ``unknown_label``: ``accuracy``/``macro_f1`` are top-1 label metrics (abstention
    ignored), ``coverage`` is the share not abstained and ``accepted_accuracy`` the accuracy on them.
    With it: rows of that label count as correct only when the model abstains; in-scope rows only
    when it answers and is right; ``in_scope_accuracy`` and ``oos_recall`` are added, and
    ``ece``/``coverage``/``accepted_accuracy`` are computed on in-scope rows. For path labels
    (``billing/refund``), ``per_level`` gives the accuracy at each level of the path.
    """
    gold_array = np.asarray(gold, dtype=object)
    everything = np.ones(len(gold_array), dtype=bool)
    result = _metrics(gold_array, pred, everything, unknown_label)
    result["per_label"] = _per_label(gold_array, pred, unknown_label)
    levels = _per_level(gold_array, pred, unknown_label)
    if levels:
        result["per_level"] = levels
    languages = np.array([detect_language(t).language for t in texts])
    result["per_language"] = {
        language: _metrics(gold_array, pred, languages == language, unknown_label)
        for language in sorted(set(languages.tolist()))
    }
    return result


#: How sentiment corpora spell the three labels of the shipped default.
SENTIMENT_ALIASES = {
    "negative": ("negative", "neg", "0", "-1", "负面", "消极", "差评"),
    "neutral": ("neutral", "neu", "中性", "中立"),
    "positive": ("positive", "pos", "1", "正面", "积极", "好评"),
}


def align_sentiment_labels(gold: Sequence[str], model_labels: Sequence[str]) -> tuple[list[str], list[str]]:
    """Map a corpus's sentiment coding (``0``/``1``, ``neg``/``pos``, ``负面``/``正面``) onto the model's labels.

    Only when the model's labels are among negative/neutral/positive, some gold label is not, and every gold label
    has an alias; otherwise ``gold`` is returned unchanged.

    Returns:
        The gold labels to score, and a note saying what was mapped (empty when nothing was).
    """
    known = set(model_labels)
    if not known <= set(SENTIMENT_ALIASES) or set(gold) <= known:
        return list(gold), []
    alias = {
        spelling: label for label, spellings in SENTIMENT_ALIASES.items() if label in known for spelling in spellings
    }
    if not all(str(g).strip().lower() in alias for g in set(gold)):
        return list(gold), []
    mapped = {g: alias[str(g).strip().lower()] for g in set(gold)}
    listed = ", ".join(f"{g!r} -> {label!r}" for g, label in sorted(mapped.items()) if g != label)
    return [mapped[g] for g in gold], [f"gold sentiment labels read as the model's: {listed}"]


def check_evaluable(
    gold: Sequence[str], model_labels: Sequence[str], *, unknown_label: str | None, source: str
) -> list[str]:
    """Validate gold labels against the model; returns warnings for labels the model never saw.

    Raises:
        InvalidDataset: ``unknown_label`` is a label the model was trained on, or it does not occur.
    """
    known = set(model_labels)
    counts = Counter(gold)
    if unknown_label is not None:
        if unknown_label in known:
            raise InvalidDataset(
                f"--unknown-label {unknown_label!r} is one of the model's trained labels; "
                "name the label that marks out-of-scope rows instead"
            )
        if unknown_label not in counts:
            seen = ", ".join(sorted(counts)[:20])
            raise InvalidDataset(
                f"--unknown-label {unknown_label!r} does not occur in {source} (labels there: {seen}); check the spelling"
            )
    unseen = {label: n for label, n in counts.items() if label not in known and label != unknown_label}
    if not unseen:
        return []
    listed = ", ".join(f"{label!r} ({n})" for label, n in sorted(unseen.items())[:10])
    return [
        f"{sum(unseen.values())} rows carry labels the model was never trained on and count as errors: {listed}. "
        "If they mark out-of-scope tickets, pass --unknown-label"
    ]

"""``triage evaluate``: score a trained head on a labelled file; prints one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models.loading import load_artifact
from training.data import load_labelled
from training.evaluate import (
    align_sentiment_labels,
    check_evaluable,
    predict_for_evaluation,
    score_predictions,
    zero_shot_predictions,
)
from training.train import TASKS
from triage.adapters.taxonomy_file import load_taxonomy
from triage.config import get_settings
from triage.engine.factory import load_configured_encoder
from triage.engine.stages.zero_shot import ZeroShotClassifier
from triage.kernel.errors import InvalidDataset


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``evaluate`` options."""
    parser.description = (
        "Prints one JSON object: n, accuracy, macro_f1, ece, coverage, accepted_accuracy, per_language, per_label "
        "(and per_level for label paths); with --unknown-label also in_scope_accuracy and oos_recall."
    )
    parser.add_argument("--task", choices=TASKS, help="the model's task (category with --zero-shot)")
    parser.add_argument("--model", help="models:/<name>@<alias>, models:/<name>/<version> or a folder")
    parser.add_argument(
        "--zero-shot", metavar="TAXONOMY", type=Path,
        help="evaluate zero-shot categories from this taxonomy file instead of a trained --model",
    )  # fmt: skip
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--text-col", help="text column, or several comma-separated (default: text, else subject,body)")
    parser.add_argument("--label-col", help="label column (default: label)")
    parser.add_argument("--unknown-label", help="label marking out-of-scope rows: correct only when the model abstains")
    parser.add_argument("--abstain-threshold", type=float, help="override the model's abstain threshold")
    parser.add_argument(
        "--target-accuracy", type=float,
        help="category: the operating point, as the accepted accuracy the abstain threshold aims for (default: the "
        "model's own, 0.98)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.zero_shot is not None:
        return _run_zero_shot(args)
    if args.model is None or args.task is None:
        raise InvalidDataset("give --task and --model, or --zero-shot TAXONOMY")
    settings = get_settings()
    artifact = load_artifact(args.model, tracking_uri=settings.resolved_mlflow_uri)
    data = load_labelled(args.data, text_col=args.text_col, label_col=args.label_col or artifact.card.label_column)
    gold, mapped = (
        align_sentiment_labels(data.labels, artifact.card.labels) if args.task == "sentiment" else (data.labels, [])
    )
    warnings = mapped + check_evaluable(
        gold, artifact.card.labels, unknown_label=args.unknown_label, source=data.source
    )
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    # A text-only head (the shipped defaults) reads no embedding: no encoder is loaded for it.
    encoder = (
        None if artifact.card.text_only
        else load_configured_encoder(settings, name=_encoder_name(artifact.card.encoder_id))
    )  # fmt: skip
    threshold = args.abstain_threshold
    if threshold is None and args.target_accuracy is not None and args.task == "category":
        if not 0 < args.target_accuracy < 1:
            raise InvalidDataset(f"--target-accuracy must be between 0 and 1, got {args.target_accuracy}")
        threshold = float(artifact.estimator.abstain_threshold_for(args.target_accuracy))
    predictions = predict_for_evaluation(
        args.task,
        artifact,
        encoder,
        data.texts,
        abstain_threshold=threshold,
        progress=not args.quiet,  # type: ignore[arg-type]
    )
    result = score_predictions(gold, predictions, data.texts, unknown_label=args.unknown_label)
    result = {
        **result,
        "task": args.task,
        "model": args.model,
        "model_version": artifact.card.version,
        "abstain_threshold": artifact.card.abstain_threshold if threshold is None else threshold,
        "data": str(args.data),
        "warnings": warnings + data.notes,
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _run_zero_shot(args: argparse.Namespace) -> int:
    """Zero-shot categories from a taxonomy file: the same JSON as a trained category model."""
    if args.task not in (None, "category"):
        raise InvalidDataset("--zero-shot classifies categories; drop --task or use --task category")
    settings = get_settings()
    data = load_labelled(args.data, text_col=args.text_col, label_col=args.label_col)
    classifier = ZeroShotClassifier(
        load_taxonomy(args.zero_shot), load_configured_encoder(settings), abstain_threshold=args.abstain_threshold
    )
    warnings = check_evaluable(data.labels, classifier.labels, unknown_label=args.unknown_label, source=data.source)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    result = score_predictions(
        data.labels, zero_shot_predictions(classifier, data.texts), data.texts, unknown_label=args.unknown_label
    )
    result = {
        **result, "task": "category", "model": f"zero-shot:{args.zero_shot}", "model_version": classifier.model_version,
        "abstain_threshold": classifier.abstain_threshold, "data": str(args.data), "warnings": warnings + data.notes,
    }  # fmt: skip
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _encoder_name(encoder_id: str) -> str:
    """Backend name (``minilm+use``) from an encoder id (``minilm:...@rev+use:...@rev``)."""
    return "+".join(part.split(":", 1)[0] for part in encoder_id.split("+"))

"""Measure the shipped defaults (no training by the user) on real text they were not trained on.

* sentiment: the airline *test* split, the ChnSentiCorp *test* set, held-out online_shopping reviews;
* anger: precision and recall of the routing alert (anger >= ``angry_threshold``) on assembled sets (below);
* urgency: the stage (model + keyword rules + anger) on the Endava *test* split and on IT help-desk tickets;
* zero-shot categories: Banking77 test against a taxonomy generated from its label names, no training rows.

**Anger sets.** No public corpus labels anger, so the sets are assembled from labels that exist:
*angry* = complaints every annotator called negative (airline test tweets with ``sentiment_confidence == 1``) and
negative ChnSentiCorp test reviews; *calm* = tweets every annotator called neutral or positive, positive
ChnSentiCorp reviews, and routine requests and tickets (Banking77 test, Endava tickets, AFQMC dev questions,
SMP2017 test requests, and 20 calm Chinese customer requests we wrote, ``demo/calm_requests_zh.txt``). None of these
rows trained the default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, precision_recall_fscore_support

from models.encoder import SentenceEncoder
from models.loading import load_artifact
from models.metrics import expected_calibration_error
from training import corpora
from training.default_models import DEMO_TICKETS, ENDAVA_URGENCY, PRETRAINED_DIR
from training.evaluate import zero_shot_predictions
from triage.domain.taxonomy import Category, Taxonomy
from triage.engine.stages.sentiment import SentimentScorer
from triage.engine.stages.urgency import UrgencyScorer, apply_context
from triage.engine.stages.zero_shot import ZeroShotClassifier

#: The routing alert threshold (config/routing.toml ``angry_threshold``).
ANGRY_THRESHOLD = 0.7
#: Calm Chinese customer requests written by the project (address, returns, refunds, delivery): none is a complaint.
WRITTEN_REQUESTS = DEMO_TICKETS.parent / "calm_requests_zh.txt"
#: Reviews per (category, label) of the held-out online_shopping sample; IT tickets sampled for urgency.
SHOPPING_SAMPLE, IT_SAMPLE = 150, 2000


def _sentiment_scorer(encoder: SentenceEncoder | None) -> SentimentScorer:
    return SentimentScorer(load_artifact(str(PRETRAINED_DIR / "sentiment")), encoder)  # type: ignore[arg-type]


def _sentiment_row(scorer: SentimentScorer, frame: pd.DataFrame) -> dict[str, Any]:
    scores = scorer.batch(frame["text"].tolist())
    predicted = np.array([s.label for s in scores], dtype=object)
    gold = frame["label"].to_numpy(dtype=object)
    precision, recall, _, _ = precision_recall_fscore_support(
        gold, predicted, labels=[corpora.NEGATIVE], zero_division=0
    )
    labels = sorted(set(gold.tolist()))
    return {
        "n_test": len(frame), "accuracy": float((predicted == gold).mean()),
        "macro_f1": float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)),
        "negative_recall": float(recall[0]), "negative_precision": float(precision[0]),
        "predicted_neutral": float((predicted == corpora.NEUTRAL).mean()),
    }  # fmt: skip


def default_sentiment(data: Path, which: str, encoder: SentenceEncoder | None = None) -> dict[str, Any]:
    """The shipped sentiment default on ``airline`` (test split), ``chnsenticorp`` (test) or ``online_shopping``
    (held-out reviews, 150 per category and label)."""
    if which == "airline":
        frame = corpora.airline(data)[1]
    elif which == "chnsenticorp":
        frame = corpora.chnsenticorp(data, "test")
    else:
        held_out = corpora.online_shopping_sentiment(data)[1]
        frame = corpora.sample(held_out.assign(stratum=held_out["category"] + held_out["label"]), SHOPPING_SAMPLE,
                               by="stratum")  # fmt: skip
    return _sentiment_row(_sentiment_scorer(encoder), frame)


def anger_sets(data: Path) -> dict[str, tuple[pd.Series, bool]]:
    """The assembled anger sets: name -> (texts, angry?). See the module docstring."""
    _, airline_test = corpora.airline(data, columns=("text", "label", "sentiment_confidence"))
    unanimous = airline_test["sentiment_confidence"].astype(float) == 1.0
    chn = corpora.chnsenticorp(data, "test")
    _, afqmc_dev = corpora.afqmc_questions(data)
    return {
        "en_negative_unanimous": (airline_test[unanimous & (airline_test["label"] == "negative")]["text"], True),
        "zh_negative_reviews": (chn[chn["label"] == corpora.NEGATIVE]["text"], True),
        "en_neutral_positive_unanimous": (airline_test[unanimous & (airline_test["label"] != "negative")]["text"], False),
        "zh_positive_reviews": (chn[chn["label"] == corpora.POSITIVE]["text"], False),
        "en_banking77_requests": (corpora.banking77(data, "test")["text"], False),
        "en_endava_tickets": (corpora.endava(data)["text"], False),
        "zh_afqmc_questions": (afqmc_dev, False),
        "zh_smp2017_requests": (corpora.smp2017(data, "test")["text"], False),
        "zh_written_requests": (pd.Series(WRITTEN_REQUESTS.read_text(encoding="utf-8").splitlines()), False),
    }  # fmt: skip


def default_anger(data: Path, encoder: SentenceEncoder | None = None) -> dict[str, Any]:
    """Precision and recall of the anger alert, and its rate on each assembled set."""
    scorer = _sentiment_scorer(encoder)
    flagged, angry, rates, read_negative = [], [], {}, {}
    for name, (texts, is_angry) in anger_sets(data).items():
        scores = scorer.batch(texts.tolist())
        alert = np.array([s.anger >= ANGRY_THRESHOLD for s in scores])
        rates[name] = float(alert.mean())
        read_negative[name] = float(np.mean([s.label == corpora.NEGATIVE for s in scores]))
        flagged.append(alert)
        angry.append(np.full(len(alert), is_angry))
    alert, truth = np.concatenate(flagged), np.concatenate(angry)
    # Reported beside the real sets, not pooled with them: our templated demo tickets, whose `neutral` label means a
    # calm tone, complaints included ("the agent hung up on me", written calmly).
    demo = pd.read_csv(DEMO_TICKETS, dtype=str, keep_default_na=False)
    for language in ("en", "zh"):
        calm = demo[(demo["language"] == language) & (demo["sentiment"] == corpora.NEUTRAL)]
        texts = (calm["subject"] + "\n" + calm["body"]).str.strip().tolist()
        rates[f"demo_{language}_calm_tone"] = float(np.mean([s.anger >= ANGRY_THRESHOLD for s in scorer.batch(texts)]))
    routine = [rates[k] for k in ("en_banking77_requests", "en_endava_tickets", "zh_afqmc_questions",
                                  "zh_smp2017_requests", "zh_written_requests")]  # fmt: skip
    return {
        "n_test": int(len(alert)), "anger_precision": float(truth[alert].mean()), "anger_recall": float(alert[truth].mean()),
        "en_recall": rates["en_negative_unanimous"], "zh_recall": rates["zh_negative_reviews"],
        "routine_false_alert_max": float(max(routine)), "calm_false_alert": float(alert[~truth].mean()),
        "alert_rate": rates, "read_negative": read_negative,
    }  # fmt: skip


def default_urgency(data: Path, encoder: SentenceEncoder | None = None) -> dict[str, Any]:
    """The urgency stage (shipped model + rules + anger) on the Endava test split and on IT help-desk tickets."""
    frame = corpora.endava(data).rename(columns={"urgency": "label"})
    _, test = corpora.seeded_split(frame.reset_index(drop=True), "label")
    urgency = UrgencyScorer(load_artifact(str(PRETRAINED_DIR / "urgency")), encoder)  # type: ignore[arg-type]
    sentiment = _sentiment_scorer(encoder)

    def levels(texts: list[str]) -> np.ndarray:
        pairs = zip(urgency.batch(texts), sentiment.batch(texts), strict=True)
        return np.array([str(apply_context(u, ticket=None, sentiment=s).level) for u, s in pairs], dtype=object)

    predicted = levels(test["text"].tolist())
    gold = test["label"].map(ENDAVA_URGENCY).to_numpy(dtype=object)
    labels = sorted(ENDAVA_URGENCY.values())
    it = corpora.sample(corpora.it_service_without_endava(data), IT_SAMPLE)
    it_levels = levels(it["text"].tolist())
    majority = np.full(len(gold), pd.Series(gold).mode()[0], dtype=object)
    recall = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)[1]
    return {
        "n_test": len(test), "accuracy": float((predicted == gold).mean()),
        "macro_f1": float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)),
        "baseline_macro_f1": float(f1_score(gold, majority, labels=labels, average="macro", zero_division=0)),
        "recall_per_level": dict(zip(labels, map(float, recall), strict=True)),
        "it_service_level_share": {level: float((it_levels == level).mean()) for level in labels},
    }  # fmt: skip


def banking77_taxonomy(labels: list[str]) -> Taxonomy:
    """A taxonomy generated from Banking77's label names alone: ``card_arrival`` -> "Card arrival"."""
    return Taxonomy.of(
        Category(label, team="support", skill="banking", names={"en": label.replace("_", " ")},
                 descriptions={"en": label.replace("_", " ").capitalize()})
        for label in labels
    )  # fmt: skip


def zero_shot_banking77(data: Path, encoder: SentenceEncoder) -> dict[str, Any]:
    """Zero-shot Banking77: label names as descriptions, no training rows, the default abstain threshold."""
    test = corpora.banking77(data, "test")
    classifier = ZeroShotClassifier(banking77_taxonomy(sorted(test["label"].unique())), encoder)
    predictions = zero_shot_predictions(classifier, test["text"].tolist())
    gold = test["label"].to_numpy(dtype=object)
    correct = np.asarray(predictions.labels, dtype=object) == gold
    accepted = ~predictions.abstained
    return {
        "n_test": len(test), "accuracy": float(correct.mean()), "coverage": float(accepted.mean()),
        "accepted_accuracy": float(correct[accepted].mean()), "abstain_threshold": classifier.abstain_threshold,
        "ece": expected_calibration_error(predictions.confidences, correct),
        "temperature": classifier.model.temperature,
    }  # fmt: skip

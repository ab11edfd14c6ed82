"""The default models that ship with the repository, and the one command that rebuilds each from ../shared/data.

``python -m training.default_models sentiment`` (or ``urgency``, or ``all``) rebuilds ``models/pretrained/<task>/``
from the same rows: every sample is seeded, and so are the folds of the head. A rebuild predicts identically (checked:
probabilities equal to the last digit on 800 test texts); the pickle's bytes, and so its digest, differ with
Python's string-hash seed, which orders the n-gram vocabularies.

Both defaults are **text-only** heads (character and jieba-word n-grams, lexical cues; no embedding view): they
need no encoder, so they serve beside any ``TRIAGE_ENCODER`` and survive changes of the embedding layout, and
the sentiment stage can score the cleaned newest message without a second encoder pass.

* **sentiment** (negative / neutral / positive, English and Chinese): airline tweets (the *train* part of the
  benchmark split only), ChnSentiCorp *train*, online_shopping_10_cats reviews (500 per category, every
  near-duplicate of a ChnSentiCorp test text removed), and calm customer requests as ``neutral``: Banking77
  *train* queries, ATEC customer-service questions (every AFQMC dev question removed), SMP2017 *train* requests
  and IT help-desk tickets disjoint from the Endava subset.
* **urgency** (P1..P4): the Endava tickets' urgency (0 = most urgent .. 3; the *train* part of the benchmark
  split) and the bundled demo tickets. The urgency stage adds the rules (keywords, tier, anger, repeats).

The card (``meta.json``) lists each corpus with its rows, licence and what the licence permits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.estimators import HybridTextClassifier
from models.features import TextFeatures
from models.loading import TEXT_ONLY_ENCODER, ModelArtifact, ModelCard, ScopeModel, library_versions, save_artifact
from training import corpora
from training.train import load_training_config
from triage.config import REGISTERED_MODEL_NAMES
from triage.kernel.message import new_message

PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "models" / "pretrained"
DEMO_TICKETS = Path(__file__).resolve().parents[1] / "demo" / "tickets.csv"
#: Endava urgency codes (0 most urgent) as the P1..P4 ladder.
ENDAVA_URGENCY = {"0": "P1", "1": "P2", "2": "P3", "3": "P4"}

#: What each corpus's licence says, as its README in ../shared/data states it.
LICENCES: dict[str, tuple[str, str]] = {
    "airline_tweets_sentiment": (
        "not stated by the source; commonly redistributed as CC BY-NC-SA 4.0 (unverified)",
        "non-commercial use; share alike",
    ),
    "chnsenticorp": ("no licence stated for the data; LUGE agreement: non-commercial research and teaching",
                     "non-commercial research and teaching"),
    "online_shopping_10_cats": ("no licence stated; collected from the web, author unknown", "research and evaluation"),
    "banking77": ("CC BY 4.0", "any use, with attribution (Casanueva et al. 2020)"),
    "atec_afqmc": ("no licence stated; released for the ATEC 2018 contest", "research and evaluation"),
    "smp2017_ecdt_intent": ("no licence stated; released to SMP2017-ECDT participants", "research and evaluation"),
    "it_service_tickets": ("CC0 (as quoted from Kaggle)", "any use"),
    "endava_tickets_subset": ("no licence stated for the data (code MIT)", "research and evaluation"),
    "demo": ("this repository's licence (written by the project)", "any use under the repository licence"),
}  # fmt: skip
#: The shipped weights inherit the most restrictive of these; the README and the card say so.
USE_NOTE = (
    "Trained on corpora whose licences allow research or non-commercial use only (see training_data). Use this "
    "default to evaluate the product; before commercial use, train your own sentiment model on your tickets "
    "(`triage train --task sentiment`) and promote it through the champion gate."
)

SENTIMENT_SAMPLES = {"online_shopping_per_category": 500, "banking77": 1500, "atec": 12000, "smp2017": 1844, "it": 800}


def _neutral(texts: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"text": texts.tolist(), "label": corpora.NEUTRAL})


def sentiment_training_set(data: Path) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The default sentiment model's rows (``text``, ``label``, ``corpus``) and their provenance."""
    samples = SENTIMENT_SAMPLES
    airline_train, _ = corpora.airline(data)
    shopping_train, _ = corpora.online_shopping_sentiment(data)
    atec, _ = corpora.afqmc_questions(data)
    smp = corpora.smp2017(data, "train")
    it = corpora.it_service_without_endava(data)
    parts = {
        "airline_tweets_sentiment": airline_train,
        "chnsenticorp": corpora.chnsenticorp(data, "train"),
        "online_shopping_10_cats": corpora.sample(
            shopping_train, samples["online_shopping_per_category"], by="category"
        )[["text", "label"]],
        "banking77": _neutral(corpora.sample(corpora.banking77(data, "train"), samples["banking77"])["text"]),
        "atec_afqmc": _neutral(corpora.sample(atec.to_frame("text"), samples["atec"])["text"]),
        "smp2017_ecdt_intent": _neutral(corpora.sample(smp[smp["label"] != "chat"], samples["smp2017"])["text"]),
        "it_service_tickets": _neutral(corpora.sample(it, samples["it"])["text"]),
    }
    roles = {
        "airline_tweets_sentiment": "train part of the benchmark split (deduplicated by tweet id, stratified 80/20, "
        "seed 42); labels negative/neutral/positive",
        "chnsenticorp": "train split; 0 -> negative, 1 -> positive",
        "online_shopping_10_cats": "500 reviews per category from the train part of a seeded 80/20 split, every "
        "near-duplicate of a ChnSentiCorp test text removed; 0 -> negative, 1 -> positive",
        "banking77": "seeded sample of train queries, labelled neutral (calm customer requests)",
        "atec_afqmc": "seeded sample of ATEC questions (AFQMC dev questions removed), labelled neutral",
        "smp2017_ecdt_intent": "seeded sample of train requests (no `chat` rows), labelled neutral",
        "it_service_tickets": "seeded sample of tickets whose text is not an Endava-subset ticket, labelled neutral",
    }
    frame = pd.concat([part.assign(corpus=name) for name, part in parts.items()], ignore_index=True)
    return frame, _provenance(frame, roles)


def urgency_training_set(data: Path) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The default urgency model's rows: Endava train part (urgency as P1..P4) and the demo tickets."""
    frame = corpora.endava(data).rename(columns={"urgency": "label"})
    train, _ = corpora.seeded_split(frame[["text", "label"]].reset_index(drop=True), "label")
    train = train.assign(label=train["label"].map(ENDAVA_URGENCY), corpus="endava_tickets_subset")
    demo = pd.read_csv(DEMO_TICKETS, dtype=str, keep_default_na=False)
    demo = pd.DataFrame({"text": (demo["subject"] + "\n" + demo["body"]).str.strip(), "label": demo["urgency"],
                         "corpus": "demo"})  # fmt: skip
    frame = pd.concat([train, demo], ignore_index=True)
    roles = {
        "endava_tickets_subset": "train part of the benchmark split (stratified 80/20, seed 42); urgency 0..3 as "
        "P1..P4",
        "demo": "demo/tickets.csv (written by the project), subject + body, urgency P1..P4",
    }
    return frame, _provenance(frame, roles)


def _provenance(frame: pd.DataFrame, roles: dict[str, str]) -> list[dict[str, Any]]:
    counts = frame["corpus"].value_counts()
    return [
        {"name": name, "rows": int(counts.get(name, 0)), "use": role, "licence": LICENCES[name][0],
         "permits": LICENCES[name][1]}
        for name, role in roles.items()
    ]  # fmt: skip


TRAINING_SETS = {"sentiment": sentiment_training_set, "urgency": urgency_training_set}


def build_default(task: str, *, data: Path | None = None, out: Path | None = None, progress: bool = True) -> Path:
    """Fit a default head on its training set and save it (with its model card) under ``out``/``task``.

    Returns:
        The artifact folder.
    """
    data = data or corpora.shared_data_dir()
    folder = (out or PRETRAINED_DIR) / task
    frame, provenance = TRAINING_SETS[task](data)
    texts = [new_message(text) for text in frame["text"]]
    labels = frame["label"].tolist()
    config = load_training_config(task, Path(__file__).parent / "configs" / f"default_{task}.toml")
    params = {k: v for k, v in config.items() if not isinstance(v, dict)}
    head = HybridTextClassifier(**params)
    head.fit(TextFeatures(texts, np.zeros((len(texts), 0), dtype=np.float32)), labels,
             progress=(lambda m: print(f"[default {task}] {m}", file=sys.stderr)) if progress else None)  # fmt: skip
    card = ModelCard(
        name=REGISTERED_MODEL_NAMES[task],
        task=task,
        labels=[str(c) for c in head.classes_],
        encoder_id=TEXT_ONLY_ENCODER,
        encoder_dim=0,
        abstain_threshold=float(head.abstain_threshold_),
        scope_threshold=0.0,
        data_fingerprint=f"{len(frame)} rows",
        n_train=len(frame),
        params={
            **head.get_params(),
            **head.pool_weights(),
            **({"label_order": ["P1", "P2", "P3", "P4"]} if task == "urgency" else {}),
            "use": USE_NOTE,
            "rebuild": f"python -m training.default_models {task}",
        },  # fmt: skip
        version=f"{REGISTERED_MODEL_NAMES[task]}/shipped-default",
        created_at=dt.datetime.now(dt.UTC).date().isoformat(),
        libraries=library_versions(),
        training_data=provenance,
    )
    scope = ScopeModel(centroids=np.zeros((0, 0), dtype=np.float32), threshold=0.0)
    return save_artifact(ModelArtifact(estimator=head, card=card, scope=scope), folder)


def main(argv: list[str] | None = None) -> int:
    """``python -m training.default_models {sentiment,urgency,all}``: rebuild the shipped default models."""
    parser = argparse.ArgumentParser(prog="python -m training.default_models", description=main.__doc__)
    parser.add_argument("task", choices=[*TRAINING_SETS, "all"])
    parser.add_argument("--out", type=Path, default=PRETRAINED_DIR, help="folder of the task folders")
    args = parser.parse_args(argv)
    if not corpora.shared_data_dir().is_dir():
        parser.error(f"datasets not found at {corpora.shared_data_dir()}; set TRIAGE_SHARED_DATA")
    for task in TRAINING_SETS if args.task == "all" else [args.task]:
        folder = build_default(task, out=args.out)
        meta = json.loads((folder / "meta.json").read_text())
        print(json.dumps({"task": task, "folder": str(folder), "n_train": meta["n_train"],
                          "view_weights": meta["params"]["view_weights"]}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The accuracy benchmarks on ../shared/data: dataset splits and one function per table row.

Each benchmark writes plain ``text,label`` CSV files (train and test) into a scratch folder and runs
the product's own ``train_task`` on them, so the figures are what ``triage train``/``triage evaluate``
would report. Used by ``notebooks/evaluation.ipynb`` and the slow tests; rows never leave the scratch folder.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from models.encoder import SentenceEncoder
from training.train import train_task
from triage.config import Settings, configure_offline_environment

SEED = 42


def shared_data_dir() -> Path:
    """$TRIAGE_SHARED_DATA, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("TRIAGE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def _seeded_split(frame: pd.DataFrame, label: str, *, test_share: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified, seeded split (the same rows every run)."""
    rng = np.random.default_rng(SEED)
    test_index = []
    for _, group in frame.groupby(label, sort=True):
        index = group.index.to_numpy().copy()
        rng.shuffle(index)
        test_index.extend(index[: int(round(len(index) * test_share))])
    test = frame.loc[sorted(test_index)]
    return frame.drop(index=test.index), test


@dataclass(frozen=True)
class Benchmark:
    """One row of the accuracy table."""

    key: str
    task: str
    dataset: str
    split: str
    bar: str
    published: str
    prepare: Callable[[Path], tuple[pd.DataFrame, pd.DataFrame]]


def _banking77(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    read = lambda name: pd.read_csv(data / "banking77" / name, dtype=str, keep_default_na=False)  # noqa: E731
    return read("train.csv"), read("test.csv")


def _chnsenticorp(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    read = lambda name: pd.read_csv(data / "chnsenticorp" / name, dtype=str, keep_default_na=False)  # noqa: E731
    return read("train.csv")[["text", "label"]], read("test.csv")[["text", "label"]]


def _airline(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(data / "airline_tweets_sentiment" / "data.csv", dtype=str, keep_default_na=False)
    frame = frame.drop_duplicates("tweet_id").rename(columns={"sentiment": "label"})[["text", "label"]]
    return _seeded_split(frame.reset_index(drop=True), "label")


#: Reviews kept per online_shopping category: 9,575 of 62,774 rows. Encoding all of them takes about
#: 40 minutes on 2 cores, too long for CI; the full-data figure is in the README.
ONLINE_SHOPPING_PER_CATEGORY = 1_000


def _online_shopping(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(data / "online_shopping_10_cats" / "data.csv", dtype=str, keep_default_na=False)
    frame = frame[frame["review"].str.strip() != ""]
    frame = frame.drop(columns=["label"]).rename(columns={"review": "text", "category": "label"})  # label = category
    frame = frame.sample(frac=1.0, random_state=SEED).groupby("label").head(ONLINE_SHOPPING_PER_CATEGORY)
    return _seeded_split(frame[["text", "label"]].reset_index(drop=True), "label")


def _endava(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(data / "endava_tickets_subset" / "data.csv", dtype=str, keep_default_na=False)
    frame = frame.assign(text=(frame["title"] + "\n" + frame["body"]).str.strip(), label=frame["urgency"])
    return _seeded_split(frame[["text", "label"]].reset_index(drop=True), "label")


BENCHMARKS = (
    Benchmark("banking77", "category", "banking77", "train → test", "accuracy ≥ 0.945, ECE ≤ 0.03, accepted ≥ 0.98",
              "BERT fine-tuned 0.9366", _banking77),
    Benchmark("chnsenticorp", "sentiment", "chnsenticorp", "train → test", "accuracy ≥ 0.950",
              "RoBERTa-wwm-ext-large 0.958", _chnsenticorp),
    Benchmark("airline", "sentiment", "airline_tweets_sentiment", "seeded 80/20", "negative recall ≥ 0.90",
              "-", _airline),
    Benchmark("online_shopping", "category", "online_shopping_10_cats", "≤1,000 per category, seeded 80/20", "report",
              "-", _online_shopping),
    Benchmark("endava_urgency", "urgency", "endava_tickets_subset", "seeded 80/20", "macro-F1 ≫ majority baseline",
              "-", _endava),
)  # fmt: skip
BY_KEY = {b.key: b for b in BENCHMARKS}


def write_splits(benchmark: Benchmark, folder: Path, *, data: Path | None = None) -> tuple[Path, Path]:
    """Materialise a benchmark's train/test CSVs (columns text,label) in ``folder``."""
    train, test = benchmark.prepare(data or shared_data_dir())
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / f"{benchmark.key}-train.csv", folder / f"{benchmark.key}-test.csv"
    train[["text", "label"]].to_csv(paths[0], index=False)
    test[["text", "label"]].to_csv(paths[1], index=False)
    return paths


def majority_baseline(train_labels: pd.Series, test_labels: pd.Series) -> dict[str, float]:
    """Accuracy and macro-F1 of always predicting the most frequent training label."""
    majority = train_labels.value_counts().idxmax()
    predicted = np.full(len(test_labels), majority, dtype=object)
    return {
        "accuracy": float((test_labels.to_numpy() == majority).mean()),
        "macro_f1": float(f1_score(test_labels.to_numpy(dtype=object), predicted, average="macro", zero_division=0)),
    }


def run_benchmark(benchmark: Benchmark, scratch: Path, settings: Settings, *, encoder: SentenceEncoder | None = None,
                  data: Path | None = None) -> dict[str, object]:  # fmt: skip
    """Train and evaluate one benchmark with the product's ``train_task``; returns its table row."""
    train_csv, test_csv = write_splits(benchmark, scratch / "splits", data=data)
    started = time.perf_counter()
    outcome = train_task(task=benchmark.task, data_path=train_csv, test_path=test_csv, settings=settings,
                         encoder=encoder, progress=False)  # fmt: skip
    m = outcome.metrics
    row: dict[str, object] = {
        "dataset": benchmark.dataset, "task": benchmark.task, "split": benchmark.split, "n_test": m["n"],
        "accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "ece": m["ece"], "coverage": m["coverage"],
        "accepted_accuracy": m["accepted_accuracy"], "train_s": outcome.train_seconds,
        "total_s": round(time.perf_counter() - started, 1), "bar": benchmark.bar, "published": benchmark.published,
    }  # fmt: skip
    if benchmark.task == "sentiment" and "negative" in m["per_label"]:
        row["negative_recall"] = m["per_label"]["negative"]["recall"]
    if benchmark.task == "urgency":
        labels = [pd.read_csv(path, dtype=str, keep_default_na=False)["label"] for path in (train_csv, test_csv)]
        row["baseline_macro_f1"] = majority_baseline(*labels)["macro_f1"]
    return row


def main(argv: list[str] | None = None) -> int:
    """``python -m training.benchmarks KEY...``: one JSON row per benchmark, in a scratch MLflow store."""
    parser = argparse.ArgumentParser(prog="python -m training.benchmarks", description=main.__doc__)
    parser.add_argument("keys", nargs="+", choices=sorted(BY_KEY), help="benchmarks to run")
    args = parser.parse_args(argv)
    if not shared_data_dir().is_dir():
        parser.error(f"datasets not found at {shared_data_dir()}; set TRIAGE_SHARED_DATA")
    configure_offline_environment()
    scratch = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    settings = Settings(home=scratch / "home")
    for key in args.keys:
        print(json.dumps({"key": key, **run_benchmark(BY_KEY[key], scratch, settings)}, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

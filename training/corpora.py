"""Real public corpora in ../shared/data, read into plain ``text,label`` frames.

One place for the splits every figure depends on: the benchmark rows (``training/benchmarks.py``), the shipped
default models (``training/default_models.py``) and their evaluations read the same rows, so a default model is
never measured on text it was trained on. Rows are read at run time and never copied into the repository.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer

SEED = 42
#: Sentiment labels of the shipped default (and of the binary Chinese corpora once mapped).
NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
_BINARY_SENTIMENT = {"0": NEGATIVE, "1": POSITIVE}
#: ChnSentiCorp and online_shopping hold the same reviews: a review is a near-duplicate of a test text when their
#: character 4-gram sets have Jaccard >= 0.5, or the shorter is >= 80% contained in the longer.
NEAR_DUPLICATE_JACCARD = 0.5
NEAR_DUPLICATE_CONTAINMENT = 0.8


def shared_data_dir() -> Path:
    """$TRIAGE_SHARED_DATA, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("TRIAGE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def read_csv(data: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(data / name, dtype=str, keep_default_na=False)


def seeded_split(frame: pd.DataFrame, label: str, *, test_share: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified, seeded split (the same rows every run)."""
    rng = np.random.default_rng(SEED)
    test_index = []
    for _, group in frame.groupby(label, sort=True):
        index = group.index.to_numpy().copy()
        rng.shuffle(index)
        test_index.extend(index[: int(round(len(index) * test_share))])
    test = frame.loc[sorted(test_index)]
    return frame.drop(index=test.index), test


def airline(data: Path, *, columns: tuple[str, ...] = ("text", "label")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Airline tweets, deduplicated by tweet id, stratified 80/20 with :data:`SEED` (the benchmark split)."""
    frame = read_csv(data, "airline_tweets_sentiment/data.csv").drop_duplicates("tweet_id")
    frame = frame.rename(columns={"sentiment": "label"}).reset_index(drop=True)
    train, test = seeded_split(frame, "label")
    return train[list(columns)], test[list(columns)]


def chnsenticorp(data: Path, split: str) -> pd.DataFrame:
    """ChnSentiCorp ``train``/``validation``/``test`` with labels ``negative``/``positive``."""
    frame = read_csv(data, f"chnsenticorp/{split}.csv")[["text", "label"]]
    return frame.assign(label=frame["label"].map(_BINARY_SENTIMENT))


def near_duplicates(texts: pd.Series, of: pd.Series) -> np.ndarray:
    """Boolean mask over ``texts``: which are exact or near-duplicates of some text in ``of``."""
    vectorizer = CountVectorizer(analyzer="char", ngram_range=(4, 4), binary=True, lowercase=False)
    reference = vectorizer.fit_transform(of.tolist())
    candidates = vectorizer.transform(texts.tolist())
    overlap = (candidates @ reference.T).tocoo()
    own = np.asarray(candidates.sum(axis=1)).ravel()
    other = np.asarray(reference.sum(axis=1)).ravel()
    shared = overlap.data
    jaccard = shared / np.maximum(own[overlap.row] + other[overlap.col] - shared, 1)
    shorter = np.minimum(own[overlap.row], other[overlap.col])
    containment = shared / np.maximum(shorter, 1)
    close = (jaccard >= NEAR_DUPLICATE_JACCARD) | ((containment >= NEAR_DUPLICATE_CONTAINMENT) & (shorter >= 8))
    mask = np.zeros(len(texts), dtype=bool)
    mask[overlap.row[close]] = True
    return mask | texts.isin(set(of)).to_numpy()


def _distinct_reviews(data: Path, without: pd.Series, categories: Sequence[str] | None = None) -> pd.DataFrame:
    """online_shopping_10_cats rows (``review``, ``category``, ``label`` as in the file) with a non-empty review,
    optionally of some ``categories`` only, minus every exact or near-duplicate of a text in ``without``, each
    review once."""
    frame = read_csv(data, "online_shopping_10_cats/data.csv")
    frame = frame[frame["review"].str.strip() != ""]
    if categories:
        frame = frame[frame["category"].isin(categories)]
    return frame[~near_duplicates(frame["review"], without)].drop_duplicates("review")


def online_shopping_reviews(data: Path, without: pd.Series, categories: Sequence[str] | None = None) -> pd.DataFrame:
    """Distinct online_shopping_10_cats reviews (``text``, ``label`` 0 negative / 1 positive), optionally of some
    ``categories`` only, minus every exact or near-duplicate of a text in ``without``."""
    frame = _distinct_reviews(data, without, categories)
    return pd.DataFrame({"text": frame["review"].to_numpy(), "label": frame["label"].astype(int).to_numpy()})


def online_shopping_sentiment(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """online_shopping_10_cats reviews with sentiment labels, minus every near-duplicate of a ChnSentiCorp test
    text, split 80/20 by (category, label) with :data:`SEED`. Columns ``text``, ``label``, ``category``."""
    frame = _distinct_reviews(data, chnsenticorp(data, "test")["text"])
    frame = frame.assign(text=frame["review"], label=frame["label"].map(_BINARY_SENTIMENT)).reset_index(drop=True)
    frame["stratum"] = frame["category"] + "/" + frame["label"]
    train, test = seeded_split(frame, "stratum")
    return train[["text", "label", "category"]], test[["text", "label", "category"]]


def banking77(data: Path, split: str) -> pd.DataFrame:
    return read_csv(data, f"banking77/{split}.csv")[["text", "label"]]


def afqmc_questions(data: Path) -> tuple[pd.Series, pd.Series]:
    """Distinct Alipay customer-service questions: (from the ATEC training pairs, from the AFQMC dev pairs), with
    every dev question removed from the first."""
    atec = read_csv(data, "atec_afqmc/atec_train.csv")
    dev = read_csv(data, "atec_afqmc/afqmc_dev.csv")
    dev_questions = pd.Series(pd.unique(pd.concat([dev["sentence1"], dev["sentence2"]])))
    atec_questions = pd.Series(pd.unique(pd.concat([atec["sentence1"], atec["sentence2"]])))
    return atec_questions[~atec_questions.isin(set(dev_questions))].reset_index(drop=True), dev_questions


def smp2017(data: Path, split: str) -> pd.DataFrame:
    return read_csv(data, f"smp2017_ecdt_intent/{split}.csv")[["text", "label"]]


def endava(data: Path) -> pd.DataFrame:
    """Endava tickets: ``text`` (title + body), ``urgency`` (0 most urgent .. 3), ``ticket_type``."""
    frame = read_csv(data, "endava_tickets_subset/data.csv")
    return frame.assign(text=(frame["title"] + "\n" + frame["body"]).str.strip())[["text", "urgency", "ticket_type"]]


def it_service(data: Path) -> pd.DataFrame:
    return read_csv(data, "it_service_tickets/data.csv")[["text", "topic_group"]]


def it_service_without_endava(data: Path) -> pd.DataFrame:
    """IT help-desk tickets whose text is not an Endava-subset ticket (the two share 5,324 texts, as title + body)."""
    frame = read_csv(data, "endava_tickets_subset/data.csv")
    endava_texts = set((frame["title"] + " " + frame["body"]).str.strip())
    tickets = it_service(data)
    return tickets[~tickets["text"].str.strip().isin(endava_texts)]


def sample(frame: pd.DataFrame, n: int, *, by: str | None = None, seed: int = SEED) -> pd.DataFrame:
    """A seeded sample of ``n`` rows (``n`` per group of ``by``), fewer where there are fewer."""
    shuffled = frame.sample(frac=1.0, random_state=seed)
    return (shuffled.groupby(by, sort=True).head(n) if by else shuffled.head(n)).sort_index()

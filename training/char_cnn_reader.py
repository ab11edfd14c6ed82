"""Pretrain the character CNN's shared reader (``models/pretrained/char_cnn_reader/``) on Chinese review sentiment.

``python -m training.char_cnn_reader`` (about 4 minutes on 2 cores) rebuilds it from ../shared/data, seeded:

1. rows: online_shopping_10_cats reviews with their sentiment labels, minus every exact or near-duplicate of
   **any** ChnSentiCorp text (train, validation and test), so no ChnSentiCorp review reaches the reader;
2. character vectors from those reviews: positive PMI of co-occurrence within 3 characters, reduced by SVD;
3. the CNN (:mod:`models.char_cnn`) trained from those vectors for 2 epochs to tell negative from positive.

The ``char_cnn`` view fine-tunes this reader on a task's rows. ``meta.json`` records the rows, the corpus's licence
and the file's SHA-256.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sparse
from sklearn.decomposition import TruncatedSVD

from models.char_cnn import READER_DIR, extend_vocabulary, train_network, weight_names
from models.digest import sha256
from training import corpora
from training.default_models import LICENCES, USE_NOTE

#: Reader training: epochs and Adam step (fine-tuning then uses the view's own, smaller step).
READER_EPOCHS, READER_LEARNING_RATE = 2, 2e-3


def character_embeddings(texts: Sequence[str], *, dim: int = 64, window: int = 3) -> dict[str, np.ndarray]:
    """Character vectors from positive PMI of co-occurrence within ``window`` characters, reduced by SVD."""
    counts = Counter(ch for text in texts for ch in text.lower())
    vocabulary = {ch: i for i, (ch, n) in enumerate(counts.most_common()) if n >= 3}
    rows: list[int] = []
    cols: list[int] = []
    for text in texts:
        ids = [vocabulary[ch] for ch in text.lower() if ch in vocabulary]
        for distance in range(1, window + 1):
            rows += ids[:-distance]
            cols += ids[distance:]
    shape = (len(vocabulary), len(vocabulary))
    pairs = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=shape).tocsr()
    pairs = (pairs + pairs.T).tocoo()
    total, row_sums = pairs.sum(), np.asarray(pairs.sum(axis=1)).ravel()
    context = row_sums**0.75 / (row_sums**0.75).sum()  # context smoothing, as in word2vec
    pmi = np.log(pairs.data / total / (row_sums[pairs.row] / total) / context[pairs.col])
    keep = pmi > 0
    ppmi = sparse.csr_matrix((pmi[keep], (pairs.row[keep], pairs.col[keep])), shape=shape)
    vectors = TruncatedSVD(dim, random_state=0).fit_transform(ppmi)
    vectors = 0.5 * vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-6, None)
    return {ch: vectors[i].astype(np.float32) for ch, i in vocabulary.items()}


def reader_rows(data: Path) -> pd.DataFrame:
    """online_shopping reviews (``text``, ``label`` 0 negative / 1 positive) sharing no review with ChnSentiCorp."""
    chnsenticorp = pd.concat([corpora.chnsenticorp(data, split)["text"] for split in ("train", "validation", "test")])
    return corpora.online_shopping_reviews(data, chnsenticorp)


def build_reader(data: Path, out: Path = READER_DIR) -> Path:
    started = time.perf_counter()
    rows = reader_rows(data)
    texts = rows["text"].tolist()
    vocabulary = extend_vocabulary(texts)
    characters = list(vocabulary)  # in id order
    weights = train_network(
        texts, rows["label"].to_numpy(), vocabulary=vocabulary, n_classes=2,
        embedding_init=character_embeddings(texts), epochs=READER_EPOCHS, learning_rate=READER_LEARNING_RATE,
    )  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "weights.npz", characters=np.array(characters), **{n: weights[n] for n in weight_names()})
    licence, permits = LICENCES["online_shopping_10_cats"]
    meta = {
        "what": "character CNN reader: embeddings and convolutions the char_cnn view fine-tunes",
        "rebuild": "python -m training.char_cnn_reader",
        "training_data": [{"name": "online_shopping_10_cats", "rows": len(rows), "licence": licence,
                           "permits": permits, "use": "sentiment labels; every exact or near-duplicate of any "
                                                      "ChnSentiCorp text removed"}],  # fmt: skip
        "characters": len(characters),
        "epochs": READER_EPOCHS,
        "train_seconds": round(time.perf_counter() - started, 1),
        "use": USE_NOTE,
        "sha256": sha256(out / "weights.npz"),
        "created_at": dt.datetime.now(dt.UTC).date().isoformat(),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.char_cnn_reader", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=READER_DIR, help="folder of weights.npz and meta.json")
    args = parser.parse_args(argv)
    if not corpora.shared_data_dir().is_dir():
        parser.error(f"datasets not found at {corpora.shared_data_dir()}; set TRIAGE_SHARED_DATA")
    folder = build_reader(corpora.shared_data_dir(), args.out)
    print(json.dumps(json.loads((folder / "meta.json").read_text()), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

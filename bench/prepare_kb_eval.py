"""Turn the shared datasets into the generic files ``triage kb evaluate`` reads.

    .venv/bin/python bench/prepare_kb_eval.py --out /tmp/kb_eval

writes, per dataset, ``<name>/articles.csv`` (id,title,body) and ``<name>/queries.csv``
(query,article_id), and ``afqmc/dup_train.csv`` / ``afqmc/dup_eval.csv`` (sentence1,sentence2,label)
for the duplicate-flag threshold. Nothing is copied into the repository. Exits 0 with a message
when the data folder is absent.

* ``stackfaq``: faq.csv is the base (title = question, body = answer), queries.csv the queries.
* ``afqmc``: AFQMC dev cast as retrieval: each positive pair's sentence2 is an article, sentence1
  the query (deduplicated).
* duplicates: the threshold is chosen on ATEC train; AFQMC dev pairs that also occur in ATEC train
  are removed from the evaluation pairs (README: 1682 of them).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    return Path(os.environ.get("TRIAGE_SHARED_DATA", REPO.parent / "shared" / "data"))


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def prepare_stackfaq(src: Path, out: Path) -> None:
    faq = _read(src / "faq.csv")
    _write(out / "articles.csv", ["id", "title", "body"], [[r["faq_id"], r["question"], r["answer"]] for r in faq])
    queries = _read(src / "queries.csv")
    _write(out / "queries.csv", ["query", "article_id"], [[r["query"], r["faq_id"]] for r in queries])


def prepare_afqmc(src: Path, out: Path, *, train_pairs: int) -> None:
    dev = _read(src / "afqmc_dev.csv")
    articles: dict[str, str] = {}
    queries: list[list[str]] = []
    for row in dev:
        if row["label"] != "1":
            continue
        s1, s2 = row["sentence1"].strip(), row["sentence2"].strip()
        article_id = articles.setdefault(s2, f"q{len(articles)}")
        queries.append([s1, article_id])
    _write(out / "articles.csv", ["id", "title", "body"], [[i, text, ""] for text, i in articles.items()])
    _write(out / "queries.csv", ["query", "article_id"], [list(q) for q in dict.fromkeys(map(tuple, queries))])
    train = _read(src / "atec_train.csv")
    seen = {(r["sentence1"].strip().lstrip("\ufeff"), r["sentence2"].strip()) for r in train}
    # A fixed, stratified-by-order sample keeps encoding time small on a 2-core machine.
    step = max(1, len(train) // train_pairs)
    sample = [[r["sentence1"].strip().lstrip("\ufeff"), r["sentence2"].strip(), r["label"]] for r in train[::step]]
    _write(out / "dup_train.csv", ["sentence1", "sentence2", "label"], sample)
    evaluation = [
        [r["sentence1"].strip(), r["sentence2"].strip(), r["label"]]
        for r in dev
        if (r["sentence1"].strip(), r["sentence2"].strip()) not in seen
    ]
    _write(out / "dup_eval.csv", ["sentence1", "sentence2", "label"], evaluation)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/kb_eval", help="output folder (outside the repository)")
    parser.add_argument("--train-pairs", type=int, default=4000, help="ATEC pairs used to pick the threshold")
    args = parser.parse_args(argv)
    src = data_dir()
    if not src.is_dir():
        print(f"skipped: shared datasets not found at {src} (set TRIAGE_SHARED_DATA)", file=sys.stderr)
        return 0
    out = Path(args.out)
    prepare_stackfaq(src / "stackfaq", out / "stackfaq")
    prepare_afqmc(src / "atec_afqmc", out / "afqmc", train_pairs=args.train_pairs)
    for path in sorted(out.rglob("*.csv")):
        print(f"{path}\t{sum(1 for _ in path.open(encoding='utf-8')) - 1} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())

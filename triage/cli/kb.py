"""``triage kb``: build, update, search and evaluate the knowledge-base index."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from kb_index.documents import load_articles
from kb_index.evaluate import best_threshold, duplicate_metrics, load_queries, retrieval_metrics
from kb_index.knowledge_base import KnowledgeBase
from kb_index.ranking import SearchConfig
from kb_index.snapshots import CURRENT
from models.encoder import MemoizedEncoder, SentenceEncoder
from triage.config import get_settings
from triage.engine.factory import load_configured_encoder
from triage.engine.similar import DEFAULT_DUPLICATE_THRESHOLD, embed_tickets
from triage.kernel.errors import InvalidDataset


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``kb`` sub-commands."""
    commands = parser.add_subparsers(dest="kb_command", required=True, metavar="KB_COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--encoder", choices=("minilm", "use", "minilm+use"), help="default: TRIAGE_ENCODER")

    def ranking(p: argparse.ArgumentParser) -> None:
        p.add_argument("--mode", choices=("hybrid", "semantic", "lexical"), default="hybrid")
        p.add_argument("--fusion", choices=("weighted", "rrf"), default="weighted")
        p.add_argument(
            "--semantic-weight",
            type=float,
            help="weight of the cosine in hybrid fusion (default: 0.8 for English, 0.5 for Chinese queries); sets both",
        )

    build = commands.add_parser("build", help="index a folder of Markdown articles or an articles CSV")
    build.add_argument("--articles", required=True, help="folder of .md files, or CSV with id,title,body")
    build.add_argument("--out", help="index folder (default: TRIAGE_KB_DIR or var/kb)")
    build.add_argument("--kind", choices=("flat", "hnsw"), help="default: flat up to 50k vectors, then hnsw")
    common(build)
    build.set_defaults(handler=_build)

    add = commands.add_parser("add", help="add/update articles, or ingest one resolved ticket's solution")
    add.add_argument("--kb", help="index folder (default: TRIAGE_KB_DIR or var/kb)")
    add.add_argument("--articles", help="folder or CSV of articles to add or update")
    add.add_argument("--ticket-id", help="resolved ticket whose solution is ingested")
    add.add_argument("--solution", help="solution text (with --ticket-id)")
    add.add_argument("--title", default="", help="title of the solution entry")
    add.add_argument("--retire", action="append", default=[], metavar="ARTICLE_ID", help="retire an article")
    common(add)
    add.set_defaults(handler=_add)

    search = commands.add_parser("search", help="print the top-k suggestions for a text as JSON")
    search.add_argument("text")
    search.add_argument("-k", type=int, default=5)
    search.add_argument("--kb", help="index folder (default: TRIAGE_KB_DIR or var/kb)")
    common(search)
    ranking(search)
    search.set_defaults(handler=_search)

    evaluate = commands.add_parser("evaluate", help="recall@k, MRR, NDCG@10 over a queries CSV (query,article_id)")
    evaluate.add_argument("--kb", required=True, help="index folder, or articles folder/CSV to index in memory")
    evaluate.add_argument("--queries", required=True, help="CSV with columns query,article_id")
    evaluate.add_argument("-k", type=int, default=10)
    common(evaluate)
    ranking(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    duplicates = commands.add_parser(
        "duplicates", help="pick the duplicate-flag threshold on labelled pairs and report precision/recall"
    )
    duplicates.add_argument("--train", required=True, help="CSV sentence1,sentence2,label to choose the threshold")
    duplicates.add_argument("--eval", required=True, help="CSV sentence1,sentence2,label to report on")
    common(duplicates)
    duplicates.set_defaults(handler=_duplicates)


def _encoder(args: argparse.Namespace) -> MemoizedEncoder:
    name = args.encoder or get_settings().encoder
    try:
        return MemoizedEncoder(load_configured_encoder(get_settings(), name=name), max_size=0)
    except ValueError as exc:
        raise InvalidDataset(str(exc)) from exc


def _kb_dir(value: str | None) -> Path:
    return Path(value) if value else get_settings().resolved_kb_dir


def _config(args: argparse.Namespace) -> SearchConfig:
    weights = {} if args.semantic_weight is None else {"semantic_weight": args.semantic_weight,
                                                       "semantic_weight_zh": args.semantic_weight}  # fmt: skip
    return SearchConfig(mode=args.mode, fusion=args.fusion, **weights)


def _build(args: argparse.Namespace) -> int:
    articles = load_articles(args.articles)
    started = time.perf_counter()
    kb = KnowledgeBase.build(articles, _encoder(args), kind=args.kind, show_progress=True)
    folder = kb.save(_kb_dir(args.out))
    report = {"articles": len(kb), "index_kind": kb.index_kind, "snapshot": str(folder),
              "seconds": round(time.perf_counter() - started, 2)}  # fmt: skip
    print(json.dumps(report))
    return 0


def _add(args: argparse.Namespace) -> int:
    if not (args.articles or args.ticket_id or args.retire):
        raise InvalidDataset("nothing to add: pass --articles, --ticket-id with --solution, or --retire")
    if bool(args.ticket_id) != bool(args.solution):
        raise InvalidDataset("--ticket-id and --solution go together")
    folder = _kb_dir(args.kb)
    kb = KnowledgeBase.load(folder, _encoder(args))
    report: dict[str, object] = {}
    if args.articles:
        report["upserted"] = kb.upsert(load_articles(args.articles), show_progress=True)
    if args.ticket_id:
        result = kb.add_solution(ticket_id=args.ticket_id, solution=args.solution, title=args.title)
        report["solution"] = {
            "article_id": result.article_id,
            "created": result.created,
            "duplicate_of": result.duplicate_of,
            "similarity": round(result.similarity, 4),
        }
    for article_id in args.retire:
        try:
            kb.retire(article_id)
        except KeyError as exc:
            raise InvalidDataset(f"cannot retire {article_id!r}: no such article in {folder}") from exc
    report["retired"] = args.retire
    report["snapshot"] = str(kb.save(folder))
    print(json.dumps(report, ensure_ascii=False))
    return 0


def _search(args: argparse.Namespace) -> int:
    kb = KnowledgeBase.load(_kb_dir(args.kb), _encoder(args), config=_config(args))
    print(json.dumps([asdict(s) for s in kb.search(args.text, args.k)], ensure_ascii=False, indent=2))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    relevant = load_queries(args.queries)
    encoder = _encoder(args)
    source = Path(args.kb)
    if (source / CURRENT).is_file():
        kb = KnowledgeBase.load(source, encoder, config=_config(args))
    else:
        kb = KnowledgeBase.build(load_articles(source), encoder, config=_config(args), show_progress=True)
    queries = list(relevant)
    started = time.perf_counter()
    rankings = []
    batch = 64
    for i in range(0, len(queries), batch):
        rankings.extend([[s.article_id for s in r] for r in kb.search_batch(queries[i : i + batch], max(args.k, 10))])
        print(f"\rqueries {min(i + batch, len(queries))}/{len(queries)}", end="", file=sys.stderr)
    print(file=sys.stderr)
    metrics = retrieval_metrics(rankings, [relevant[q] for q in queries])
    metrics = {key: (int(v) if key == "n" else round(v, 4)) for key, v in metrics.items()}
    metrics.update(mode=args.mode, fusion=args.fusion, semantic_weight=args.semantic_weight, encoder=encoder.id,
                   seconds=round(time.perf_counter() - started, 2))  # fmt: skip
    print(json.dumps(metrics))
    return 0


def _read_pairs(path: str) -> tuple[list[str], list[str], list[int]]:
    file = Path(path)
    if not file.is_file():
        raise InvalidDataset(f"pairs file {file} does not exist")
    with file.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("sentence1", "sentence2", "label") if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidDataset(f"{file}: missing column(s) {', '.join(missing)}; expected sentence1,sentence2,label")
        rows = list(reader)
    if not rows:
        raise InvalidDataset(f"{file}: no pairs")
    return [r["sentence1"] for r in rows], [r["sentence2"] for r in rows], [int(r["label"]) for r in rows]


def _pair_scores(encoder: SentenceEncoder, left: list[str], right: list[str]) -> list[float]:
    a, b = embed_tickets(encoder, left), embed_tickets(encoder, right)
    return [float(x) for x in (a * b).sum(axis=1)]


def _duplicates(args: argparse.Namespace) -> int:
    encoder = _encoder(args)
    train_left, train_right, train_labels = _read_pairs(args.train)
    eval_left, eval_right, eval_labels = _read_pairs(args.eval)
    train_scores = _pair_scores(encoder, train_left, train_right)
    eval_scores = _pair_scores(encoder, eval_left, eval_right)
    chosen = best_threshold(train_scores, train_labels)

    def rounded(metrics: dict[str, float]) -> dict[str, float]:
        return {k: round(v, 4) for k, v in metrics.items()}

    report = {
        "encoder": encoder.id,
        "chosen_on_train": rounded(duplicate_metrics(eval_scores, eval_labels, chosen)),
        "at_default_threshold": rounded(duplicate_metrics(eval_scores, eval_labels, DEFAULT_DUPLICATE_THRESHOLD)),
        "train_f1_at_chosen": round(duplicate_metrics(train_scores, train_labels, chosen)["f1"], 4),
    }
    print(json.dumps(report))
    return 0

"""MiniLM per runtime, and each tuning knob measured on its own: batch size, intra-op threads, spin-waiting,
the tokenizer's length cap, and USE's threads. Also how close each runtime's embeddings are to torch's, and
(with ``--agreement`` and ../shared/data) whether a Banking77 head trained on torch embeddings still agrees
when it is fed int8 ones.

Run: ``.venv/bin/python -m bench encoders [--json] [--agreement]`` (about 5 minutes on 2 cores; the agreement
adds about 5 more). Texts are the English demo tickets, or with ``--texts it_service`` a sample of the real
IT tickets in ../shared/data. Each row is the best of ``--repeats`` passes over the same texts, in one process;
``cpu s`` is the process CPU time of that pass (steadier than wall time when the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime
import pandas as pd
from sklearn.linear_model import LogisticRegression

from models.encoder import DEFAULT_THREADS, USEEncoder, load_minilm, minilm_weights
from models.onnx_minilm import OnnxMiniLMEncoder, ensure_exported, load_tokenizer, session_options
from triage.config import Settings, configure_offline_environment
from triage.kernel.language import detect_language

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TRIAGE_SHARED_DATA", REPO.parent / "shared" / "data"))


def _texts(source: str, n: int) -> list[str]:
    if source == "it_service":
        frame = pd.read_csv(DATA / "it_service_tickets" / "data.csv")
        return frame["text"].dropna().astype(str).sample(n, random_state=0).tolist()
    frame = pd.read_csv(REPO / "demo" / "tickets.csv", dtype=str, keep_default_na=False)
    texts = (frame["subject"] + "\n" + frame["body"]).tolist()
    return [t for t in texts if detect_language(t).language == "en"][:n]


def _long_texts(n: int) -> list[str]:
    """Long texts for the length cap: StackFAQ questions with their answers, else four demo tickets joined."""
    if (DATA / "stackfaq" / "faq.csv").exists():
        faq = pd.read_csv(DATA / "stackfaq" / "faq.csv")
        return (faq["question"] + "\n" + faq["answer"]).dropna().astype(str).tolist()[:n]
    short = _texts("demo", 4 * n)
    return [" ".join(short[i : i + 4]) for i in range(0, len(short), 4)]


def _time(encode: Callable[[list[str]], np.ndarray], texts: list[str], repeats: int) -> tuple[float, float]:
    encode(texts[:16])  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        encode(texts)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return len(texts) / min(wall), min(cpu)


def _onnx(precision: str, cache: Path, *, threads: int = DEFAULT_THREADS, spinning: bool = False, batch_size: int | None = None,
          max_length: int | None = None) -> OnnxMiniLMEncoder:  # fmt: skip
    source, digest = minilm_weights()
    model = ensure_exported(cache, source, weights_sha256=digest, precision=precision)
    options = session_options(threads, spinning=spinning)
    session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    return OnnxMiniLMEncoder(session, load_tokenizer(source, max_length=max_length), revision=digest[:12],
                             precision=precision, batch_size=batch_size)  # fmt: skip


def run(texts: list[str], long_texts: list[str], cache: Path, repeats: int) -> list[dict[str, object]]:
    torch_encoder = load_minilm(runtime="torch")
    references = {id(texts): torch_encoder.encode(texts), id(long_texts): torch_encoder.encode(long_texts)}
    rows: list[dict[str, object]] = []

    def row(knob: str, setting: str, encoder: object, *, compare: bool = True, on: list[str] = texts) -> None:
        rate, cpu = _time(encoder.encode, on, repeats)
        label = setting + (f" ({len(on)} long texts)" if on is long_texts else "")
        entry: dict[str, object] = {"knob": knob, "setting": label, "sentences_per_s": round(rate, 1),
                                    "cpu_s": round(cpu, 2)}  # fmt: skip
        if compare:
            cosine = np.sum(encoder.encode(on) * references[id(on)], axis=1)
            entry |= {"cos_mean": round(float(cosine.mean()), 5), "cos_p1": round(float(np.percentile(cosine, 1)), 4)}
        rows.append(entry)
        print(f"[bench] {entry}", file=sys.stderr, flush=True)

    row("runtime", "torch fp32, batch 32 (sentence-transformers), 1 thread", torch_encoder)
    for precision in ("fp32", "int8"):
        for size in (1, 8, 32):
            row("batch size", f"onnx-{precision}, batch {size}", _onnx(precision, cache, batch_size=size))
    for threads in (1, 2):
        row("intra-op threads", f"onnx-int8, {threads} thread(s)", _onnx("int8", cache, threads=threads))
    use = USEEncoder.load()
    for spinning in (True, False):
        minilm = _onnx("int8", cache, threads=2, spinning=spinning)
        both = _Interleaved(minilm, use)  # spinning only costs when other work follows on the same cores
        row("spin-waiting", f"onnx-int8 (2 threads) then USE per 8 texts, spinning {'on' if spinning else 'off'}", both,
            compare=False)  # fmt: skip
    for cap in (256, 128, 64):
        row("length cap", f"onnx-int8, {cap} word pieces", _onnx("int8", cache, max_length=cap), on=long_texts)
    for threads in (1, 2):
        row("USE threads", f"USE numpy, {threads} BLAS thread(s)", USEEncoder.load(threads=threads), compare=False)
    return rows


class _Interleaved:
    """MiniLM then USE on every 8 texts, as a pipeline batch does."""

    def __init__(self, minilm: OnnxMiniLMEncoder, use: USEEncoder) -> None:
        self.minilm, self.use = minilm, use

    def encode(self, texts: list[str]) -> np.ndarray:
        for start in range(0, len(texts), 8):
            self.minilm.encode(texts[start : start + 8])
            self.use.encode(texts[start : start + 8])
        return np.zeros((len(texts), 1))


def agreement(cache: Path) -> dict[str, object]:
    """Banking77: a logistic regression on torch MiniLM embeddings, fed torch, onnx-fp32 and onnx-int8 test embeddings."""
    train = pd.read_csv(DATA / "banking77" / "train.csv")
    test = pd.read_csv(DATA / "banking77" / "test.csv")
    runtimes = {name: load_minilm(runtime=name, cache_dir=cache) for name in ("torch", "onnx-fp32", "onnx-int8")}
    head = LogisticRegression(C=10, max_iter=2000).fit(runtimes["torch"].encode(train["text"].tolist()), train["label"])
    predicted = {name: head.predict(encoder.encode(test["text"].tolist())) for name, encoder in runtimes.items()}
    truth = test["label"].to_numpy()
    return {
        "head": "LogisticRegression(C=10) on torch MiniLM embeddings of banking77 train",
        "accuracy": {name: round(float((p == truth).mean()), 4) for name, p in predicted.items()},
        "agreement_with_torch": {name: round(float((p == predicted["torch"]).mean()), 4) for name, p in predicted.items()},
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench encoders", description=__doc__.split("\n")[0])
    parser.add_argument("--texts", choices=("demo", "it_service"), default="demo")
    parser.add_argument("-n", type=int, default=256, help="texts per pass")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--agreement", action="store_true", help="also the Banking77 head agreement (needs the data)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    configure_offline_environment()
    cache = Settings().resolved_encoder_cache_dir.resolve()
    load = os.getloadavg()
    report: dict[str, object] = {"benchmark": "encoders", "texts": args.texts, "n": args.n,
                                 "rows": run(_texts(args.texts, args.n), _long_texts(args.n // 2), cache, args.repeats)}  # fmt: skip
    if args.agreement:
        report["banking77_agreement"] = agreement(cache)
    report["load_average"] = {"start": [round(x, 2) for x in load], "end": [round(x, 2) for x in os.getloadavg()]}
    if args.json:
        print(json.dumps(report))
        return 0
    columns = ("knob", "setting", "sentences_per_s", "cpu_s", "cos_mean", "cos_p1")
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for r in report["rows"]:
        print("| " + " | ".join(str(r.get(c, "")) for c in columns) + " |")
    if args.agreement:
        print(json.dumps(report["banking77_agreement"]))
    print(f"load average {report['load_average']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

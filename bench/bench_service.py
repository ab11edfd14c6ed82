"""The service end to end over HTTP on loopback: a burst of 200 concurrent submissions (SQLite and PostgreSQL), and
sustained throughput with micro-batching against a naive build that triages one ticket per encoder call.

Run: ``.venv/bin/python -m bench service`` (about 2 minutes on 2 cores; the first run also trains the default
models on the demo tickets into ``bench/results/models``). PostgreSQL rows run when
``TRIAGE_BENCH_POSTGRES_URL`` (or ``TRIAGE_TEST_POSTGRES_URL``) names a database this benchmark may fill.

"End to end" means: HTTP request, ticket persisted, triaged by the worker, routed, SLA clock started. Throughput is
measured from the first submission until the last ticket is triaged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import func, select, text

from bench.harness import REPO, ServerProcess, demo_texts, prepare_models, ticket_payload, triage_env
from bench.receiver import Receiver
from kb_index.knowledge_base import FORMAT_VERSION as KB_FORMAT
from models.loading import FORMAT_VERSION as MODEL_FORMAT
from triage.adapters.bootstrap import build_service
from triage.adapters.sql import tables as t
from triage.adapters.sql.engine import make_engine
from triage.adapters.sql.migrate import upgrade
from triage.config import Settings, configure_offline_environment
from triage.kernel.clock import utc_now
from triage.kernel.vocabulary import Role
from triage.services.audit import SYSTEM
from triage.services.keys import create_key

RESULTS = REPO / "bench" / "results"
BURST = 200
SUSTAINED = 480
CLIENTS = 32


def _postgres_url() -> str | None:
    return os.environ.get("TRIAGE_BENCH_POSTGRES_URL") or os.environ.get("TRIAGE_TEST_POSTGRES_URL")


def _database(backend: str, folder: Path) -> tuple[str, object]:
    if backend == "sqlite":
        url = f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        return url, lambda: None
    base = _postgres_url()
    assert base is not None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}", drop


def _prepare(backend: str, folder: Path, models: dict[str, str], **settings: object) -> tuple[dict[str, str], str, str, object]:
    url, drop = _database(backend, folder)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    values = {"home": folder / "home", "database_url": url, "reload_seconds": 0, **models, **settings}
    service = build_service(Settings(**values))  # type: ignore[arg-type]
    key, _ = create_key(service.start, service.desk, role=Role.INTAKE, name="bench", now=utc_now(), actor=SYSTEM)
    service.stop()
    return triage_env(**values), key, url, drop


def _triaged(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        done = connection.execute(select(func.count()).select_from(t.tickets).where(t.tickets.c.triage_state == "done")).scalar()
    engine.dispose()
    return int(done or 0)


def _wait_triaged(url: str, count: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _triaged(url) >= count:
            return time.monotonic()
        time.sleep(0.05)
    raise TimeoutError(f"only {_triaged(url)} of {count} tickets were triaged within {timeout} s")


async def _burst(base: str, key: str, payloads: list[dict]) -> list[tuple[int, float]]:
    limits = httpx.Limits(max_connections=len(payloads) + 10)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

        async def one(payload: dict) -> tuple[int, float]:
            started = time.perf_counter()
            response = await client.post("/api/v1/tickets", json=payload, headers={"Authorization": f"Bearer {key}"})
            return response.status_code, time.perf_counter() - started

        return await asyncio.gather(*(one(p) for p in payloads))


async def _sustained(base: str, key: str, payloads: list[dict], clients: int) -> list[int]:
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for payload in payloads:
        queue.put_nowait(payload)
    codes: list[int] = []
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=httpx.Limits(max_connections=clients + 5)) as client:

        async def worker() -> None:
            while not queue.empty():
                payload = queue.get_nowait()
                response = await client.post("/api/v1/tickets", json=payload, headers={"Authorization": f"Bearer {key}"})
                codes.append(response.status_code)

        await asyncio.gather(*(worker() for _ in range(clients)))
    return codes


def burst(backend: str, folder: Path, models: dict[str, str]) -> dict[str, object]:
    env, key, url, drop = _prepare(backend, folder, models)
    texts = demo_texts()
    payloads = [ticket_payload(i, texts[i % len(texts)]) for i in range(BURST)]
    try:
        with ServerProcess(env, log=folder / f"burst-{backend}.log") as server:
            started = time.monotonic()
            results = asyncio.run(_burst(server.url, key, payloads))
            answered = time.monotonic()
            finished = _wait_triaged(url, BURST)
        latencies = [seconds * 1000 for _, seconds in results]
        errors = sum(1 for code, _ in results if code not in (200, 201))
        return {
            "run": f"burst of {BURST}", "database": backend, "errors": errors, "stored": _count(url),
            "triaged": _triaged(url), "p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "p99_ms": round(float(np.percentile(latencies, 99)), 1),
            "answered_s": round(answered - started, 2),
            "tickets_per_s": round(BURST / (finished - started), 1),
        }  # fmt: skip
    finally:
        drop()  # type: ignore[operator]


def _count(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(t.tickets)).scalar()
    engine.dispose()
    return int(total or 0)


def sustained(folder: Path, models: dict[str, str], *, batch_max: int, label: str) -> dict[str, object]:
    env, key, url, drop = _prepare("sqlite", folder, models, batch_max=batch_max,
                                   batch_wait_ms=5 if batch_max > 1 else 0)  # fmt: skip
    texts = demo_texts()
    payloads = [ticket_payload(i, texts[(i * 7) % len(texts)]) for i in range(SUSTAINED)]
    try:
        with ServerProcess(env, log=folder / f"sustained-{label}.log") as server:
            started = time.monotonic()
            codes = asyncio.run(_sustained(server.url, key, payloads, CLIENTS))
            finished = _wait_triaged(url, SUSTAINED)
        return {"run": label, "database": "sqlite", "errors": sum(c not in (200, 201) for c in codes),
                "tickets": SUSTAINED, "clients": CLIENTS, "batch_max": batch_max,
                "tickets_per_s": round(SUSTAINED / (finished - started), 1)}  # fmt: skip
    finally:
        drop()  # type: ignore[operator]


ANGRY_TEXTS = [
    ("THIS IS UNACCEPTABLE", "Third time I write!! Your service is terrible, the worst ever. Fix my account NOW!!"),
    ("退款到底什么时候到", "太过分了！！第三次投诉了，垃圾服务，马上退钱！！"),
]


def _stream_alerts(base: str, key: str, seen: dict[str, float], stop: threading.Event) -> None:
    with httpx.stream("GET", f"{base}/api/v1/alerts/stream", headers={"Authorization": f"Bearer {key}"},
                      timeout=None) as response:  # fmt: skip
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line.startswith("data:"):
                number = json.loads(line[5:])["ticket"]["number"]
                seen.setdefault(number, time.monotonic())


def alert_latency(folder: Path, models: dict[str, str], tickets: int = 50) -> dict[str, object]:
    """An angry ticket posted through the API: time until it reaches an open SSE stream and a signed webhook."""
    env, _, url, drop = _prepare("sqlite", folder, models)
    settings = Settings(home=folder / "home", database_url=url, **models)  # type: ignore[arg-type]
    service = build_service(settings)
    admin, _ = create_key(service.start, service.desk, role=Role.ADMIN, name="bench-admin", now=utc_now(), actor=SYSTEM)
    intake, _ = create_key(service.start, service.desk, role=Role.INTAKE, name="bench-intake", now=utc_now(), actor=SYSTEM)
    service.stop()
    receiver = Receiver("b" * 32).start()
    try:
        with ServerProcess(env, log=folder / "alerts.log") as server:
            auth = {"Authorization": f"Bearer {admin}"}
            httpx.post(f"{server.url}/api/v1/admin/webhooks", headers=auth, timeout=10,
                       json={"url": receiver.url, "secret": "b" * 32, "events": ["angry_customer"]}).raise_for_status()  # fmt: skip
            streamed: dict[str, float] = {}
            stop = threading.Event()
            threading.Thread(target=_stream_alerts, args=(server.url, admin, streamed, stop), daemon=True).start()
            time.sleep(1.0)
            sent: dict[str, float] = {}
            for i in range(tickets):
                subject, body = ANGRY_TEXTS[i % len(ANGRY_TEXTS)]
                started = time.monotonic()
                response = httpx.post(f"{server.url}/api/v1/tickets", headers={"Authorization": f"Bearer {intake}"},
                                      json={"subject": subject, "body": f"{body} #{i}", "customer": {"id": f"C-{i}"}},
                                      timeout=30)  # fmt: skip
                sent[response.json()["number"]] = started
                time.sleep(0.2)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (len(streamed) < len(sent) or len(receiver.events) < len(sent)):
                time.sleep(0.1)
            stop.set()
        hooked = {e["body"]["ticket"]["number"]: e["received"] for e in receiver.events}
        sse = [streamed[n] - t0 for n, t0 in sent.items() if n in streamed]
        web = [hooked[n] - t0 for n, t0 in sent.items() if n in hooked]
        return {"run": f"angry ticket -> alert ({tickets})", "database": "sqlite", "errors": receiver.rejected,
                "alerted": f"{len(sse)} SSE / {len(web)} webhook",
                "p50_ms": round(float(np.percentile(sse, 50)) * 1000, 1) if sse else None,
                "p95_ms": round(float(np.percentile(sse, 95)) * 1000, 1) if sse else None,
                "webhook_p95_ms": round(float(np.percentile(web, 95)) * 1000, 1) if web else None}  # fmt: skip
    finally:
        receiver.stop()
        drop()  # type: ignore[operator]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", default="minilm+use", help="encoder backend of the served models")
    parser.add_argument("--skip", default="", help="comma-separated: burst,sustained,alerts")
    args = parser.parse_args(argv)
    configure_offline_environment()
    RESULTS.mkdir(parents=True, exist_ok=True)
    # Keyed by both artifact formats: heads or a KB from an older release are retrained, never served stale.
    models_dir = RESULTS / "models" / f"{args.encoder.replace('+', '-')}-f{MODEL_FORMAT}-kb{KB_FORMAT}"
    if (models_dir / "kb" / "CURRENT").exists():
        models = {"encoder": args.encoder, "kb_dir": str(models_dir / "kb"),
                  **{f"{task}_model": str(models_dir / task) for task in ("category", "urgency", "sentiment")}}  # fmt: skip
    else:
        print(f"[bench] training {args.encoder} models on the demo tickets into {models_dir} ...", flush=True)
        models = prepare_models(models_dir, encoder_name=args.encoder)
    skip = set(filter(None, args.skip.split(",")))
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-service-") as scratch:
        folder = Path(scratch)
        if "burst" not in skip:
            for backend in ("sqlite", *(["postgres"] if _postgres_url() else [])):
                print(f"[bench] burst on {backend} ...", flush=True)
                rows.append(burst(backend, folder, models))
        if "sustained" not in skip:
            for batch_max, label in ((32, "sustained, micro-batched"), (1, "sustained, naive (batch of 1)")):
                print(f"[bench] {label} ...", flush=True)
                rows.append(sustained(folder, models, batch_max=batch_max, label=label))
        if "alerts" not in skip:
            print("[bench] angry ticket to SSE and webhook ...", flush=True)
            rows.append(alert_latency(folder, models))
    batched = next((r for r in rows if r["run"] == "sustained, micro-batched"), None)
    naive = next((r for r in rows if r["run"] == "sustained, naive (batch of 1)"), None)
    report = {"encoder": args.encoder, "cores": os.cpu_count(), "rows": rows}
    if batched and naive:
        report["speed_up"] = round(float(batched["tickets_per_s"]) / float(naive["tickets_per_s"]), 2)
    (RESULTS / "service.json").write_text(json.dumps(report, indent=2))
    columns = ("run", "database", "errors", "stored", "triaged", "alerted", "p50_ms", "p95_ms", "p99_ms",
               "webhook_p95_ms", "tickets_per_s")  # fmt: skip
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row.get(c, "-")) for c in columns) + " |")
    if "speed_up" in report:
        print(f"\nmicro-batching speed-up: {report['speed_up']}x ({batched['tickets_per_s']} vs {naive['tickets_per_s']} "
              f"tickets/s end to end, {CLIENTS} clients, {SUSTAINED} tickets)")
    print(f"encoder {args.encoder}, {os.cpu_count()} cores; JSON in {RESULTS / 'service.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run real ``triage serve`` processes on loopback for the service benchmarks and the crash/scale-out tests.

Everything here targets 127.0.0.1 only.
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pandas as pd

from kb_index.documents import load_articles
from kb_index.knowledge_base import KnowledgeBase
from models.encoder import MemoizedEncoder, SentenceEncoder, load_encoder
from models.loading import save_artifact
from training.data import load_labelled
from training.train import fit_artifact, load_training_config

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, *, timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """Poll ``url``/readyz until it answers 200 (True), ``alive()`` turns false or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def triage_env(**settings: object) -> dict[str, str]:
    """The environment of a child process: the parent's plus ``TRIAGE_<NAME>`` for each setting given."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "MLFLOW_DISABLE_TELEMETRY": "true",
           "PYTHONPATH": str(REPO)}  # fmt: skip
    env.update({f"TRIAGE_{name.upper()}": str(value) for name, value in settings.items()})
    return env


def run_cli(*args: str, env: Mapping[str, str]) -> str:
    """Run ``triage <args>`` and return its stdout (raises on a non-zero exit)."""
    done = subprocess.run([sys.executable, "-m", "triage.cli.main", *args], cwd=REPO, env=dict(env),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"triage {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


@dataclass
class ServerProcess:
    """A ``triage serve`` child process."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    log: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, ready_timeout: float = 180.0) -> ServerProcess:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "triage.cli.main", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO, env=self.env, stdout=out, stderr=out,
        )  # fmt: skip
        process = self.process
        if wait_ready(self.url, timeout=ready_timeout, alive=lambda: process.poll() is None):
            return self
        if process.poll() is not None:
            raise RuntimeError(f"triage serve exited with {process.returncode}; see {self.log}")
        self.stop()
        raise TimeoutError(f"triage serve was not ready within {ready_timeout} s; see {self.log}")

    def kill(self) -> None:
        """``kill -9``: no shutdown hook runs."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM and wait (graceful shutdown)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ticket_payload(i: int, text: str, *, tier: str = "standard") -> dict[str, object]:
    subject, _, body = text.partition("\n")
    return {"subject": subject[:200], "body": f"{body} (ref {i})", "customer": {"id": f"C-{i % 97}", "tier": tier},
            "channel": "api"}  # fmt: skip


def demo_texts() -> list[str]:
    """Distinct demo ticket texts (written by this project)."""
    with open(REPO / "demo" / "tickets.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return list(dict.fromkeys(f"{r['subject']}\n{r['body']}" for r in rows))


def prepare_models(
    folder: Path, *, encoder_name: str, sample: float = 1.0, encoder: SentenceEncoder | None = None
) -> dict[str, str]:
    """Train the three heads on the demo tickets and build the demo KB, as folders a server can load.

    Args:
        folder: Where the heads and the KB are saved.
        encoder_name: The encoder backend the server will load.
        sample: Share of the demo tickets to train on (tests train on half).
        encoder: That backend, already loaded (on another runtime or layout); loaded by name otherwise.

    Returns:
        The settings that point a service at them (``category_model`` ... ``kb_dir``, ``encoder``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    tickets = REPO / "demo" / "tickets.csv"
    if sample < 1.0:
        frame = pd.read_csv(tickets, dtype=str, keep_default_na=False).sample(frac=sample, random_state=1)
        tickets = folder / "tickets.csv"
        frame.to_csv(tickets, index=False)
    encoder = MemoizedEncoder(encoder or load_encoder(encoder_name), max_size=20_000)
    settings: dict[str, str] = {"encoder": encoder_name}
    for task in ("category", "urgency", "sentiment"):
        data = load_labelled(tickets, text_col="subject,body", label_col=task)
        params = {k: v for k, v in load_training_config(task).items() if not isinstance(v, dict)}
        save_artifact(fit_artifact(task=task, train=data, encoder=encoder, params=params, progress=False), folder / task)
        settings[f"{task}_model"] = str(folder / task)
    KnowledgeBase.build(load_articles(REPO / "demo" / "kb"), encoder).save(folder / "kb")
    settings["kb_dir"] = str(folder / "kb")
    return settings

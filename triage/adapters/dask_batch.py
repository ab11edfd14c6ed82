"""Batch triage on a Dask distributed cluster (``triage classify --cluster ADDRESS``).

* **Partitions** are the row groups of the input Parquet files (one file, or every ``*.parquet`` in a folder,
  in name order). Partition ``i`` is written to ``part-<i>.parquet`` in the output folder with exactly its input
  rows, in their order, plus the ``triage_*`` columns; ``_manifest.json`` maps each part to its source.
* **Models load once per worker:** a worker plugin builds the triage pipeline when the worker joins, and every
  partition on that worker streams through it. The client pins ``models:/...@champion`` to the version it
  points to at submission, so every worker serves the same models even if the alias moves mid-run.
* **Row logic** is :func:`triage.services.batch_triage.triage_table`, the same as the single-process command:
  every row is kept, untriageable rows get ``triage_error``.
* **Failures:** a partition whose task fails (an exception, a worker that died) is submitted again, up to
  ``retries`` times, and each retry is reported. A partition that fails every attempt is listed in the manifest
  and the run raises :class:`~triage.kernel.errors.BatchIncomplete`: rows are never dropped silently.

``ADDRESS`` is ``local:N`` (a local cluster of N worker processes, one thread each, the cores split between
them) or a scheduler address such as ``tcp://scheduler:8786``. On a real cluster the input, output, model and
knowledge-base paths must be on storage every worker can read (and write, for the output).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
from distributed import Client, LocalCluster, WorkerPlugin, as_completed, get_worker

from triage.adapters.taxonomy_file import load_taxonomy
from triage.config import Settings
from triage.engine.factory import ZERO_SHOT, build_pipeline, pinned_model_uri
from triage.engine.pipeline import TriagePipeline
from triage.kernel.errors import BatchIncomplete, InvalidDataset
from triage.services.batch_triage import as_text_table, resolve_text_columns, triage_table

PLUGIN_NAME = "triage-pipeline"
MANIFEST = "_manifest.json"
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class Partition:
    """One row group of one input file."""

    index: int
    source: str
    row_group: int
    rows: int

    @property
    def output_name(self) -> str:
        return f"part-{self.index:05d}.parquet"


@dataclass
class PartitionOutcome:
    """What happened to a partition: written (its rows with a triage_error, where, by whom) or failed (the last error)."""

    partition: Partition
    attempts: int = 0
    error_rows: int = 0
    worker: str = ""
    seconds: float = 0.0
    error: str = ""


@dataclass
class ClusterRun:
    """The result of a cluster run, also written to ``_manifest.json``."""

    source: str
    target: str
    address: str
    models: dict[str, str]
    partitions: list[PartitionOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(p.partition.rows for p in self.partitions if not p.error)

    @property
    def error_rows(self) -> int:
        return sum(p.error_rows for p in self.partitions if not p.error)

    @property
    def failed_partitions(self) -> list[PartitionOutcome]:
        return [p for p in self.partitions if p.error]


class PipelinePlugin(WorkerPlugin):
    """Builds the triage pipeline once per worker, from settings the client resolved.

    Args:
        settings: Absolute paths and pinned model versions (see :func:`worker_settings`).
    """

    name = PLUGIN_NAME

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pipeline: TriagePipeline | None = None

    def build(self) -> TriagePipeline:
        return build_pipeline(self.settings, taxonomy=load_taxonomy(self.settings.resolved_taxonomy_file))

    def setup(self, worker: object) -> None:
        self.pipeline = self.build()


def plan_partitions(source: Path) -> list[Partition]:
    """Every row group of the Parquet file ``source``, or of every Parquet file in the folder ``source``.

    Raises:
        FileNotFoundError: no such path.
        InvalidDataset: no Parquet file there, an unreadable one, or no rows at all.
    """
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(2, "No such file or folder", str(source))
    files = sorted(p for p in source.iterdir() if p.suffix.lower() in PARQUET_SUFFIXES) if source.is_dir() else [source]
    if not files or any(p.suffix.lower() not in PARQUET_SUFFIXES for p in files):
        raise InvalidDataset(f"--in {source}: a cluster run reads a Parquet file or a folder of *.parquet files")
    partitions = []
    for path in files:
        try:
            metadata = pq.ParquetFile(path).metadata
        except (OSError, ValueError) as exc:  # pyarrow raises ArrowInvalid (a ValueError) on a corrupt file
            raise InvalidDataset(f"cannot read {path}: {exc}") from exc
        for group in range(metadata.num_row_groups):
            rows = metadata.row_group(group).num_rows
            partitions.append(Partition(len(partitions), str(path.resolve()), group, rows))
    if not partitions:
        raise InvalidDataset(f"--in {source}: the Parquet input has no rows to triage")
    return partitions


def worker_settings(settings: Settings) -> Settings:
    """``settings`` as workers need them: absolute paths, and registry aliases pinned to today's versions (or to
    the fallback a default URI with no champion serves)."""

    def model(task: str) -> str:
        pinned = pinned_model_uri(settings, task)
        return pinned if pinned.startswith("models:/") or pinned == ZERO_SHOT else str(Path(pinned).resolve())

    return settings.model_copy(
        update={
            "home": settings.home.resolve(), "mlflow_tracking_uri": settings.resolved_mlflow_uri,
            "kb_dir": settings.resolved_kb_dir.resolve(),
            "encoder_cache_dir": settings.resolved_encoder_cache_dir.resolve(),
            "category_model": model("category"), "urgency_model": model("urgency"),
            "sentiment_model": model("sentiment"), "taxonomy_file": settings.resolved_taxonomy_file.resolve(),
        }
    )  # fmt: skip


def triage_partition(partition: Partition, *, target: str, columns: list[str], max_chars: int) -> dict[str, object]:
    """Runs on a worker: read one row group, triage it with the worker's pipeline, write its part atomically."""
    worker = get_worker()
    pipeline = worker.plugins[PLUGIN_NAME].pipeline
    started = time.perf_counter()
    frame = as_text_table(pq.ParquetFile(partition.source).read_row_group(partition.row_group).to_pandas())
    result = triage_table(frame, columns=columns, pipeline=pipeline, max_chars=max_chars)
    final = Path(target) / partition.output_name
    staging = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    result.frame.to_parquet(staging, index=False)
    os.replace(staging, final)
    return {"error_rows": result.failed, "worker": worker.address, "seconds": round(time.perf_counter() - started, 3)}


def local_workers(address: str) -> int | None:
    """N for ``local:N``; None for a scheduler address.

    Raises:
        InvalidDataset: ``local:`` without a positive worker count.
    """
    if not address.startswith("local:"):
        return None
    count = address.removeprefix("local:")
    if not count.isdigit() or int(count) < 1:
        raise InvalidDataset(f"--cluster {address}: use local:N with N >= 1 workers, or a scheduler address")
    return int(count)


def _connect(address: str) -> tuple[Client, LocalCluster | None]:
    """A client for ``local:N`` (a new local cluster of single-threaded workers) or a scheduler address."""
    workers = local_workers(address)
    if workers is not None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(address, timeout="30s"), None
    except (OSError, TimeoutError) as exc:
        raise InvalidDataset(f"--cluster {address}: cannot reach the scheduler ({exc})") from exc


def classify_on_cluster(
    source: Path,
    target: Path,
    *,
    address: str,
    settings: Settings,
    text_col: str | None = None,
    retries: int = 2,
    report: Callable[[str], None] = print,
    on_partition: Callable[[int], None] | None = None,
    plugin: PipelinePlugin | None = None,
) -> ClusterRun:
    """Triage every row of ``source`` on a Dask cluster into the folder ``target``.

    Args:
        source: A Parquet file or a folder of them.
        target: A new (or empty) output folder.
        address: ``local:N`` or a scheduler address.
        settings: The client's settings; workers get them with absolute paths and pinned model versions.
        text_col: The text column(s), as for the single-process command.
        retries: Further attempts of a failed partition.
        report: Receives one line per retry and per failed partition.
        on_partition: Called with the rows of each partition written (progress).
        plugin: The worker plugin that builds the pipeline (tests pass one with fakes).

    Raises:
        InvalidDataset: no Parquet input, a missing text column, a non-empty output folder, a bad address.
        ModelNotReady: a model cannot be resolved.
        BatchIncomplete: some partition failed every attempt (the manifest lists it; the others are written).
    """
    local_workers(address)
    partitions = plan_partitions(source)
    columns = resolve_text_columns(_schema_frame(partitions[0]), text_col, source=partitions[0].source)
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidDataset(f"--out {target} exists and is not an empty folder; a cluster run writes a new folder")
    target.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    client, cluster = _connect(address)
    try:
        resolved = worker_settings(settings)
        run = ClusterRun(source=str(source), target=str(target.resolve()), address=address,
                         models={task: resolved.model_uri(task) for task in ("category", "urgency", "sentiment")})  # fmt: skip
        _register(client, plugin or PipelinePlugin(resolved))
        run.partitions = _run_partitions(client, partitions, target=str(target.resolve()), columns=columns,
                                         max_chars=resolved.max_text_chars, retries=retries, report=report,
                                         on_partition=on_partition)  # fmt: skip
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    run.seconds = round(time.perf_counter() - started, 2)
    (target / MANIFEST).write_text(json.dumps(_manifest(run), indent=2, ensure_ascii=False))
    if run.failed_partitions:
        failed = run.failed_partitions
        raise BatchIncomplete(
            f"{len(failed)} of {len(run.partitions)} partitions failed after {retries + 1} attempts "
            f"({', '.join(f'{p.partition.output_name}: {p.error}' for p in failed[:3])}); their "
            f"{sum(p.partition.rows for p in failed)} rows are not in {target}, whose {MANIFEST} lists them. "
            "Fix the cause and run them again into a new folder"
        )
    return run


def _schema_frame(partition: Partition):  # noqa: ANN202 - an empty DataFrame with the file's columns
    return pq.ParquetFile(partition.source).schema_arrow.empty_table().to_pandas()


def _register(client: Client, plugin: PipelinePlugin) -> None:
    """Register the plugin; a worker that cannot build the pipeline stops the run with its error."""
    responses = client.register_plugin(plugin, name=PLUGIN_NAME) or {}
    for worker, response in responses.items():
        if isinstance(response, dict) and response.get("status") == "error":
            raise response.get("exception") or RuntimeError(f"worker {worker} could not load the models")


def _run_partitions(client: Client, partitions: list[Partition], *, target: str, columns: list[str], max_chars: int,
                    retries: int, report: Callable[[str], None],
                    on_partition: Callable[[int], None] | None) -> list[PartitionOutcome]:  # fmt: skip
    outcomes = {p.index: PartitionOutcome(p) for p in partitions}

    def submit(partition: Partition):  # noqa: ANN202 - a distributed Future
        outcome = outcomes[partition.index]
        outcome.attempts += 1
        return client.submit(triage_partition, partition, target=target, columns=columns, max_chars=max_chars,
                             key=f"triage-{partition.index:05d}-attempt-{outcome.attempts}", pure=False)  # fmt: skip

    pending = {submit(p): p for p in partitions}
    queue = as_completed(list(pending))
    for future in queue:
        partition = pending.pop(future)
        outcome = outcomes[partition.index]
        if future.status == "finished":
            done = future.result()
            outcome.error_rows, outcome.worker, outcome.seconds = done["error_rows"], done["worker"], done["seconds"]
            if on_partition is not None:
                on_partition(partition.rows)
            continue
        error = future.exception()
        outcome.error = f"{type(error).__name__}: {error}"
        if outcome.attempts <= retries:
            report(f"partition {partition.output_name} ({Path(partition.source).name}, row group {partition.row_group}) "
                   f"failed on attempt {outcome.attempts} ({outcome.error}); retrying")  # fmt: skip
            outcome.error = ""
            retry = submit(partition)
            pending[retry] = partition
            queue.add(retry)
        else:
            report(f"partition {partition.output_name} failed after {outcome.attempts} attempts: {outcome.error}")
    return [outcomes[p.index] for p in partitions]


def _manifest(run: ClusterRun) -> dict[str, object]:
    return {
        "source": run.source, "target": run.target, "address": run.address, "models": run.models,
        "rows": run.rows, "error_rows": run.error_rows, "seconds": run.seconds,
        "failed_partitions": [p.partition.output_name for p in run.failed_partitions],
        "partitions": [{**asdict(p.partition), "output": p.partition.output_name, "attempts": p.attempts,
                        "error_rows": p.error_rows, "worker": p.worker, "seconds": p.seconds, "error": p.error}
                       for p in run.partitions],
    }  # fmt: skip

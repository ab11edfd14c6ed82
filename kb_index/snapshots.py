"""Atomic, versioned snapshots of the knowledge base on disk.

A snapshot is written into a fresh ``v-<n>`` folder beside the old one, each file fsynced, and only then is the
``CURRENT`` pointer file swapped with ``os.replace``. A crash at any point leaves ``CURRENT`` naming the old,
complete snapshot; readers that resolved ``CURRENT`` just before a swap can finish on the previous folder, which
is kept until the next save.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from triage.kernel.errors import ModelNotReady

CURRENT = "CURRENT"
#: Snapshots kept besides the current one (a reader that resolved CURRENT just before a swap can finish).
KEEP_OLD_SNAPSHOTS = 1


def write_snapshot(root: str | Path, files: dict[str, bytes]) -> Path:
    """Atomically publish a new snapshot of ``files`` under ``root``.

    The files go to a temporary folder, are fsynced, the folder is renamed to ``v-<time>``, and
    only then is ``root/CURRENT`` replaced to point at it. Older snapshots are pruned.

    Returns:
        The new snapshot folder.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        for name, data in files.items():
            with open(staging / name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        version = f"v-{time.time_ns()}"
        final = root / version
        os.replace(staging, final)
        pointer = root / f".{CURRENT}.tmp-{os.getpid()}"
        pointer.write_text(version + "\n", encoding="utf-8")
        os.replace(pointer, root / CURRENT)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _prune(root, keep=final.name)
    return final


def current_snapshot(root: str | Path) -> Path:
    """The folder ``root/CURRENT`` points at.

    Raises:
        ModelNotReady: no complete snapshot under ``root``.
    """
    root = Path(root)
    pointer = root / CURRENT
    if not pointer.is_file():
        raise ModelNotReady(f"no knowledge-base index in {root}; build one with `triage kb build --out {root}`")
    folder = root / pointer.read_text(encoding="utf-8").strip()
    if not folder.is_dir():
        raise ModelNotReady(f"{pointer} names a missing snapshot {folder.name}; rebuild the index")
    return folder


def _prune(root: Path, *, keep: str) -> None:
    snapshots = sorted((p for p in root.glob("v-*") if p.is_dir() and p.name != keep), key=lambda p: p.name)
    for old in snapshots[: max(0, len(snapshots) - KEEP_OLD_SNAPSHOTS)]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(".tmp-*"):
        if time.time() - stale.stat().st_mtime > 3600:  # abandoned by a crashed writer
            shutil.rmtree(stale, ignore_errors=True)


def read_json(folder: Path, name: str) -> dict[str, Any]:
    with open(folder / name, encoding="utf-8") as handle:
        return json.load(handle)

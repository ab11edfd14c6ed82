from __future__ import annotations

import os
from pathlib import Path

import pytest

from models.encoder import load_encoder
from triage.config import configure_offline_environment

configure_offline_environment()

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """Where the real datasets live: $TRIAGE_SHARED_DATA, else ../shared/data beside the repo."""
    return Path(os.environ.get("TRIAGE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    folder = shared_data_dir()
    if not folder.is_dir():
        pytest.skip(f"real datasets not found at {folder} (set TRIAGE_SHARED_DATA); they are present in CI")
    return folder


@pytest.fixture(scope="session")
def real_encoder():
    """The bundled MiniLM+USE encoder, loaded once per test session."""
    return load_encoder("minilm+use")

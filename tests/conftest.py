from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from models.encoder import load_encoder
from triage.config import configure_offline_environment

configure_offline_environment()

REPO = Path(__file__).resolve().parents[1]
#: One ONNX export of MiniLM for every test (and every Settings a test builds), reused across runs on one machine:
#: the cache checks the weights' and the file's digests, so a stale or damaged export is redone.
ENCODER_CACHE = Path(
    os.environ.setdefault("TRIAGE_ENCODER_CACHE_DIR", str(Path(tempfile.gettempdir()) / "triage-test-encoders"))
)


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
    """The bundled MiniLM+USE encoder on the default runtime, loaded once per test session."""
    return load_encoder("minilm+use", cache_dir=ENCODER_CACHE)


@pytest.fixture(scope="session")
def encoder_cache() -> Path:
    """The folder of the test session's ONNX export of MiniLM."""
    return ENCODER_CACHE

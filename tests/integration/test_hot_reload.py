"""Models are hot-reloaded when the configured version changes: no downtime, new versions reported."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from models.loading import load_artifact_dir, save_artifact
from tests.integration.conftest import make_keys, new_database, service_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_new_model_version_is_served_without_downtime(tmp_path: Path, served_models: dict[str, str],
                                                        always_on_config: Path) -> None:  # fmt: skip
    category = tmp_path / "category"
    shutil.copytree(served_models["category_model"], category)
    url, cleanup = new_database("sqlite", tmp_path)
    settings = service_settings(tmp_path / "home", url, always_on_config,
                                **{**served_models, "category_model": str(category), "reload_seconds": 0.3})  # fmt: skip
    keys = make_keys(settings)
    headers = {"Authorization": f"Bearer {keys['intake']}"}
    app = create_app(settings, load_in_background=False, configure_logs=False)
    with TestClient(app) as client:
        before = client.get("/api/v1/models", headers=headers).json()["versions"]["category"]
        codes: list[int] = []
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                response = client.post("/api/v1/triage", headers=headers, json={"subject": "VPN keeps dropping"})
                codes.append(response.status_code)

        thread = threading.Thread(target=load)
        thread.start()
        artifact = load_artifact_dir(category)
        artifact.card.version = "local/2"
        save_artifact(artifact, category)  # what `triage train` + promotion does to the champion, in a folder
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            versions = client.get("/api/v1/models", headers=headers).json()["versions"]
            if versions["category"] == "local/2":
                break
            time.sleep(0.2)
        stop.set()
        thread.join()
        metrics = client.get("/metrics", headers={"Authorization": f"Bearer {keys['admin']}"}).text
    cleanup()  # type: ignore[operator]
    assert before != "local/2" and versions["category"] == "local/2"
    assert codes and set(codes) == {200}, "a request failed while the models were swapped"
    assert 'triage_model_info{task="category",version="local/2"} 1.0' in metrics

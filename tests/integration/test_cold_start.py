"""A new organisation with no trained model: zero-shot categories, shipped defaults, then its own champion."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from models.encoder import MemoizedEncoder
from tests.integration.conftest import use_settings
from training import tracking
from training.default_models import PRETRAINED_DIR
from training.train import train_task
from triage.adapters.taxonomy_file import load_taxonomy
from triage.cli.main import main as cli
from triage.config import Settings
from triage.engine.factory import build_pipeline, configured_versions, pinned_model_uri
from triage.engine.stages.zero_shot import ZeroShotClassifier
from triage.kernel.errors import ModelNotReady

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TAXONOMY = REPO / "config" / "taxonomy.toml"


@pytest.fixture(scope="module")
def encoder(real_encoder) -> MemoizedEncoder:
    return MemoizedEncoder(real_encoder, max_size=5000)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", kb_dir=tmp_path / "no-kb")


def test_with_no_champion_categories_are_zero_shot_and_sentiment_is_the_shipped_default(settings, encoder) -> None:
    pipeline = build_pipeline(settings, encoder=encoder.inner, taxonomy=load_taxonomy(TAXONOMY))
    assert isinstance(pipeline.classify, ZeroShotClassifier)
    result = pipeline("I was charged twice for my subscription this month")
    assert result.category.label == "billing/payment" and result.category.model_version.startswith("zero-shot/")
    assert result.model_versions["sentiment"] == "triage-sentiment/shipped-default"
    assert result.model_versions["urgency"] == "triage-urgency/shipped-default"
    assert pipeline("系统崩溃了，所有用户都无法访问！！").category.label == "service/outage"


def test_hot_reload_sees_the_fallbacks_as_served_and_a_first_champion_as_a_change(settings, encoder) -> None:
    taxonomy = load_taxonomy(TAXONOMY)
    pipeline = build_pipeline(settings, encoder=encoder.inner, taxonomy=taxonomy)
    assert configured_versions(settings, taxonomy) == pipeline.model_versions  # no reload while nothing changed
    client = tracking.mlflow_client(settings)
    version = tracking.register_folder(client, settings, name="triage-urgency", folder=PRETRAINED_DIR / "urgency",
                                       tags={"source": "shipped default"})  # fmt: skip
    client.set_registered_model_alias("triage-urgency", tracking.CHAMPION, version)
    assert configured_versions(settings, taxonomy)["urgency"] == f"triage-urgency/{version}"
    assert pinned_model_uri(settings, "urgency") == f"models:/triage-urgency/{version}"
    assert pinned_model_uri(settings, "category") == "zero-shot"


def test_with_no_champion_and_no_taxonomy_serving_says_what_to_do(settings, encoder) -> None:
    with pytest.raises(ModelNotReady, match="triage train --task category"):
        build_pipeline(settings, encoder=encoder.inner)


def test_zero_shot_on_the_demo_taxonomy_is_far_above_chance_on_the_demo_tickets(encoder) -> None:
    tickets = pd.read_csv(REPO / "demo" / "tickets.csv", dtype=str, keep_default_na=False).sample(300, random_state=0)
    classifier = ZeroShotClassifier(load_taxonomy(TAXONOMY), encoder)
    predictions = classifier.batch((tickets["subject"] + "\n" + tickets["body"]).str.strip().tolist())
    accuracy = (pd.Series([p.label for p in predictions]) == tickets["category"].to_numpy()).mean()
    assert accuracy > 0.6  # 11 labels: chance is 0.09


def test_the_shipped_default_registered_as_champion_is_what_a_first_trained_model_must_beat(
    settings, encoder, tmp_path: Path
) -> None:
    client = tracking.mlflow_client(settings)
    version = tracking.register_folder(client, settings, name="triage-sentiment", folder=PRETRAINED_DIR / "sentiment",
                                       tags={"source": "shipped default"})  # fmt: skip
    client.set_registered_model_alias("triage-sentiment", tracking.CHAMPION, version)
    tickets = pd.read_csv(REPO / "demo" / "tickets.csv", dtype=str, keep_default_na=False).sample(400, random_state=2)
    data = tmp_path / "ours.csv"
    tickets.to_csv(data, index=False)
    outcome = train_task(task="sentiment", data_path=data, settings=settings, text_col="subject,body",
                         label_col="sentiment", encoder=encoder, progress=False)  # fmt: skip
    assert version == "1" and outcome.version == "2"
    assert outcome.champion_metrics is not None and "macro_f1" in outcome.champion_metrics
    champion = tracking.current_champion_version(client, "triage-sentiment")
    assert champion == ("2" if outcome.promoted else "1")
    assert "on the same held-out data" in outcome.promotion_reason  # compared with the shipped default


def test_evaluate_zero_shot_prints_the_same_json_as_a_trained_model(settings, monkeypatch, capsys) -> None:
    use_settings(monkeypatch, settings)
    tickets = REPO / "demo" / "tickets.csv"
    code = cli(["evaluate", "--zero-shot", str(TAXONOMY), "--data", str(tickets), "--label-col", "category",
                "--quiet"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    result = json.loads(out)
    assert {"n", "accuracy", "macro_f1", "ece", "coverage", "accepted_accuracy", "per_language", "per_label",
            "per_level"} <= set(result)  # fmt: skip
    assert result["model"].startswith("zero-shot:") and result["n"] == 1408


def test_evaluate_scores_the_shipped_sentiment_default_on_a_binary_coded_file(settings, monkeypatch, capsys,
                                                                                tmp_path: Path) -> None:  # fmt: skip
    use_settings(monkeypatch, settings)
    reviews = pd.DataFrame({
        "text": ["质量太差了，用了两天就坏了，退货！", "非常满意，物流很快，推荐购买", "Worst support ever, still no refund!!",
                 "Great service, thank you so much"],
        "label": ["0", "1", "0", "1"],
    })  # fmt: skip
    data = tmp_path / "reviews.csv"
    reviews.to_csv(data, index=False)
    code = cli(["evaluate", "--task", "sentiment", "--model", str(PRETRAINED_DIR / "sentiment"), "--data", str(data),
                "--quiet"])  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["n"] == 4 and result["accuracy"] == 1.0
    assert any("'0' -> 'negative'" in warning for warning in result["warnings"])

"""Real encoder, real MLflow (SQLite store in a temp folder), real artifacts: train -> register -> serve."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import training.train as train_module
from models.encoder import MemoizedEncoder
from tests.integration.conftest import use_settings
from training import tracking
from training.train import train_task
from triage.cli.main import main as cli
from triage.config import Settings
from triage.engine.factory import build_pipeline
from triage.kernel.errors import ArtifactMismatch

pytestmark = pytest.mark.integration

DEMO = Path(__file__).resolve().parents[2] / "demo"


@pytest.fixture(scope="module")
def demo_train(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stratified 40% sample of the demo tickets: enough to learn, quick to train."""
    frame = pd.read_csv(DEMO / "tickets.csv", dtype=str, keep_default_na=False)
    sample = frame.sample(frac=0.4, random_state=1)
    path = tmp_path_factory.mktemp("data") / "train.csv"
    sample.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(demo_train: Path, tmp_path_factory: pytest.TempPathFactory, real_encoder):
    home = tmp_path_factory.mktemp("home")
    settings = Settings(home=home, kb_dir=home / "no-kb")
    encoder = MemoizedEncoder(real_encoder, max_size=5000)
    outcomes = {
        task: train_task(
            task=task,
            data_path=demo_train,
            settings=settings,
            text_col="subject,body",
            label_col=task,
            encoder=encoder,
            progress=False,
        )  # fmt: skip
        for task in ("category", "urgency", "sentiment")
    }
    return settings, outcomes, encoder


def test_training_registers_a_champion_per_task_with_a_full_mlflow_record(trained) -> None:
    settings, outcomes, _ = trained
    client = tracking.mlflow_client(settings)
    for task, outcome in outcomes.items():
        assert outcome.promoted and outcome.version == "1"
        assert tracking.current_champion_version(client, f"triage-{task}") == "1"
        run = client.get_run(outcome.run_id)
        assert run.data.tags["data_fingerprint"] == outcome.data_fingerprint
        assert "accuracy" in run.data.metrics and any(k.startswith("head.") for k in run.data.params)
        logged = {f.path for f in client.list_artifacts(outcome.run_id, "evaluation")}
        assert {"evaluation/confusion_matrix.png", "evaluation/labels.json"} <= logged
    assert outcomes["category"].metrics["accuracy"] > 0.8


def test_a_worse_candidate_does_not_take_the_champion_alias_unless_forced(trained, demo_train: Path, tmp_path: Path):
    settings, outcomes, encoder = trained
    frame = pd.read_csv(demo_train, dtype=str, keep_default_na=False)
    frame["category"] = frame["category"].sample(frac=1.0, random_state=3).to_numpy()  # destroy the signal
    noisy = tmp_path / "noisy.csv"
    frame.to_csv(noisy, index=False)
    clean_test = tmp_path / "clean_test.csv"  # the same clean held-out data scores both models
    pd.read_csv(DEMO / "tickets.csv", dtype=str).tail(200).to_csv(clean_test, index=False)
    worse = train_task(task="category", data_path=noisy, test_path=clean_test, settings=settings,
                       text_col="subject,body", label_col="category", encoder=encoder, progress=False)  # fmt: skip
    client = tracking.mlflow_client(settings)
    assert not worse.promoted and "not promoted" in worse.promotion_reason
    assert tracking.current_champion_version(client, "triage-category") == outcomes["category"].version
    forced = train_task(task="category", data_path=noisy, test_path=clean_test, settings=settings,
                        text_col="subject,body", label_col="category", encoder=encoder, force_promote=True,
                        progress=False)  # fmt: skip
    assert forced.promoted
    assert tracking.current_champion_version(client, "triage-category") == forced.version
    client.set_registered_model_alias("triage-category", "champion", outcomes["category"].version)  # restore


def test_a_champion_from_an_older_release_blocks_promotion_until_forced(trained, demo_train: Path, monkeypatch):
    settings, outcomes, encoder = trained

    def older_release(*_args, **_kwargs):
        raise ArtifactMismatch("meta.json has format version 1, this release reads 2")

    monkeypatch.setattr(train_module, "load_artifact", older_release)
    client = tracking.mlflow_client(settings)
    kwargs = {"task": "sentiment", "data_path": demo_train, "settings": settings, "text_col": "subject,body",
              "label_col": "sentiment", "encoder": encoder, "progress": False}  # fmt: skip
    blocked = train_task(**kwargs)
    assert not blocked.promoted and "format version 1" in blocked.promotion_reason
    assert tracking.current_champion_version(client, "triage-sentiment") == outcomes["sentiment"].version
    forced = train_task(**kwargs, force_promote=True)
    assert forced.promoted and tracking.current_champion_version(client, "triage-sentiment") == forced.version
    client.set_registered_model_alias("triage-sentiment", "champion", outcomes["sentiment"].version)  # restore


def test_serving_loads_champions_stamps_versions_and_batch_equals_single_calls(trained) -> None:
    settings, _, encoder = trained
    pipeline = build_pipeline(settings, encoder=encoder.inner)
    texts = ["VPN keeps disconnecting since this morning, error E1043", "我申请的退款什么时候到账？订单号 ORD-11223",
             "System down for all users!!! 系统崩溃 紧急"]  # fmt: skip
    batched = pipeline.batch(texts)
    assert batched == [pipeline(t) for t in texts]
    for result in batched:
        assert result.category.model_version.startswith("triage-category/")
        assert set(result.model_versions) == {"category", "urgency", "sentiment"}
        assert result.category.label in pipeline.classify.labels
    assert batched[2].urgency.level == "P1"
    assert batched[1].language.language == "zh"


def _run_cli(args: list[str], settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys) -> tuple[int, str, str]:
    use_settings(monkeypatch, settings)
    code = cli(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_evaluate_prints_one_json_object_with_abstention_and_language_metrics(trained, monkeypatch, capsys) -> None:
    settings, _, _ = trained
    scored = pd.concat(
        [pd.read_csv(DEMO / "tickets.csv", dtype=str).head(60), pd.read_csv(DEMO / "out_of_scope.csv", dtype=str)]
    )
    path = settings.home / "eval.csv"
    scored.to_csv(path, index=False)
    code, out, _ = _run_cli(["evaluate", "--task", "category", "--model", "models:/triage-category@champion",
                             "--data", str(path), "--text-col", "subject,body", "--label-col", "category",
                             "--unknown-label", "out_of_scope", "--quiet"], settings, monkeypatch, capsys)  # fmt: skip
    assert code == 0
    result = json.loads(out)
    for key in ("n", "accuracy", "macro_f1", "ece", "coverage", "accepted_accuracy", "per_language",
                "in_scope_accuracy", "oos_recall"):  # fmt: skip
        assert key in result
    assert set(result["per_language"]) >= {"en", "zh"}
    assert result["oos_recall"] > 0.3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--label-col", "nope"], "missing label column 'nope'"),
        (["--label-col", "category", "--unknown-label", "never_seen"], "does not occur"),
        (["--label-col", "category", "--unknown-label", "billing/refund"], "one of the model's trained labels"),
    ],
)
def test_evaluate_rejects_bad_input_with_a_clear_message(trained, monkeypatch, capsys, extra, message) -> None:
    settings, _, _ = trained
    code, out, err = _run_cli(["evaluate", "--task", "category", "--model", "models:/triage-category@champion",
                               "--data", str(DEMO / "tickets.csv"), "--quiet", *extra], settings, monkeypatch, capsys)  # fmt: skip
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_training_on_a_single_class_fails_clearly(trained, tmp_path: Path, monkeypatch, capsys) -> None:
    settings, _, _ = trained
    path = tmp_path / "one.csv"
    pd.DataFrame({"text": ["a b", "c d", "e f"], "label": ["x", "x", "x"]}).to_csv(path, index=False)
    code, _, err = _run_cli(
        ["train", "--task", "category", "--data", str(path), "--quiet"], settings, monkeypatch, capsys
    )
    assert code == 2 and "single class" in err


def test_classify_keeps_every_row_and_marks_untriageable_ones(trained, tmp_path: Path, monkeypatch, capsys) -> None:
    settings, _, _ = trained
    source = tmp_path / "in.csv"
    pd.DataFrame({"text": ["My invoice for March is missing", "   ", "x" * (settings.max_text_chars + 1), "打印机卡纸了"],
                  "customer_tier": ["vip", "standard", "standard", "standard"]}).to_csv(source, index=False)  # fmt: skip
    out = tmp_path / "out.parquet"
    code, _, _ = _run_cli(
        ["classify", "--in", str(source), "--out", str(out), "--quiet"], settings, monkeypatch, capsys
    )
    assert code == 0
    result = pd.read_parquet(out)
    assert len(result) == 4 and result["text"].tolist()[0] == "My invoice for March is missing"
    assert result["triage_error"].tolist()[0] == "" and result["triage_error"].tolist()[3] == ""
    assert "empty" in result["triage_error"].tolist()[1] and "limit" in result["triage_error"].tolist()[2]
    assert result["triage_category"].tolist()[3] in build_pipeline(settings, encoder=trained[2].inner).classify.labels


def test_classify_on_a_two_worker_cluster_gives_the_single_process_labels(trained, tmp_path: Path, monkeypatch,
                                                                          capsys) -> None:  # fmt: skip
    settings, _, _ = trained
    frame = pd.read_csv(DEMO / "tickets.csv", dtype=str, keep_default_na=False).sample(150, random_state=3)
    frame.loc[frame.index[7], "body"], frame.loc[frame.index[7], "subject"] = "", "  "  # one untriageable row
    source = tmp_path / "tickets.parquet"
    frame.to_parquet(source, index=False, row_group_size=40)  # 4 partitions
    single = tmp_path / "single.parquet"
    assert _run_cli(["classify", "--in", str(source), "--out", str(single), "--quiet"], settings, monkeypatch,
                    capsys)[0] == 0  # fmt: skip
    code, _, err = _run_cli(["classify", "--in", str(source), "--out", str(tmp_path / "parts"), "--cluster", "local:2",
                             "--quiet"], settings, monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    expected = pd.read_parquet(single)
    got = pd.concat(
        [pd.read_parquet(p) for p in sorted((tmp_path / "parts").glob("part-*.parquet"))], ignore_index=True
    )
    assert got["ticket_id"].tolist() == frame["ticket_id"].tolist() and (got["triage_error"] != "").sum() == 1
    for column in (
        "triage_category",
        "triage_category_abstained",
        "triage_urgency",
        "triage_sentiment",
        "triage_error",
    ):
        assert got[column].tolist() == expected[column].tolist(), column
    pd.testing.assert_series_equal(got["triage_category_confidence"], expected["triage_category_confidence"], atol=1e-5)
    manifest = json.loads((tmp_path / "parts" / "_manifest.json").read_text())
    assert len(manifest["partitions"]) == 4 and len({p["worker"] for p in manifest["partitions"]}) == 2
    champion = tracking.mlflow_client(settings).get_model_version_by_alias("triage-category", tracking.CHAMPION)
    assert manifest["models"]["category"] == f"models:/triage-category/{champion.version}"  # pinned at submission

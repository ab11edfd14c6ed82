"""Bad input on the command line gives one clear line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from triage.cli.main import main as cli
from triage.config import Settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    settings = Settings(home=tmp_path / "home")
    for module in ("triage.cli.evaluate", "triage.cli.classify", "triage.cli.train"):
        monkeypatch.setattr(f"{module}.get_settings", lambda: settings)
    return settings


def _fails_clearly(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert cli(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_training_file(settings: Settings, capsys, tmp_path: Path) -> None:
    _fails_clearly(capsys, ["train", "--task", "category", "--data", str(tmp_path / "nope.csv")], "file not found")


def test_training_file_without_the_label_column(settings: Settings, capsys, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"text": ["a", "b"], "category": ["x", "y"]}).to_csv(path, index=False)
    _fails_clearly(
        capsys, ["train", "--task", "category", "--data", str(path), "--quiet"], "missing label column 'label'"
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('char_weight = "auto"\n', "unknown hyper-parameters ['char_weight']"),
        ('views = ["pixels"]\n', "views ['pixels']"),
    ],
)
def test_training_config_with_an_unknown_key_or_view(
    settings: Settings, capsys, tmp_path: Path, config, message
) -> None:
    data, toml = tmp_path / "d.csv", tmp_path / "head.toml"
    pd.DataFrame({"text": ["a", "b", "c", "d"], "label": ["x", "y", "x", "y"]}).to_csv(data, index=False)
    toml.write_text(config)
    _fails_clearly(
        capsys, ["train", "--task", "category", "--data", str(data), "--config", str(toml), "--quiet"], message
    )


def test_evaluating_a_model_that_was_never_registered(settings: Settings, capsys, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"text": ["a"], "label": ["x"]}).to_csv(path, index=False)
    _fails_clearly(
        capsys,
        ["evaluate", "--task", "category", "--model", "models:/triage-category@champion", "--data", str(path)],
        "is not in the registry",
    )


def test_evaluating_a_folder_that_is_not_a_model(settings: Settings, capsys, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"text": ["a"], "label": ["x"]}).to_csv(path, index=False)
    _fails_clearly(capsys, ["evaluate", "--task", "category", "--model", str(tmp_path), "--data", str(path)],
                   "meta.json is missing")  # fmt: skip


def test_classify_refuses_an_unknown_output_format(settings: Settings, capsys, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    pd.DataFrame({"text": ["a"]}).to_csv(path, index=False)
    _fails_clearly(capsys, ["classify", "--in", str(path), "--out", str(tmp_path / "o.xlsx")], "unsupported file type")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cluster", "local:0"], "use local:N with N >= 1"),
        (["--cluster", "local:2", "--retries", "-1"], "--retries must be 0 or more"),
    ],
)
def test_classify_on_a_cluster_refuses_a_bad_address_or_retry_count(
    settings: Settings, capsys, tmp_path: Path, extra, message
) -> None:
    source = tmp_path / "in.parquet"
    pd.DataFrame({"text": ["a"]}).to_parquet(source)
    _fails_clearly(capsys, ["classify", "--in", str(source), "--out", str(tmp_path / "out"), *extra], message)


def test_classify_on_a_cluster_needs_parquet_input(settings: Settings, capsys, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    pd.DataFrame({"text": ["a"]}).to_csv(source, index=False)
    _fails_clearly(
        capsys,
        ["classify", "--in", str(source), "--out", str(tmp_path / "out"), "--cluster", "local:1"],
        "reads a Parquet file or a folder",
    )

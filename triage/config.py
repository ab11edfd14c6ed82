"""One typed settings object for the whole service.

Every knob is a field here, read from ``TRIAGE_*`` environment variables (or a ``.env`` file) and
validated at start-up. Nothing else in the code base reads ``os.environ``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EncoderName = Literal["minilm", "use", "minilm+use"]

#: Registered-model names in MLflow, one per trainable task (kebab case).
REGISTERED_MODEL_NAMES = {
    "category": "triage-category",
    "urgency": "triage-urgency",
    "sentiment": "triage-sentiment",
}


class Settings(BaseSettings):
    """Service settings. Defaults give a working embedded set-up under ``var/``."""

    model_config = SettingsConfigDict(env_prefix="TRIAGE_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path("var"), description="Folder for every local store (DB, MLflow, KB).")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the ticket store; default SQLite under `home`."
    )
    mlflow_tracking_uri: str | None = Field(
        default=None, description="MLflow tracking + registry URI; default a SQLite store under `home`."
    )
    encoder: EncoderName = Field(default="minilm+use", description="Sentence encoder backend.")
    category_model: str = Field(
        default="models:/triage-category@champion",
        description="Registry URI or folder of the category head, or `zero-shot` to classify against the taxonomy "
        "file with no trained model. The default URI falls back to zero-shot while no champion is registered.",
    )
    urgency_model: str = "models:/triage-urgency@champion"
    sentiment_model: str = "models:/triage-sentiment@champion"
    target_accuracy: float | None = Field(
        default=None,
        gt=0.0,
        lt=1.0,
        description="Accepted accuracy the category abstain threshold aims for (the model's training target, 0.98 "
        "by default); the threshold is recomputed from the model's out-of-fold predictions.",
    )
    kb_dir: Path | None = Field(default=None, description="Knowledge-base index folder; default `home`/kb.")
    max_text_chars: int = Field(
        default=20_000, gt=0, description="Longest subject+body accepted; longer input is rejected (422)."
    )
    abstain_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Override the category model's own abstain threshold (confidence below it abstains).",
    )
    encode_cache_size: int = Field(
        default=4096,
        ge=256,
        description="Texts whose embeddings are memoised; the memo is how stages share one encoding per ticket, "
        "so it must hold at least a whole batch.",
    )
    routing_config_dir: Path = Field(default=Path("config"), description="Teams, agents, SLA, calendars.")
    taxonomy_file: Path | None = Field(
        default=None,
        description="Category taxonomy (names, descriptions, team and skill); default "
        "`routing_config_dir`/taxonomy.toml.",
    )

    @field_validator("home", "routing_config_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'triage.db').resolve()}"

    @property
    def resolved_mlflow_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{(self.home / 'mlflow' / 'mlflow.db').resolve()}"

    @property
    def mlflow_artifact_root(self) -> Path:
        return (self.home / "mlflow" / "artifacts").resolve()

    @property
    def resolved_kb_dir(self) -> Path:
        return self.kb_dir or self.home / "kb"

    def model_uri(self, task: str) -> str:
        return {"category": self.category_model, "urgency": self.urgency_model, "sentiment": self.sentiment_model}[task]


def configure_offline_environment() -> None:
    """Keep every library offline and quiet: no hub downloads, no MLflow telemetry.

    Called once by each entry point (CLI, API, tests) before heavy imports.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests override with ``Settings(...)`` directly)."""
    return Settings()

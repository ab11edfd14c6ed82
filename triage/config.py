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
EncoderRuntime = Literal["onnx-fp32", "onnx-int8", "torch"]

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
    encoder_runtime: EncoderRuntime = Field(
        default="onnx-int8",
        description="How MiniLM runs: ONNX int8 (the default: about 30% more throughput than fp32 on the engine, "
        "within 0.16 accuracy points of torch on the README's tasks), ONNX fp32 (torch's numbers, without torch), "
        "or torch. All three share one encoder id, so heads trained on one serve on the others.",
    )
    threads: int = Field(
        default=1,
        ge=1,
        description="Threads of each model in a serving process (encoders' intra-op threads, FAISS searches). Scale "
        "with processes instead: on 2 cores, 2 threads measured slower at every batch size (1.8x at batch 1; threads spin-waiting for work).",
    )
    encoder_cache_dir: Path | None = Field(
        default=None, description="Where the ONNX export of MiniLM is cached; default `home`/encoders."
    )
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

    # -- the service (`triage serve`) -------------------------------------------------------------------------
    triage_wait_seconds: float = Field(
        default=2.5, ge=0.0, le=30.0,
        description="How long POST /api/v1/tickets waits for triage before answering with triage_state=pending.",
    )
    batch_max: int = Field(default=32, ge=1, le=256, description="Most tickets triaged in one encoder call.")
    batch_wait_ms: float = Field(
        default=5.0, ge=0.0, le=1000.0, description="How long a batch waits for more tickets after the first."
    )
    worker_threads: int = Field(default=1, ge=0, le=16, description="Triage worker threads per serve process.")
    sweep_seconds: float = Field(default=10.0, gt=0, description="Escalation sweep period.")
    reload_seconds: float = Field(
        default=30.0, ge=0, description="How often the service checks @champion for new models (0: never)."
    )
    webhook_retry_seconds: float = Field(
        default=2.0, gt=0, description="First webhook retry delay; it doubles (with jitter) up to the maximum."
    )
    webhook_retry_max_seconds: float = Field(default=600.0, gt=0, description="Longest wait between webhook retries.")
    webhook_max_attempts: int = Field(default=10, ge=1, le=50, description="Attempts before a delivery is dead.")
    drift_hours: float = Field(default=24.0, gt=0, description="How often the drift and new-topic check runs.")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest accepted request body (413 above).")
    key_cache_seconds: float = Field(
        default=5.0, ge=0, description="How long a checked API key is trusted before the store is asked again."
    )
    log_format: Literal["json", "text"] = Field(default="json", description="Service log format.")

    # -- the email channel (an SMTP listener in `triage serve`, or `triage worker --smtp-port`) ---------------
    smtp_port: int | None = Field(
        default=None, ge=1, le=65535, description="Port of the SMTP listener for email intake; unset: no listener."
    )
    smtp_host: str = Field(default="127.0.0.1", description="Address the SMTP listener binds to.")
    smtp_address: str = Field(
        default="support@localhost",
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="The help desk's email address: recipients must be at its domain, and mail from it is a loop.",
    )
    smtp_max_message_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Largest email accepted (SMTP 552 above, naming the limit)."
    )
    smtp_max_attachment_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1, description="Largest attachment accepted (its metadata is kept, not its content)."
    )

    # -- the web console (served by `triage serve` at /) ------------------------------------------------------
    console_session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="A console session ends this long after sign-in, at the latest."
    )
    console_idle_minutes: float = Field(
        default=120.0, gt=0, description="A console session ends after this long without a request."
    )
    console_secure_cookies: bool = Field(
        default=True,
        description="Mark console cookies Secure (with the __Host- prefix). Browsers accept them over HTTPS and on "
        "http://localhost / 127.0.0.1; turn off only for plain HTTP on another address inside a trusted network.",
    )

    @field_validator("home", "routing_config_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def smtp_domain(self) -> str:
        """The domain part of ``smtp_address``, lower-case: the SMTP listener accepts recipients there only."""
        return self.smtp_address.rpartition("@")[2].lower()

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

    @property
    def resolved_encoder_cache_dir(self) -> Path:
        return self.encoder_cache_dir or self.home / "encoders"

    @property
    def resolved_taxonomy_file(self) -> Path:
        return self.taxonomy_file or self.routing_config_dir / "taxonomy.toml"

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


def export_settings(**values: object) -> None:
    """Set ``TRIAGE_<NAME>`` environment variables, so a child built from the environment (the uvicorn app factory,
    a worker process) sees command-line overrides. Clears the cached settings."""
    for name, value in values.items():
        if name not in Settings.model_fields:
            raise KeyError(f"unknown setting {name!r}")
        os.environ[f"TRIAGE_{name.upper()}"] = str(value)
    get_settings.cache_clear()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests override with ``Settings(...)`` directly)."""
    return Settings()

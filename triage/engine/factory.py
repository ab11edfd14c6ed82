"""Build the serving pipeline from settings: one encoder, three heads, and the knowledge base if present."""

from __future__ import annotations

import logging
from pathlib import Path

from kb_index.knowledge_base import KnowledgeBase
from kb_index.vectors import set_search_threads
from models.encoder import MemoizedEncoder, SentenceEncoder, load_encoder
from models.loading import ModelArtifact, load_artifact, load_card
from models.registry import registered_version
from triage.config import Settings
from triage.engine.pipeline import TriagePipeline
from triage.engine.stages.classify import CategoryClassifier
from triage.engine.stages.sentiment import SentimentScorer
from triage.engine.stages.suggest import AnswerSuggester
from triage.engine.stages.urgency import UrgencyScorer

logger = logging.getLogger(__name__)


def load_configured_encoder(settings: Settings, *, name: str | None = None) -> SentenceEncoder:
    """The encoder ``settings`` name (or ``name``), on the configured runtime, threads and export cache.

    Raises:
        ValueError: unknown encoder name.
        ModelNotReady: a package is missing or the ONNX export failed.
    """
    return load_encoder(
        name or settings.encoder, runtime=settings.encoder_runtime, cache_dir=settings.resolved_encoder_cache_dir,
        threads=settings.threads,
    )  # fmt: skip


def build_pipeline(
    settings: Settings, *, encoder: SentenceEncoder | None = None, with_kb: bool = True
) -> TriagePipeline:
    """Load every model named in ``settings`` and compose the pipeline.

    Args:
        settings: Model URIs (``models:/...@champion`` or folders), encoder, KB folder.
        encoder: An already-loaded encoder to share (tests); loaded from settings otherwise.
        with_kb: Attach the knowledge-base stage when an index exists at ``settings.resolved_kb_dir``.

    Raises:
        ModelNotReady: a model URI resolves to nothing.
        ArtifactMismatch: a model was trained on another encoder.
    """
    set_search_threads(settings.threads)
    shared = MemoizedEncoder(encoder or load_configured_encoder(settings), max_size=settings.encode_cache_size)
    cache = settings.home / "model-cache"

    def artifact(task: str) -> ModelArtifact:
        return load_artifact(settings.model_uri(task), tracking_uri=settings.resolved_mlflow_uri, cache_dir=cache)

    suggest = _knowledge_base_stage(settings, shared) if with_kb else None
    return TriagePipeline(
        classify=CategoryClassifier(artifact("category"), shared, abstain_threshold=settings.abstain_threshold),
        urgency=UrgencyScorer(artifact("urgency"), shared),
        sentiment=SentimentScorer(artifact("sentiment"), shared),
        suggest=suggest,
        encoder=shared,
        max_chars=settings.max_text_chars,
    )


def _knowledge_base_stage(settings: Settings, encoder: SentenceEncoder) -> AnswerSuggester | None:
    folder = settings.resolved_kb_dir
    if not folder.exists():
        logger.info("no knowledge base at %s; suggestions are off", folder)
        return None
    return AnswerSuggester(KnowledgeBase.load(folder, encoder=encoder))


TASKS = ("category", "urgency", "sentiment")


def configured_versions(settings: Settings) -> dict[str, str]:
    """The model version each task's URI points at now (``triage-category/4``), for hot reload.

    A ``models:/`` URI is resolved in the registry (a cheap query); a folder gives its card's version.
    """
    versions = {}
    for task in TASKS:
        uri = settings.model_uri(task)
        if uri.startswith("models:/"):
            versions[task] = registered_version(uri, tracking_uri=settings.resolved_mlflow_uri)
        else:
            versions[task] = load_card(Path(uri)).version
    return versions

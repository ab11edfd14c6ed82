"""Build the serving pipeline from settings: one encoder, three stages, and the knowledge base if present.

Which model serves each stage:

* **category**: ``settings.category_model`` (default ``models:/triage-category@champion``). While the registry has
  no such champion (a new organisation, before any ``triage train``), the zero-shot stage classifies against the
  taxonomy file; ``TRIAGE_CATEGORY_MODEL=zero-shot`` forces it. Once a model is trained and promoted through the
  champion gate, a running service takes it over at its next model check (hot reload), with no configuration change.
* **sentiment**, **urgency**: the registry's champion; while there is none, the default shipped in
  ``models/pretrained/<task>`` (trained on real public text; ``triage demo`` registers it as a version).
"""

from __future__ import annotations

import logging
from pathlib import Path

from kb_index.knowledge_base import KnowledgeBase
from kb_index.vectors import set_search_threads
from models.encoder import MemoizedEncoder, SentenceEncoder, load_encoder
from models.loading import ModelArtifact, load_artifact, load_card
from models.registry import pin_model_uri, registered_version
from triage.config import REGISTERED_MODEL_NAMES, Settings
from triage.domain.taxonomy import Taxonomy
from triage.engine.pipeline import TriagePipeline
from triage.engine.stages.classify import CategoryClassifier
from triage.engine.stages.sentiment import SentimentScorer
from triage.engine.stages.suggest import AnswerSuggester
from triage.engine.stages.urgency import UrgencyScorer
from triage.engine.stages.zero_shot import ZeroShotClassifier, zero_shot_version
from triage.kernel.errors import ModelNotReady

logger = logging.getLogger(__name__)

ZERO_SHOT = "zero-shot"
#: The default models shipped with the repository (python -m training.default_models rebuilds them).
PRETRAINED_DIR = Path(__file__).resolve().parents[2] / "models" / "pretrained"
TASKS = ("category", "urgency", "sentiment")


def default_uri(task: str) -> str:
    """The registry URI serving uses for ``task`` unless configured otherwise."""
    return f"models:/{REGISTERED_MODEL_NAMES[task]}@champion"


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
    settings: Settings,
    *,
    encoder: SentenceEncoder | None = None,
    with_kb: bool = True,
    taxonomy: Taxonomy | None = None,
) -> TriagePipeline:
    """Load every model named in ``settings`` and compose the pipeline.

    Args:
        settings: Model URIs (``models:/...@champion``, folders, or ``zero-shot``), encoder, KB folder.
        encoder: An already-loaded encoder to share (tests); loaded from settings otherwise.
        with_kb: Attach the knowledge-base stage when an index exists at ``settings.resolved_kb_dir``.
        taxonomy: The loaded taxonomy file (``triage.adapters.taxonomy_file.load_taxonomy``), needed to classify
            zero-shot while no category model is trained.

    Raises:
        ModelNotReady: a configured model URI resolves to nothing, or zero-shot is needed and no taxonomy given.
        ArtifactMismatch: a model was trained on another encoder.
    """
    set_search_threads(settings.threads)
    shared = MemoizedEncoder(encoder or load_configured_encoder(settings), max_size=settings.encode_cache_size)
    suggest = _knowledge_base_stage(settings, shared) if with_kb else None
    return TriagePipeline(
        classify=_category_stage(settings, shared, taxonomy),
        urgency=UrgencyScorer(_artifact(settings, "urgency"), shared),
        sentiment=SentimentScorer(_artifact(settings, "sentiment"), shared),
        suggest=suggest,
        encoder=shared,
        max_chars=settings.max_text_chars,
    )


def _load(settings: Settings, uri: str) -> ModelArtifact:
    return load_artifact(uri, tracking_uri=settings.resolved_mlflow_uri, cache_dir=settings.home / "model-cache")


def _fallback_uri(settings: Settings, task: str) -> str | None:
    """What serves ``task`` while its default registry URI has no champion: zero-shot, or the shipped default."""
    if settings.model_uri(task) != default_uri(task):
        return None
    if task == "category":
        return ZERO_SHOT
    return str(PRETRAINED_DIR / task) if (PRETRAINED_DIR / task).is_dir() else None


def _artifact(settings: Settings, task: str) -> ModelArtifact:
    """The configured model; the shipped default while the default registry URI has no champion."""
    try:
        return _load(settings, settings.model_uri(task))
    except ModelNotReady:
        fallback = _fallback_uri(settings, task)
        if fallback is None:
            raise
        logger.info("no %s champion registered; serving the shipped default %s", task, fallback)
        return load_artifact(fallback)


def _category_stage(
    settings: Settings, encoder: SentenceEncoder, taxonomy: Taxonomy | None
) -> CategoryClassifier | ZeroShotClassifier:
    uri = settings.category_model
    if uri != ZERO_SHOT:
        try:
            artifact = _load(settings, uri)
        except ModelNotReady:
            if _fallback_uri(settings, "category") is None:
                raise
            logger.info("no category champion registered; classifying zero-shot against the taxonomy")
        else:
            return CategoryClassifier(
                artifact, encoder, abstain_threshold=settings.abstain_threshold, target_accuracy=settings.target_accuracy
            )
    if taxonomy is None:
        raise ModelNotReady(
            f"no category model at {uri} and no taxonomy to classify zero-shot against; train one with "
            "`triage train --task category` or load the taxonomy file"
        )
    return ZeroShotClassifier(taxonomy, encoder, abstain_threshold=settings.abstain_threshold)


def _knowledge_base_stage(settings: Settings, encoder: SentenceEncoder) -> AnswerSuggester | None:
    folder = settings.resolved_kb_dir
    if not folder.exists():
        logger.info("no knowledge base at %s; suggestions are off", folder)
        return None
    return AnswerSuggester(KnowledgeBase.load(folder, encoder=encoder))


def configured_versions(settings: Settings, taxonomy: Taxonomy | None = None) -> dict[str, str]:
    """The model version each task would serve now (``triage-category/4``), for hot reload; cheap to poll.

    A default URI with no champion gives its fallback's version (zero-shot's taxonomy digest, the shipped
    default's card), so registering a first champion is seen as a change and a fallback is not reloaded forever.

    Raises:
        ModelNotReady: a configured URI resolves to nothing (and has no fallback).
    """

    def version_of(uri: str) -> str:
        if uri == ZERO_SHOT:
            if taxonomy is None:
                raise ModelNotReady("zero-shot categories need the taxonomy")
            return zero_shot_version(taxonomy)
        if uri.startswith("models:/"):
            return registered_version(uri, tracking_uri=settings.resolved_mlflow_uri)
        return load_card(Path(uri)).version

    versions = {}
    for task in TASKS:
        try:
            versions[task] = version_of(settings.model_uri(task))
        except ModelNotReady:
            fallback = _fallback_uri(settings, task)
            if fallback is None:
                raise
            versions[task] = version_of(fallback)
    return versions


def pinned_model_uri(settings: Settings, task: str) -> str:
    """The URI a long batch run loads for ``task`` on every worker: a registry alias pinned to today's version, or
    the fallback (zero-shot, the shipped default) while the default URI has no champion.

    Raises:
        ModelNotReady: a configured URI resolves to nothing (and has no fallback).
    """
    try:
        return pin_model_uri(settings.model_uri(task), tracking_uri=settings.resolved_mlflow_uri)
    except ModelNotReady:
        fallback = _fallback_uri(settings, task)
        if fallback is None:
            raise
        return fallback

"""Build the serving pipeline from settings: one encoder, three stages, and the knowledge base if present.

Which model serves each stage:

* **category**: ``settings.category_model`` (default ``models:/triage-category@champion``). While the registry has
  no such champion (a new organisation, before any ``triage train``), the zero-shot stage classifies against the
  taxonomy file; ``TRIAGE_CATEGORY_MODEL=zero-shot`` forces it. Once a model is trained and promoted through the
  champion gate, it takes over at the next start, with no configuration change.
* **sentiment**, **urgency**: the registry's champion; while there is none, the default shipped in
  ``models/pretrained/<task>`` (trained on real public text; ``triage demo`` registers it as a version).
"""

from __future__ import annotations

import logging
from pathlib import Path

from kb_index.knowledge_base import KnowledgeBase
from models.encoder import MemoizedEncoder, SentenceEncoder, load_encoder
from models.loading import ModelArtifact, load_artifact
from triage.config import REGISTERED_MODEL_NAMES, Settings
from triage.domain.taxonomy import Taxonomy
from triage.engine.pipeline import TriagePipeline
from triage.engine.stages.classify import CategoryClassifier
from triage.engine.stages.sentiment import SentimentScorer
from triage.engine.stages.suggest import AnswerSuggester
from triage.engine.stages.urgency import UrgencyScorer
from triage.engine.stages.zero_shot import ZeroShotClassifier
from triage.kernel.errors import ModelNotReady

logger = logging.getLogger(__name__)

ZERO_SHOT = "zero-shot"
#: The default models shipped with the repository (python -m training.default_models rebuilds them).
PRETRAINED_DIR = Path(__file__).resolve().parents[2] / "models" / "pretrained"


def default_uri(task: str) -> str:
    """The registry URI serving uses for ``task`` unless configured otherwise."""
    return f"models:/{REGISTERED_MODEL_NAMES[task]}@champion"


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
    shared = MemoizedEncoder(encoder or load_encoder(settings.encoder), max_size=settings.encode_cache_size)
    suggest = _knowledge_base_stage(settings, shared) if with_kb else None
    sentiment = _artifact(settings, "sentiment")
    urgency = _artifact(settings, "urgency")
    return TriagePipeline(
        classify=_category_stage(settings, shared, taxonomy),
        urgency=UrgencyScorer(urgency, shared),
        sentiment=SentimentScorer(sentiment, shared),
        suggest=suggest,
        encoder=shared,
        max_chars=settings.max_text_chars,
    )


def _artifact(settings: Settings, task: str) -> ModelArtifact:
    """The configured model; the shipped default while the default registry URI has no champion."""
    uri = settings.model_uri(task)
    try:
        return load_artifact(uri, tracking_uri=settings.resolved_mlflow_uri, cache_dir=settings.home / "model-cache")
    except ModelNotReady:
        shipped = PRETRAINED_DIR / task
        if uri != default_uri(task) or not shipped.is_dir():
            raise
        logger.info("no %s champion registered; serving the shipped default %s", task, shipped)
        return load_artifact(str(shipped))


def _category_stage(
    settings: Settings, encoder: SentenceEncoder, taxonomy: Taxonomy | None
) -> CategoryClassifier | ZeroShotClassifier:
    uri = settings.category_model
    if uri != ZERO_SHOT:
        try:
            artifact = load_artifact(
                uri, tracking_uri=settings.resolved_mlflow_uri, cache_dir=settings.home / "model-cache"
            )
        except ModelNotReady:
            if uri != default_uri("category"):
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

"""A Dask worker plugin serving a pipeline of fakes, which can be told to fail, for the cluster tests.

It lives in an importable module (not a test file) because the plugin is serialised to the workers.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.encoder import MemoizedEncoder
from tests.fakes import FakeEncoder, make_artifact
from triage.adapters.dask_batch import PipelinePlugin
from triage.engine.pipeline import TriagePipeline
from triage.engine.stages.classify import CategoryClassifier
from triage.engine.stages.sentiment import SentimentScorer
from triage.engine.stages.urgency import UrgencyScorer

CATEGORIES = {
    "repair/network": "vpn wifi network 网络",
    "billing/refund": "refund money 退款",
    "billing/invoice": "invoice 发票",
}
URGENCY = {"P1": "outage down all users", "P2": "blocked cannot work", "P3": "problem issue", "P4": "question how"}
SENTIMENT = {"negative": "angry terrible 太过分", "neutral": "please check", "positive": "thanks great 谢谢"}
#: Texts containing these markers make the pipeline raise: once per process, or on every attempt.
FAIL_ONCE, FAIL_ALWAYS = "FAIL-ONCE", "FAIL-ALWAYS"
_failed_once: set[str] = set()


def fake_pipeline(kind: type[TriagePipeline] = TriagePipeline) -> TriagePipeline:
    encoder = FakeEncoder()
    shared = MemoizedEncoder(encoder)
    return kind(
        classify=CategoryClassifier(make_artifact("category", CATEGORIES, encoder), shared),
        urgency=UrgencyScorer(make_artifact("urgency", URGENCY, encoder), shared),
        sentiment=SentimentScorer(make_artifact("sentiment", SENTIMENT, encoder), shared),
        encoder=shared,
    )


class FlakyPipeline(TriagePipeline):
    """The fake pipeline, raising on texts marked to fail (a stand-in for a worker that breaks mid-run)."""

    def batch(self, texts: Sequence[str], tickets=None):  # noqa: ANN001, ANN201
        for text in texts:
            if FAIL_ALWAYS in text:
                raise RuntimeError("disk full")
            if FAIL_ONCE in text and text not in _failed_once:
                _failed_once.add(text)
                raise RuntimeError("worker lost its connection")
        return super().batch(texts, tickets)


class FakePipelinePlugin(PipelinePlugin):
    def build(self) -> TriagePipeline:
        return fake_pipeline(FlakyPipeline)

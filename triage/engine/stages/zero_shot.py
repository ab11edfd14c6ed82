"""Zero-shot category stage: classify against the taxonomy file with no trained model (a cold start).

Every leaf of the taxonomy is a label. Its prototypes are its description in each language (prefixed by its and
its parents' names) and each example phrase. A ticket's probabilities are a softmax of its best similarity to each
label's prototypes (:class:`models.zero_shot.PrototypeClassifier`); the stage abstains when the best probability
is below the abstain threshold (``low_confidence``) or the best similarity is below ``scope_floor``
(``out_of_scope``). Once agents' corrections exist, ``triage train --task category`` trains a head, and serving
takes the registry's champion instead (see ``triage.engine.factory``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from models.encoder import SentenceEncoder
from models.zero_shot import DEFAULT_TEMPERATURE, PrototypeClassifier, fit_temperature
from triage.domain.taxonomy import Category, Taxonomy, label_prefixes
from triage.engine.results import CategoryPrediction, LabelScore
from triage.kernel.errors import StageFailed

#: Below this confidence the zero-shot stage abstains.
DEFAULT_ABSTAIN_THRESHOLD = 0.5
#: Below this best cosine similarity a ticket is out of scope (nothing in the taxonomy resembles it).
DEFAULT_SCOPE_FLOOR = 0.15
#: Examples needed (over at least two labels) before the temperature is fitted on them.
MIN_EXAMPLES_TO_FIT = 6


def prototype_texts(taxonomy: Taxonomy, category: Category) -> list[str]:
    """The texts that stand for ``category``: per language, "parent name / name: description", then examples."""
    chain = [taxonomy.categories[p] for p in reversed(label_prefixes(category.path)) if p in taxonomy.categories]
    languages = sorted({*category.names, *category.descriptions}) or ["en"]
    texts = []
    for language in languages:
        title = " / ".join(entry.name(language) for entry in chain)
        description = category.descriptions.get(language, "")
        texts.append(f"{title}: {description}" if description else title)
    return texts + list(category.examples)


def _prototypes(taxonomy: Taxonomy) -> tuple[list[str], list[str], list[int], list[bool]]:
    """Labels (the sorted leaves), every prototype text, the index of its label, and whether it is an example."""
    leaves = sorted(taxonomy.leaves(), key=lambda c: c.path)
    texts: list[str] = []
    owners: list[int] = []
    is_example: list[bool] = []
    for index, category in enumerate(leaves):
        own = prototype_texts(taxonomy, category)
        texts += own
        owners += [index] * len(own)
        is_example += [False] * (len(own) - len(category.examples)) + [True] * len(category.examples)
    return [c.path for c in leaves], texts, owners, is_example


def zero_shot_version(taxonomy: Taxonomy) -> str:
    """The version a zero-shot stage built from ``taxonomy`` reports: a digest of its prototypes (no encoding)."""
    _, texts, owners, _ = _prototypes(taxonomy)
    digest = hashlib.sha256("\x1e".join(f"{o}\x1f{t}" for o, t in zip(owners, texts, strict=True)).encode())
    return f"zero-shot/{digest.hexdigest()[:12]}"


class ZeroShotClassifier:
    """Category stage built from a taxonomy file alone.

    Example:
        >>> classifier = ZeroShotClassifier(load_taxonomy("config/taxonomy.toml"), encoder)
        >>> classifier("I was charged twice for my order").label
        'billing/payment'

    Args:
        taxonomy: The organisation's taxonomy; its leaves are the labels.
        encoder: The shared (memoised) sentence encoder.
        abstain_threshold: Confidence below which the stage abstains.
        scope_floor: Best similarity below which a ticket is out of scope.
        top_k: Alternatives returned in ``ranking``.
    """

    name = "category"

    def __init__(
        self,
        taxonomy: Taxonomy,
        encoder: SentenceEncoder,
        *,
        abstain_threshold: float | None = None,
        scope_floor: float = DEFAULT_SCOPE_FLOOR,
        top_k: int = 3,
    ) -> None:
        self.labels, texts, owners, is_example = _prototypes(taxonomy)
        self.encoder = encoder
        embeddings = encoder.encode(texts)
        owners_array, examples = np.asarray(owners), np.flatnonzero(is_example)
        temperature = DEFAULT_TEMPERATURE
        if len(examples) >= MIN_EXAMPLES_TO_FIT and len(set(owners_array[examples].tolist())) >= 2:
            model = PrototypeClassifier(self.labels, embeddings, owners_array, temperature=DEFAULT_TEMPERATURE)
            scores = model.similarities(embeddings[examples], exclude=examples)
            temperature = fit_temperature(scores, owners_array[examples])
        self.model = PrototypeClassifier(self.labels, embeddings, owners_array, temperature=temperature)
        self.abstain_threshold = DEFAULT_ABSTAIN_THRESHOLD if abstain_threshold is None else float(abstain_threshold)
        self.scope_floor = scope_floor
        self.top_k = top_k
        self.model_version = zero_shot_version(taxonomy)

    def __call__(self, text: str) -> CategoryPrediction:
        return self.batch([text])[0]

    def batch(self, texts: Sequence[str]) -> list[CategoryPrediction]:
        """Classify several texts; equal to calling the stage on each."""
        if not texts:
            return []
        try:
            embeddings = self.encoder.encode(list(texts))
            similarities = self.model.similarities(embeddings)
            probabilities = self.model.predict_proba(embeddings)
        except Exception as exc:  # an encoder failure names the stage
            raise StageFailed(self.name, f"{type(exc).__name__}: {exc}") from exc
        return [self._decide(p, float(s.max())) for p, s in zip(probabilities, similarities, strict=True)]

    def _decide(self, probabilities: np.ndarray, best_similarity: float) -> CategoryPrediction:
        order = np.argsort(-probabilities, kind="stable")[: self.top_k]
        ranking = tuple(LabelScore(self.labels[i], round(float(probabilities[i]), 6)) for i in order)
        reason = None
        if best_similarity < self.scope_floor:
            reason = "out_of_scope"
        elif ranking[0].confidence < self.abstain_threshold:
            reason = "low_confidence"
        return CategoryPrediction(
            label=ranking[0].label, confidence=ranking[0].confidence, ranking=ranking, abstained=reason is not None,
            abstain_reason=reason, model_version=self.model_version,
        )  # fmt: skip

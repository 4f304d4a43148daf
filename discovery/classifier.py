"""A workspace's learned tagger: predicts the tag of a text, or abstains when no tag fits.

Pure Python and numpy, no Django: the tagging worker trains it from the texts people tagged, stores
`dumps()` and predicts with `loads()`.

How it works. Each text becomes a sentence embedding (`discovery.embeddings`); a multinomial
logistic regression over those vectors learns one class per tag, plus an "out of scope" class when
people marked some texts "no tag fits" (label None). A prediction's confidence is the probability
of its best tag. It abstains when the out-of-scope class wins or the confidence is below
`abstain_threshold`.

Every threshold comes from the training data only: training first runs a k-fold cross-validation,
and the held-out ("out-of-fold") predictions give the abstention threshold, each tag's auto-apply
threshold and the per-tag precision and recall shown in the quality report. Texts whose tag was
absent from a fold's training part (tags with fewer examples than folds) stand in for "no tag
fits" examples there, which is what lets a workspace with none of those still learn to abstain.

The regression is fitted with torch's L-BFGS in float32 rather than scikit-learn's: the same
model, several times faster on a small CPU, and torch is already loaded for the encoder.
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from discovery import embeddings

FORMAT_VERSION = 1
FOLDS = 5
# Inverse regularisation strength, as scikit-learn's LogisticRegression(C=...) on summed losses.
REGULARISATION_C = 10.0
# Abstain on this share of the out-of-fold "no tag fits" texts. Aimed above the wanted share: with
# few such texts the estimate is noisy and unseen texts are usually scored a little higher.
ABSTAIN_RECALL_TARGET = 0.85
# ...but never give up more than this share of the correct out-of-fold tag predictions for it.
MAX_CORRECT_LOST = 0.10
# With no "no tag fits" examples at all: abstain below the confidence of the least sure 5% of
# correct out-of-fold predictions.
CORRECT_LOST_WITHOUT_NEGATIVES = 0.05
# A tag is auto-applied only where its out-of-fold precision reaches this...
AUTO_PRECISION = 0.9
# ...and only once it has this many examples; below that it is only ever suggested.
AUTO_MIN_EXAMPLES = 5
ALTERNATIVES = 3

Encoder = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Prediction:
    """The best tag for a text, or None when the classifier abstains (no tag fits).

    `confidence` is the probability of the best tag, abstaining or not; `alternatives` lists the
    best tags with their probabilities, most likely first.
    """

    label: str | None
    confidence: float
    alternatives: tuple[tuple[str, float], ...] = ()


@dataclass
class TagClassifier:
    labels: tuple[str, ...]
    # (dimensions, classes) and (classes,): the tags in `labels` order, then "out of scope" if any.
    weights: np.ndarray
    bias: np.ndarray
    abstain_threshold: float
    auto_thresholds: dict[str, float]
    # Out-of-fold precision, recall and support per tag, for the quality report.
    metrics: dict[str, dict[str, float]]
    # Out-of-fold overall figures: precision, recall (accuracy on tagged texts), support,
    # abstain_rate, and abstain_recall (share of "no tag fits" texts abstained on).
    summary: dict[str, float]
    encoder: Encoder = field(default=embeddings.encode, repr=False, compare=False)

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[str | None],
        *,
        seed: int = 0,
        folds: int = FOLDS,
        encoder: Encoder = embeddings.encode,
    ) -> TagClassifier:
        """Fit on texts and their tags (None: a person said no tag fits).

        Raises ValueError unless there are at least two classes, counting "no tag fits" as one.
        """
        names, y = _classes(texts, labels)
        vectors = encoder(list(texts))
        fit = _OutOfFold.run(vectors, y, len(names), folds=folds, seed=seed)
        weights, bias = _fit(vectors, y, _n_classes(names, y))
        return cls(
            labels=names,
            weights=weights,
            bias=bias,
            abstain_threshold=fit.abstain_threshold,
            auto_thresholds=fit.auto_thresholds(names),
            metrics=fit.metrics(names),
            summary=fit.summary(),
            encoder=encoder,
        )

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return self.predict_vectors(self.encoder(list(texts)))

    def predict_vectors(self, vectors: np.ndarray) -> list[Prediction]:
        """Predict from already computed embeddings (`discovery.embeddings.encode`)."""
        probabilities = _softmax(vectors @ self.weights + self.bias)
        best, confidence, abstain = _decide(probabilities, len(self.labels))
        abstain |= confidence < self.abstain_threshold
        top = np.argsort(-probabilities[:, : len(self.labels)], axis=1)[:, :ALTERNATIVES]
        predictions = []
        for row, (tag, sure, out) in enumerate(zip(best, confidence, abstain, strict=True)):
            alternatives = tuple(
                (self.labels[i], round(float(probabilities[row, i]), 4)) for i in top[row]
            )
            label = None if out else self.labels[tag]
            predictions.append(Prediction(label, round(float(sure), 4), alternatives))
        return predictions

    def auto_threshold(self, label: str) -> float:
        """The confidence from which `label` may be applied without review; inf: never."""
        return self.auto_thresholds.get(label, math.inf)

    def quality(self) -> dict[str, dict[str, float]]:
        """The quality report: `metrics` per tag and the `summary` under "_overall"."""
        return {**self.metrics, "_overall": self.summary}

    def dumps(self) -> bytes:
        """Serialise as a numpy archive (no pickle); the encoder is not included."""
        meta = {
            "format": FORMAT_VERSION,
            "labels": list(self.labels),
            "abstain_threshold": self.abstain_threshold,
            # JSON has no infinity: tags that never auto-apply are simply left out.
            "auto_thresholds": {k: v for k, v in self.auto_thresholds.items() if math.isfinite(v)},
            "metrics": self.metrics,
            "summary": self.summary,
        }
        buffer = io.BytesIO()
        np.savez(
            buffer,
            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            weights=self.weights,
            bias=self.bias,
        )
        return buffer.getvalue()

    @classmethod
    def loads(cls, data: bytes, *, encoder: Encoder = embeddings.encode) -> TagClassifier:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            meta = json.loads(archive["meta"].tobytes())
            if meta.get("format") != FORMAT_VERSION:
                raise ValueError(f"Unsupported classifier format {meta.get('format')!r}: retrain.")
            return cls(
                labels=tuple(meta["labels"]),
                weights=archive["weights"],
                bias=archive["bias"],
                abstain_threshold=meta["abstain_threshold"],
                auto_thresholds=meta["auto_thresholds"],
                metrics=meta["metrics"],
                summary=meta["summary"],
                encoder=encoder,
            )


def cross_validate(
    texts: Sequence[str],
    labels: Sequence[str | None],
    folds: int = FOLDS,
    seed: int = 0,
    *,
    encoder: Encoder = embeddings.encode,
) -> dict[str, dict[str, float]]:
    """Per-tag held-out precision, recall and support: {"12": {"precision": .9, ...}}.

    The same figures `TagClassifier.train` stores in `.metrics`, without fitting the final model.
    """
    names, y = _classes(texts, labels)
    return _OutOfFold.run(encoder(list(texts)), y, len(names), folds=folds, seed=seed).metrics(
        names
    )


@dataclass
class _OutOfFold:
    """Held-out predictions for every training text, and the thresholds they give."""

    y: np.ndarray
    n_tags: int
    best: np.ndarray
    confidence: np.ndarray
    # The fold's model preferred "out of scope" over any tag.
    out_of_scope: np.ndarray
    # The text's tag was among those the fold's model learned.
    known: np.ndarray
    abstain_threshold: float = 0.0

    @classmethod
    def run(cls, vectors: np.ndarray, y: np.ndarray, n_tags: int, *, folds: int, seed: int):
        n_classes = n_tags + int((y == n_tags).any())
        fold = _assign_folds(y, folds, seed)
        probabilities = np.zeros((len(y), n_classes), dtype=np.float32)
        known = np.zeros(len(y), dtype=bool)
        for k in np.unique(fold):
            held, kept = fold == k, fold != k
            weights, bias = _fit(vectors[kept], y[kept], n_classes)
            probabilities[held] = _softmax(vectors[held] @ weights + bias)
            known[held] = np.isin(y[held], y[kept])
        best, confidence, out_of_scope = _decide(probabilities, n_tags)
        result = cls(y, n_tags, best, confidence, out_of_scope, known)
        result.abstain_threshold = result._choose_abstain_threshold()
        return result

    def _choose_abstain_threshold(self) -> float:
        tagged = self.y < self.n_tags
        correct = tagged & self.known & ~self.out_of_scope & (self.best == self.y)
        if not correct.any():
            return 0.0
        # Keep all but MAX_CORRECT_LOST of the correct predictions, at most.
        negatives = ~tagged | (tagged & ~self.known)
        if negatives.any():
            cap = float(np.quantile(self.confidence[correct], MAX_CORRECT_LOST))
            # Texts the out-of-scope class already claims are abstained on at any threshold.
            scores = np.where(self.out_of_scope[negatives], -1.0, self.confidence[negatives])
            wanted = float(np.quantile(scores, ABSTAIN_RECALL_TARGET))
            return max(0.0, min(wanted, cap))
        return float(np.quantile(self.confidence[correct], CORRECT_LOST_WITHOUT_NEGATIVES))

    def _predicted(self) -> np.ndarray:
        """The predicted class per text, -1 when abstaining."""
        abstain = self.out_of_scope | (self.confidence < self.abstain_threshold)
        return np.where(abstain, -1, self.best)

    def metrics(self, names: tuple[str, ...]) -> dict[str, dict[str, float]]:
        predicted = self._predicted()
        report = {}
        for index, name in enumerate(names):
            support = int((self.y == index).sum())
            claimed = int((predicted == index).sum())
            hits = int(((predicted == index) & (self.y == index)).sum())
            report[name] = {
                "precision": round(hits / claimed, 4) if claimed else 0.0,
                "recall": round(hits / support, 4) if support else 0.0,
                "support": support,
            }
        return report

    def summary(self) -> dict[str, float]:
        """Overall figures; `abstain_recall` only when there are "no tag fits" examples."""
        predicted = self._predicted()
        tagged = self.y < self.n_tags
        claimed = predicted >= 0
        hits = int((claimed & (predicted == self.y)).sum())
        summary = {
            "precision": round(hits / int(claimed.sum()), 4) if claimed.any() else 0.0,
            "recall": round(hits / int(tagged.sum()), 4),
            "support": int(tagged.sum()),
            "abstain_rate": round(float((~claimed).mean()), 4),
        }
        if (~tagged).any():
            summary["abstain_recall"] = round(float((~claimed[~tagged]).mean()), 4)
        return summary

    def auto_thresholds(self, names: tuple[str, ...]) -> dict[str, float]:
        predicted = self._predicted()
        support = Counter(self.y.tolist())
        thresholds = {}
        for index, name in enumerate(names):
            if support[index] < AUTO_MIN_EXAMPLES:
                continue
            claimed = predicted == index
            order = np.argsort(-self.confidence[claimed], kind="stable")
            scores = self.confidence[claimed][order]
            hits = np.cumsum(self.y[claimed][order] == index)
            precision = hits / np.arange(1, len(scores) + 1)
            # The lowest confidence down to which the tag is still precise enough.
            good = np.flatnonzero(precision >= AUTO_PRECISION)
            if len(good):
                thresholds[name] = max(float(scores[good[-1]]), self.abstain_threshold)
        return thresholds


def _classes(
    texts: Sequence[str], labels: Sequence[str | None]
) -> tuple[tuple[str, ...], np.ndarray]:
    """The sorted tag names, and each text's class index (len(names) for "no tag fits")."""
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels.")
    names = tuple(sorted({label for label in labels if label is not None}))
    if len(names) + (None in labels) < 2:
        raise ValueError(
            "Training needs at least two classes: two tags, or one tag and "
            "some texts marked 'no tag fits'."
        )
    index = {name: i for i, name in enumerate(names)}
    y = np.array([len(names) if label is None else index[label] for label in labels])
    return names, y


def _n_classes(names: tuple[str, ...], y: np.ndarray) -> int:
    return len(names) + int((y == len(names)).any())


def _assign_folds(y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Stratified folds: each class's texts dealt in turn, carrying on where the last class ended.

    So classes with fewer texts than folds still spread over different folds.
    """
    rng = np.random.default_rng(seed)
    folds = max(2, min(folds, len(y)))
    fold = np.empty(len(y), dtype=np.int64)
    position = 0
    for cls in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == cls))
        fold[members] = (position + np.arange(len(members))) % folds
        position += len(members)
    return fold


def _fit(vectors: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """L2-regularised multinomial logistic regression, as LogisticRegression(C=...)."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    target = torch.from_numpy(y.astype(np.int64))
    weights = torch.zeros((x.shape[1], n_classes), requires_grad=True)
    bias = torch.zeros(n_classes, requires_grad=True)
    optimiser = torch.optim.LBFGS(
        [weights, bias],
        max_iter=300,
        history_size=10,
        tolerance_grad=1e-5,
        tolerance_change=1e-9,
        line_search_fn="strong_wolfe",
    )
    # scikit-learn's C weighs a summed loss; ours is a mean, so the penalty is divided by n.
    penalty = 1.0 / (2 * REGULARISATION_C * len(y))

    def loss():
        optimiser.zero_grad()
        value = torch.nn.functional.cross_entropy(x @ weights + bias, target)
        value = value + penalty * (weights * weights).sum()
        value.backward()
        return value

    optimiser.step(loss)
    return weights.detach().numpy(), bias.detach().numpy()


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _decide(probabilities: np.ndarray, n_tags: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best tag, its probability, and whether "out of scope" beat it, per row."""
    tags = probabilities[:, :n_tags]
    best = tags.argmax(axis=1)
    confidence = tags[np.arange(len(tags)), best]
    if probabilities.shape[1] > n_tags:
        out_of_scope = probabilities[:, n_tags] > confidence
    else:
        out_of_scope = np.zeros(len(tags), dtype=bool)
    return best, confidence, out_of_scope

"""The learned tagger: learns from a handful of examples, abstains on the unrelated, round-trips."""

from __future__ import annotations

import math

import numpy as np
import pytest

from discovery import embeddings
from discovery.classifier import FORMAT_VERSION, Prediction, TagClassifier, cross_validate

EXAMPLES = {
    "billing": [
        "I was charged twice for my subscription this month",
        "the invoice shows the wrong amount",
        "please refund the payment you took by mistake",
        "why did my credit card get billed again",
        "can I get a receipt for last month's charge",
    ],
    "export": [
        "I need to export my data to a CSV file",
        "the Excel export is missing columns",
        "let me download all reports as a spreadsheet",
        "exporting to PDF fails for large boards",
        "is there a way to export everything at once",
    ],
    "login": [
        "I can't log in, the password reset email never arrives",
        "single sign-on with Google keeps failing",
        "my account is locked after too many sign-in attempts",
        "two-factor authentication code is rejected",
        "the login page just spins forever",
    ],
}
UNRELATED = [
    "my grandmother's lasagna recipe needs more basil",
    "the hiking trail up the mountain was closed because of snow",
    "who won the football match last night",
]
NO_TAG_FITS = [
    "what a lovely sunny day it is today",
    "I am going on holiday to Spain next week",
    "my cat likes to sleep on the keyboard",
]


def _training(*, with_no_tag: bool):
    texts = [text for examples in EXAMPLES.values() for text in examples]
    labels = [tag for tag, examples in EXAMPLES.items() for _ in examples]
    if with_no_tag:
        texts += NO_TAG_FITS
        labels += [None] * len(NO_TAG_FITS)
    return texts, labels


@pytest.fixture(scope="module")
def model():
    return TagClassifier.train(*_training(with_no_tag=False), seed=0)


def test_the_encoder_returns_unit_vectors():
    vectors = embeddings.encode(["hello there", "", "a much longer sentence about exports"])
    assert vectors.shape == (3, embeddings.DIMENSIONS)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


def test_learns_tags_from_a_handful_of_examples(model):
    predictions = model.predict(
        [
            "you billed my card two times",
            "how do I get my boards out as a CSV",
            "I forgot my password and cannot sign in",
        ]
    )
    assert [p.label for p in predictions] == ["billing", "export", "login"]
    for prediction in predictions:
        assert 0.0 <= prediction.confidence <= 1.0
        assert prediction.alternatives[0] == (prediction.label, prediction.confidence)


def test_abstains_on_unrelated_text_without_any_no_tag_examples(model):
    predictions = model.predict(UNRELATED)
    assert [p.label for p in predictions] == [None] * len(UNRELATED)
    # Abstaining still tells the closest tag, for a "maybe" display.
    assert all(p.alternatives for p in predictions)


def test_learns_from_no_tag_fits_examples():
    trained = TagClassifier.train(*_training(with_no_tag=True), seed=0)
    overall = trained.quality()["_overall"]
    assert overall.keys() == {"precision", "recall", "support", "abstain_rate", "abstain_recall"}
    assert overall["support"] == 15
    predictions = trained.predict(["the refund never reached my bank", *UNRELATED])
    assert [p.label for p in predictions] == ["billing", None, None, None]


def test_thresholds_come_from_cross_validation(model):
    assert 0.0 <= model.abstain_threshold < 1.0
    for tag in EXAMPLES:
        assert model.abstain_threshold <= model.auto_threshold(tag) <= 1.0 or math.isinf(
            model.auto_threshold(tag)
        )
        assert set(model.metrics[tag]) == {"precision", "recall", "support"}
        assert model.metrics[tag]["support"] == 5
    assert math.isinf(model.auto_threshold("never seen"))


def test_tags_with_too_few_examples_never_auto_apply():
    texts, labels = _training(with_no_tag=False)
    texts += ["the dashboard chart colours are hard to read"]
    labels += ["charts"]
    trained = TagClassifier.train(texts, labels, seed=0)
    assert math.isinf(trained.auto_threshold("charts"))


def test_cross_validate_reports_each_tag():
    report = cross_validate(*_training(with_no_tag=True), folds=5, seed=0)
    assert set(report) == set(EXAMPLES)
    for figures in report.values():
        assert 0.0 <= figures["precision"] <= 1.0
        assert 0.0 <= figures["recall"] <= 1.0
        assert figures["support"] == 5


def test_dumps_and_loads_give_identical_predictions(model):
    texts = ["refund please", "export to csv", *UNRELATED]
    blob = model.dumps()
    restored = TagClassifier.loads(blob)
    assert restored.predict(texts) == model.predict(texts)
    assert restored.abstain_threshold == model.abstain_threshold
    assert restored.auto_thresholds == {
        k: v for k, v in model.auto_thresholds.items() if math.isfinite(v)
    }
    assert restored.metrics == model.metrics


def test_loads_refuses_another_format(model, monkeypatch):
    monkeypatch.setattr("discovery.classifier.FORMAT_VERSION", FORMAT_VERSION + 1)
    blob = model.dumps()
    monkeypatch.undo()
    with pytest.raises(ValueError, match="format"):
        TagClassifier.loads(blob)


def test_training_is_deterministic_with_a_seed(model):
    again = TagClassifier.train(*_training(with_no_tag=False), seed=0)
    assert again.dumps() == model.dumps()


@pytest.mark.parametrize(
    ("texts", "labels"),
    [
        ([], []),
        (["only one tag", "still one tag"], ["a", "a"]),
        (["no tag at all"], [None]),
    ],
)
def test_refuses_fewer_than_two_classes(texts, labels):
    with pytest.raises(ValueError, match="at least two classes"):
        TagClassifier.train(texts, labels)


def test_one_tag_and_no_tag_fits_examples_are_two_classes():
    trained = TagClassifier.train(EXAMPLES["billing"] + NO_TAG_FITS, ["billing"] * 5 + [None] * 3)
    assert trained.labels == ("billing",)
    prediction, unrelated = trained.predict(["I was charged twice", UNRELATED[0]])
    assert prediction == Prediction(
        "billing", prediction.confidence, (("billing", prediction.confidence),)
    )
    assert unrelated.label is None


def test_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        TagClassifier.train(["a", "b"], ["x"])

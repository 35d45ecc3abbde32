"""The column-wise TF-IDF matrices are scikit-learn's, bit for bit: the same columns, the
same values and the same storage order within each row (the solver sums in it)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

import sfttui.engine.text.tfidf as tfidf
from sfttui.engine.analyses.labelmodel import vectorizer
from sfttui.engine.text.tfidf import char_wb_tfidf, word_tfidf

from .conftest import SHARED_DATA

HOSTILE = [
    "a\x1cb\x1dc\x1e d\x1f",  # str.split() splits on the information separators
    "\u3000x\u3000\u3000y\x85z\xa0w",  # ideographic space, NEL, no-break space
    "\x00\x00 a\x00",
    "😀😀 🇫🇷 𝔘𝔫𝔦",  # astral code points
    "",
    "   ",
    "\t\nq\r\x0b\x0c",
    "ß ẞ İ ǅ",
    "\u2028line\u2029para \u200bzero\u200bwidth",
    "x" * 50 + " " + "y",
    "[bold]markup[/] \x1b[2J",
    "ab cd",
    "x",
]


def sklearn_tfidf(texts: list[str], max_features: int):
    return TfidfVectorizer(
        sublinear_tf=True,
        analyzer="char_wb",
        ngram_range=(1, 3),
        lowercase=False,
        max_features=max_features,
        dtype=np.float32,
    ).fit_transform(texts)


def assert_same_matrix(got, want) -> None:
    assert type(got) is type(want) and got.shape == want.shape and got.dtype == want.dtype
    assert got.indptr.dtype == want.indptr.dtype and got.indices.dtype == want.indices.dtype
    assert np.array_equal(got.indptr, want.indptr)
    assert np.array_equal(got.indices, want.indices)  # storage order too, not only the set
    assert np.array_equal(got.data, want.data)


def real_texts(name: str, field: str, rows: int) -> list[str]:
    path = SHARED_DATA / f"{name}.jsonl"
    if not path.exists():
        pytest.skip("shared data not present")
    with path.open(encoding="utf-8") as lines:
        return [str(json.loads(line)[field]) for _, line in zip(range(rows), lines)]


@pytest.mark.parametrize("max_features", [1 << 16, 7])
def test_hostile_text_gives_sklearns_matrix(max_features):
    assert_same_matrix(char_wb_tfidf(HOSTILE, max_features), sklearn_tfidf(HOSTILE, max_features))


@pytest.mark.parametrize(("name", "field"), [("tweeteval_hate", "text"), ("code_alpaca_2k", "instruction")])
@pytest.mark.parametrize("max_features", [1 << 16, 300])
def test_real_text_gives_sklearns_matrix(name, field, max_features):
    # 300 of several thousand n-grams: the cut by total count, ties broken as sklearn does.
    texts = real_texts(name, field, 3000)
    got = char_wb_tfidf(texts, max_features)
    assert_same_matrix(got, sklearn_tfidf(texts, max_features))
    assert (got.shape[1] == 300) if max_features == 300 else (got.shape[1] > 5000)


def test_texts_counted_in_many_parts_give_the_same_matrix(monkeypatch):
    # A few thousand code points per part: first sightings and columns cross the parts.
    texts = real_texts("tweeteval_hate", "text", 400) + HOSTILE
    want = char_wb_tfidf(texts, 1 << 16)
    monkeypatch.setattr(tfidf, "_CHUNK", 3000)
    assert len(tfidf._doc_chunks(np.array([len(t) for t in texts]))) > 10
    assert_same_matrix(char_wb_tfidf(texts, 1 << 16), want)
    assert_same_matrix(want, sklearn_tfidf(texts, 1 << 16))


def test_text_without_a_word_is_sklearns_error():
    with pytest.raises(ValueError, match="empty vocabulary"):
        char_wb_tfidf(["", " \t\n", "\u3000"], 1 << 16)
    with pytest.raises(ValueError, match="empty vocabulary"):
        sklearn_tfidf(["", " \t\n", "\u3000"], 1 << 16)


@pytest.mark.parametrize(
    ("name", "field", "rows"),
    [("tweeteval_hate", "text", 3000), ("code_alpaca_2k", "instruction", 2000), ("trec", "text", 500)],
)
def test_words_give_sklearns_matrix(name, field, rows):
    # Tweets mix ASCII texts (Polars) with emoji and accents (sklearn's analyzer); 500
    # TREC questions keep words seen once (min_df 1), the others drop them (min_df 2).
    texts = real_texts(name, field, rows) + HOSTILE
    got = word_tfidf(texts, vectorizer(len(texts)))
    assert_same_matrix(got, vectorizer(len(texts)).fit_transform(texts))
    assert got.shape[1] > 900 and got.nnz > 4000


def test_words_cut_to_max_features_and_other_settings_ask_sklearn():
    texts = real_texts("tweeteval_hate", "text", 1500)
    few = vectorizer(len(texts)).set_params(max_features=50)
    assert_same_matrix(
        word_tfidf(texts, few), vectorizer(len(texts)).set_params(max_features=50).fit_transform(texts)
    )
    assert word_tfidf(texts, few).shape[1] == 50
    bigrams = vectorizer(len(texts)).set_params(ngram_range=(1, 2))  # not ours: sklearn's own
    assert_same_matrix(
        word_tfidf(texts, bigrams), vectorizer(len(texts)).set_params(ngram_range=(1, 2)).fit_transform(texts)
    )


def test_words_without_a_word_are_sklearns_errors():
    for texts in (["", "!!", "\u3000"], ["", "¿?", " "]):
        with pytest.raises(ValueError, match="empty vocabulary"):
            word_tfidf(texts, vectorizer(len(texts)))
    texts = [f"word{i} alone" for i in range(1000)]  # min_df 2 at 1000 rows: only "alone"
    assert_same_matrix(word_tfidf(texts, vectorizer(1000)), vectorizer(1000).fit_transform(texts))
    with pytest.raises(ValueError, match="no terms remain"):
        word_tfidf([f"w{i}" for i in range(1000)], vectorizer(1000))

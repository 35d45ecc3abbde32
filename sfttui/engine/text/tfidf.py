"""scikit-learn's TF-IDF matrices, built column-at-a-time.

scikit-learn's TfidfVectorizer cuts every text into Python strings and counts them in
a dict, which is most of a small classifier's time outside its solver (adversarial
validation, the label model). Here tokens become arrays: character 1-3-grams inside
words (`char_wb_tfidf`) as integers whose order is their string's, and words
(`word_tfidf`) from Polars' regex on ASCII texts, scikit-learn's own analyzer on the
rest. The matrices are scikit-learn's bit for bit: same vocabulary order, same
pruning (the same unstable argsort over the same totals), same storage order within
each row (the order tokens were first met, which the solver's sums follow), same
TF-IDF transform (tests/test_tfidf.py holds them to scikit-learn's on real and hostile
text).
"""

from __future__ import annotations

import sys
from functools import lru_cache
from itertools import pairwise
from typing import Any

import numpy as np

_PAD = ord(" ")
_BITS = 21  # code points fit in 21 bits; one more than a code point keeps 0 for "none"
_CHUNK = 1 << 22  # code points per pass: bounds the temporaries at ~0.5 GB
_EMPTY = "empty vocabulary; perhaps the documents only contain stop words"  # scikit-learn's words


def char_wb_tfidf(texts: list[str], max_features: int) -> Any:
    """What `TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=(1, 3),
    lowercase=False, max_features=max_features, dtype=np.float32).fit_transform(texts)`
    gives. Raises ValueError on texts without a word, as scikit-learn does."""
    return _sublinear_tfidf(char_wb_counts(texts, max_features))


def char_wb_counts(texts: list[str], max_features: int) -> Any:
    """Count matrix of the texts' character 1-3-grams inside space-padded words (rows:
    texts, columns: n-grams in string order), cut to the `max_features` most frequent."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    parts = []
    seen = 0  # n-grams of earlier chunks: where this chunk's first sightings count from
    for lo, hi in _doc_chunks(lengths):
        part = _count_pairs(texts[lo:hi], lengths[lo:hi], seen)
        parts.append((part[0] + lo, *part[1:]))
        seen = part[-1]
    if not parts or not sum(p[1].size for p in parts):
        raise ValueError(_EMPTY)
    doc, key, count = (np.concatenate([p[i] for p in parts]) for i in range(3))
    vocabulary, column = _dense(key)
    first = np.full(vocabulary.size, np.iinfo(np.int64).max)
    for *_, distinct, sighted, _ in parts:
        np.minimum.at(first, np.searchsorted(vocabulary, distinct), sighted)
    return _matrix(len(texts), doc, column, count, first, min_df=1, max_features=max_features)


# What scikit-learn's default token pattern, (?u)\b\w+\b, finds in an ASCII text, and Rust's
# regex finds the same there: maximal runs of [A-Za-z0-9_] (lowercased first, as both do).
_ASCII_WORD = r"\w+"
_WORD_SETTINGS = {
    "analyzer": "word",
    "token_pattern": r"(?u)\b\w+\b",
    "lowercase": True,
    "ngram_range": (1, 1),
    "stop_words": None,
    "strip_accents": None,
    "preprocessor": None,
    "tokenizer": None,
    "vocabulary": None,
    "binary": False,
    "max_df": 1.0,
    "input": "content",
    "dtype": np.float32,
    "norm": "l2",
    "use_idf": True,
    "smooth_idf": True,
    "sublinear_tf": True,
}


def word_tfidf(texts: list[str], vectorizer: Any) -> Any:
    """`vectorizer.fit_transform(texts)` for a TfidfVectorizer of words (_WORD_SETTINGS,
    any integer min_df and max_features); any other is asked itself."""
    params = vectorizer.get_params()
    fits = all(params[k] == v for k, v in _WORD_SETTINGS.items())
    if not fits or not isinstance(params["min_df"], int) or not isinstance(params["max_features"], int):
        return vectorizer.fit_transform(texts)
    return _sublinear_tfidf(
        _word_counts(texts, vectorizer.build_analyzer(), params["min_df"], params["max_features"])
    )


def _sublinear_tfidf(counts: Any) -> Any:
    """What TfidfVectorizer(sublinear_tf=True) makes of its count matrix: fit, then
    transform in place."""
    from sklearn.feature_extraction.text import TfidfTransformer

    return TfidfTransformer(sublinear_tf=True).fit(counts).transform(counts, copy=False)


def _word_counts(texts: list[str], analyzer: Any, min_df: int, max_features: int) -> Any:
    """Count matrix of the texts' words: ASCII texts through Polars, the rest through
    scikit-learn's own analyzer, so every text gives scikit-learn's tokens in its order."""
    import polars as pl

    series = pl.Series(texts, dtype=pl.String)
    plain = ~series.str.contains(r"[^\x00-\x7F]").to_numpy()
    lists = series.filter(pl.Series(plain)).str.to_lowercase().str.extract_all(_ASCII_WORD)
    fast = np.flatnonzero(plain)
    docs = [np.repeat(fast, lists.list.len().to_numpy())]
    words = [lists.explode().drop_nulls()]
    others = np.flatnonzero(~plain)
    if others.size:
        analysed = [analyzer(texts[i]) for i in others]
        docs.append(np.repeat(others, [len(a) for a in analysed]))
        words.append(pl.Series([w for a in analysed for w in a], dtype=pl.String))
    doc = np.concatenate(docs).astype(np.int64)
    word = pl.concat(words)
    if not word.len():
        raise ValueError(_EMPTY)
    met = np.argsort(doc, kind="stable")  # scikit-learn's reading order: text by text
    pair_doc, column, count, _, first = _tally(doc[met], word.gather(met), np.arange(met.size))
    return _matrix(len(texts), pair_doc, column, count, first, min_df, max_features)


def _matrix(
    n_docs: int,
    doc: np.ndarray,
    column: np.ndarray,
    count: np.ndarray,
    first: np.ndarray,
    min_df: int,
    max_features: int,
) -> Any:
    """The count matrix scikit-learn's vectorizers build from (text, column, count), one per
    distinct token of a text, sorted by text (`first`: when each column's token was first
    met), pruned as they prune."""
    import scipy.sparse as sp
    from sklearn import get_config

    # scikit-learn numbers tokens as it first meets them, sorts each row by that number,
    # then renames the columns to string order without moving them: a row's entries are
    # stored in first-sighting order, which the solver's sums follow.
    columns = first.size
    rank = np.empty(columns, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(columns)
    order = np.argsort(doc * columns + rank[column])
    indptr = np.r_[0, np.cumsum(np.bincount(doc, minlength=n_docs))].astype(np.int32)
    matrix = sp.csr_array(
        (count[order].astype(np.intc), column[order].astype(np.int32), indptr),
        shape=(n_docs, columns),
        dtype=np.float32,
    )
    if get_config().get("sparse_interface", "spmatrix") == "spmatrix":
        matrix = sp.csr_matrix(matrix)
    # scikit-learn's pruning, step for step, so that equal totals tie the same way.
    keep = np.bincount(column, minlength=columns) >= min_df
    if keep.sum() > max_features:
        totals = np.asarray(matrix.sum(axis=0)).ravel()
        cut = np.zeros(columns, dtype=bool)
        cut[np.where(keep)[0][(-totals[keep]).argsort()[:max_features]]] = True
        keep = cut
    if not keep.any():
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    return matrix if keep.all() else matrix[:, np.where(keep)[0]]


def _tally(
    doc: np.ndarray, keys: Any, met: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For tokens (`keys`, of texts `doc`, met at `met`): (text, column, count) for each
    distinct token of each text, sorted by text then column; the distinct tokens in
    order (a column each) and when each was first met."""
    distinct, column = _dense(keys)
    first = np.full(len(distinct), np.iinfo(np.int64).max)
    np.minimum.at(first, column, met)
    pair, count = np.unique(doc * len(distinct) + column, return_counts=True)
    return pair // len(distinct), pair % len(distinct), count, distinct, first


def _dense(keys: Any) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(keys, return_inverse=True) for an array or Series, hashing instead of
    sorting all the keys (a few ten thousand distinct among millions: 0.05 s against 0.4 s)."""
    import polars as pl

    distinct = pl.Series("k", keys).unique().sort()
    index = pl.DataFrame({"k": distinct, "i": np.arange(distinct.len(), dtype=np.int64)})
    found = pl.DataFrame({"k": keys}).join(index, on="k", how="left", maintain_order="left")
    return distinct.to_numpy(), found["i"].to_numpy()


@lru_cache(maxsize=1)
def _spaces() -> np.ndarray:
    """What str.split() splits words on (Unicode whitespace and the four information
    separators), as char_wb does."""
    return np.array([c for c in range(sys.maxunicode + 1) if chr(c).isspace()], dtype=np.uint32)


def _doc_chunks(lengths: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive runs of texts of about _CHUNK code points (a longer text alone)."""
    ends = np.cumsum(lengths)
    cuts = [0]
    while cuts[-1] < lengths.size:
        start = ends[cuts[-1] - 1] if cuts[-1] else 0
        cuts.append(max(cuts[-1] + 1, int(np.searchsorted(ends, start + _CHUNK, side="right"))))
    return list(pairwise(cuts))


def _count_pairs(
    texts: list[str], lengths: np.ndarray, seen: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """For each distinct n-gram of each text: (text, n-gram key, count), sorted; each
    distinct key with where it was first met (counting from `seen`), and the new count
    of n-grams met."""
    points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    doc_of = np.repeat(np.arange(lengths.size), lengths)
    solid = ~np.isin(points, _spaces())
    chars, char_doc = points[solid], doc_of[solid]
    position = np.flatnonzero(solid)
    # A word starts where its first character does not follow another of the same text.
    starts = np.ones(chars.size, dtype=bool)
    starts[1:] = (position[1:] != position[:-1] + 1) | (char_doc[1:] != char_doc[:-1])
    first = np.flatnonzero(starts)
    word_len = np.diff(np.r_[first, chars.size])
    word_doc = char_doc[first]
    # Each word becomes " word ": its characters shifted right by 1 + 2 per earlier word.
    padded = word_len + 2
    word_at = np.cumsum(padded) - padded
    line = np.full(int(padded.sum()) + 2, _PAD, dtype=np.uint64)
    line[np.arange(chars.size) + 1 + 2 * (np.cumsum(starts) - 1)] = chars  # last 2: read, never kept
    code = line + 1
    room = np.repeat(padded, padded)
    offset = np.arange(room.size) - np.repeat(word_at, padded)
    # scikit-learn meets a word's 1-grams, then its 2-grams, then its 3-grams.
    grams_before = np.repeat(seen + np.cumsum(3 * padded - 3) - (3 * padded - 3), padded)
    gram_doc = np.repeat(word_doc, padded)
    docs, keys, sightings = [], [], []
    key = np.zeros(room.size, dtype=np.uint64)
    for n, met_before in ((1, 0), (2, room), (3, 2 * room - 1)):
        key |= code[n - 1 : n - 1 + key.size] << np.uint64(_BITS * (3 - n))
        fits = offset <= room - n
        docs.append(gram_doc[fits])
        keys.append(key[fits])
        sightings.append((grams_before + met_before + offset)[fits])
    pair_doc, column, count, distinct, first_seen = _tally(
        *(np.concatenate(p) for p in (docs, keys, sightings))
    )
    total = seen + int((3 * padded - 3).sum())
    return pair_doc, distinct[column], count, distinct, first_seen, total

"""sfttui's near-duplicate pass side by side with rensa (a Rust MinHash library), on the
same texts and the same shingles, with recall measured against exact ground truth.

    pip install -e '.[bench]'                      # rensa
    python benchmarks/bench_peer.py                # 200k chat rows
    python benchmarks/bench_peer.py --rows 1000000

The rows are bench_stages' chat rows (prompts of 12-60 words from a Zipf vocabulary,
10% near copies with a few words changed, 2% exact copies). Their texts are normalised
as sfttui does and made distinct; the pass compared is sfttui's word pass (word
3-grams of every text of 12 words or more, threshold 0.8, 128 permutations; the
character pass covers the short texts the same way). Both tools get the same shingle
sets and the same LSH banding (sfttui's, chosen for recall at the threshold):

- sfttui: `lsh_pass.near_pass` (signatures, LSH candidates, the estimate filter,
  exact Jaccard verification), from normalised texts to verified pairs;
- rensa: word 3-grams as strings (Python), `RMinHash.from_token_sets`, `RMinHashLSH`
  insert and query, timed without verification (every candidate is a pair) and with
  exact Jaccard of the shingle sets checked for each candidate (Python sets).

Ground truth: on the first `--truth-rows` texts (all of them by default), every pair
whose exact Jaccard is at least the threshold, by prefix filtering (see `truth`),
independent of both tools. Each tool is run again on those texts for recall and
precision.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from bench_stages import generate

THRESHOLD = 0.8
NUM_PERM = 128
SEED = 1


def distinct_long_texts(rows: int, workdir: Path) -> pl.Series:
    """The distinct normalised texts of `rows` chat rows that sfttui's word pass covers."""
    from sfttui.engine.io.load import load
    from sfttui.engine.settings import NearSettings
    from sfttui.engine.text.normalize import normalize_texts

    path = workdir / "chat.jsonl"
    generate(path, workdir / "eval.jsonl", rows)
    texts = normalize_texts(load([path]).rows["text"]).unique(maintain_order=True)
    words = texts.str.count_matches(" ") + 1
    return texts.filter(words >= NearSettings().short_words)


def word_shingles(texts: pl.Series) -> list[list[str]]:
    out = []
    for text in texts.to_list():
        w = text.split(" ")
        out.append([" ".join(w[i : i + 3]) for i in range(len(w) - 2)])
    return out


def encode(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    lo, hi = np.minimum(i, j).astype(np.uint64), np.maximum(i, j).astype(np.uint64)
    return np.unique(lo << np.uint64(32) | hi)


def run_sfttui(texts: pl.Series) -> tuple[float, np.ndarray, dict]:
    from sfttui.engine.analyses.lsh_pass import near_pass
    from sfttui.engine.settings import NearSettings
    from sfttui.engine.text.minhash import Shingling, lsh_params

    settings = NearSettings(threshold=THRESHOLD, num_perm=NUM_PERM, seed=SEED)
    bands, rows = lsh_params(THRESHOLD, NUM_PERM)
    start = time.perf_counter()
    result = near_pass(texts, Shingling("word", 3), settings, bands, rows, lambda f: None)
    seconds = time.perf_counter() - start
    v = result.verified
    pairs = encode(v["a"].to_numpy(), v["b"].to_numpy())
    return seconds, pairs, {"candidates": result.candidates, "estimated": result.estimated}


def run_rensa(texts: pl.Series) -> dict:
    import rensa

    from sfttui.engine.text.minhash import lsh_params

    bands, rows = lsh_params(THRESHOLD, NUM_PERM)
    # rensa's bands must use every permutation: sfttui's 25 bands of 5 use 125 of 128.
    perms = bands * rows
    t0 = time.perf_counter()
    sets = word_shingles(texts)
    t1 = time.perf_counter()
    hashes = rensa.RMinHash.from_token_sets(sets, perms, SEED)
    lsh = rensa.RMinHashLSH(threshold=THRESHOLD, num_perm=perms, num_bands=bands)
    lsh.insert_many(hashes)
    found = lsh.query_all(hashes)
    t2 = time.perf_counter()
    sizes = np.fromiter(map(len, found), np.int64, len(found))
    i = np.repeat(np.arange(len(found), dtype=np.int64), sizes)
    j = np.fromiter((k for keys in found for k in keys), np.int64, int(sizes.sum()))
    keep = i != j
    candidates = encode(i[keep], j[keep])
    t3 = time.perf_counter()
    as_sets = [set(s) for s in sets]
    a = (candidates >> np.uint64(32)).astype(np.int64)
    b = (candidates & np.uint64(0xFFFFFFFF)).astype(np.int64)
    jac = np.fromiter(
        (len(as_sets[x] & as_sets[y]) / len(as_sets[x] | as_sets[y]) for x, y in zip(a.tolist(), b.tolist())),
        np.float64,
        a.size,
    )
    verified = candidates[jac >= THRESHOLD - 1e-12]
    t4 = time.perf_counter()
    return {
        "shingles_s": t1 - t0,
        "lsh_s": t2 - t1,
        "pairs_s": t3 - t2,
        "verify_s": t4 - t3,
        "unverified": candidates,
        "verified": verified,
        "bands": bands,
    }


def truth(texts: pl.Series) -> np.ndarray:
    """Every pair with exact shingle Jaccard >= THRESHOLD, by prefix filtering (AllPairs,
    Bayardo et al. 2007): with shingles ordered rarest first, two sets that reach the
    threshold share a shingle among the first |s| - ceil(t |s|) + 1 of each. Those
    prefixes hold rare shingles, so their sparse product is small; every pair it gives
    is then checked exactly. No MinHash: independent of both tools."""
    from scipy.sparse import csr_matrix

    sets = [set(s) for s in word_shingles(texts)]
    vocab: dict[str, int] = {}
    ids = [np.array(sorted(vocab.setdefault(g, len(vocab)) for g in s), dtype=np.int64) for s in sets]
    df = np.bincount(np.concatenate(ids), minlength=len(vocab))
    rank = np.empty(len(vocab), dtype=np.int64)
    rank[np.lexsort((np.arange(len(vocab)), df))] = np.arange(len(vocab))

    def matrix(rows: list[np.ndarray]) -> csr_matrix:
        sizes = np.array([r.size for r in rows], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(sizes)])
        cols = np.concatenate(rows) if rows else np.empty(0, np.int64)
        return csr_matrix((np.ones(cols.size, np.int32), cols, indptr), shape=(len(rows), len(vocab)))

    prefixes = []
    for r in ids:
        rare_first = r[np.argsort(rank[r], kind="stable")]
        prefixes.append(rare_first[: r.size - int(np.ceil(THRESHOLD * r.size - 1e-9)) + 1])
    p = matrix(prefixes)
    cand = (p @ p.T).tocoo()
    upper = cand.row < cand.col
    a, b = cand.row[upper].astype(np.int64), cand.col[upper].astype(np.int64)
    full = matrix(ids)
    sizes = np.array([r.size for r in ids], dtype=np.int64)
    inter = np.empty(a.size, dtype=np.int64)
    for lo in range(0, a.size, 200_000):
        hi = min(lo + 200_000, a.size)
        inter[lo:hi] = np.asarray(full[a[lo:hi]].multiply(full[b[lo:hi]]).sum(axis=1)).ravel()
    jac = inter / (sizes[a] + sizes[b] - inter)
    keep = jac >= THRESHOLD - 1e-12
    return encode(a[keep], b[keep])


def score(found: np.ndarray, true: np.ndarray) -> tuple[float, float]:
    hit = np.intersect1d(found, true).size
    return hit / max(true.size, 1), hit / max(found.size, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--truth-rows", type=int, default=0, help="texts the truth covers (0: all)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    try:
        import rensa  # noqa: F401
    except ImportError:
        sys.exit("bench_peer needs rensa: pip install -e '.[bench]'")
    from sfttui.engine.runtime.memory import one_heap

    one_heap()
    with tempfile.TemporaryDirectory() as tmp:
        texts = distinct_long_texts(args.rows, Path(tmp))
    n = len(texts)
    s_time, _, s_info = run_sfttui(texts)
    r = run_rensa(texts)
    r_lsh = r["shingles_s"] + r["lsh_s"] + r["pairs_s"]
    r_all = r_lsh + r["verify_s"]
    sub = texts.head(args.truth_rows) if args.truth_rows else texts
    true = truth(sub)
    _, s_sub, _ = run_sfttui(sub)
    r_sub = run_rensa(sub)
    s_rec, s_prec = score(s_sub, true)
    u_rec, u_prec = score(r_sub["unverified"], true)
    v_rec, v_prec = score(r_sub["verified"], true)
    results = {
        "texts": n,
        "truth_texts": len(sub),
        "true_pairs": int(true.size),
        "sfttui": {"s": s_time, "rows_per_s": n / s_time, "recall": s_rec, "precision": s_prec, **s_info},
        "rensa_unverified": {"s": r_lsh, "rows_per_s": n / r_lsh, "recall": u_rec, "precision": u_prec},
        "rensa_verified": {"s": r_all, "rows_per_s": n / r_all, "recall": v_rec, "precision": v_prec},
        "rensa_parts_s": {k: r[k] for k in ("shingles_s", "lsh_s", "pairs_s", "verify_s")},
        "bands": r["bands"],
    }
    print(
        f"{n:,} distinct texts of 12+ words ({args.rows:,} chat rows), word 3-grams, threshold "
        f"{THRESHOLD}, {NUM_PERM} permutations, {r['bands']} bands; truth: {true.size:,} pairs "
        f"among the first {len(sub):,} texts"
    )
    print(f"  {'':28} {'seconds':>8} {'rows/s':>10} {'recall':>7} {'precision':>9}")
    for name, key in (
        ("sfttui near pass", "sfttui"),
        ("rensa LSH, no verification", "rensa_unverified"),
        ("rensa LSH + exact Jaccard", "rensa_verified"),
    ):
        x = results[key]
        print(f"  {name:28} {x['s']:8.2f} {x['rows_per_s']:10,.0f} {x['recall']:7.3f} {x['precision']:9.3f}")
    parts = results["rensa_parts_s"]
    print(
        "  rensa's parts: shingles (Python) {shingles_s:.2f} s, MinHash + LSH {lsh_s:.2f} s, "
        "pairs {pairs_s:.2f} s, verification (Python sets) {verify_s:.2f} s".format(**parts)
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

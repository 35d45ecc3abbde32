"""Scan speed, memory and near-duplicate recall on synthetic data with planted near duplicates.

    python benchmarks/bench_scan.py                 # N = 100k and 1M
    python benchmarks/bench_scan.py --sizes 100000 --baseline-rows 20000

For each N it writes N text/label rows (20-80 words from a Zipf vocabulary; 10% are
copies of another row with 1-4 words changed, 2% exact copies) to a JSONL file, then
runs the scan in a fresh process so the peak RSS is the scan's own, and reports
per-stage seconds, rows/s, peak RSS, and near-duplicate recall and precision against
the planted truth. Recall counts planted pairs whose true Jaccard (computed here
independently, with Python sets) is at or above the threshold.

In the same run it times the straightforward approach on the same data: one
datasketch MinHash per row (word 3-gram shingles) with MinHashLSH insert and query,
on the first `--baseline-rows` rows (it runs ~6k rows/s, so 1M rows would take
minutes and ~6 GB), and prints the rows/s ratio and its recall on the same pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

THRESHOLD = 0.8
SHORT = 12  # NearSettings.short_words
LABELS = ["billing", "shipping", "technical", "account", "other"]
_PUNCT = re.compile(r"[^\w\s]")


def peak_mb() -> float:
    """Peak RSS in MB (10**6 bytes, as file sizes are given); ru_maxrss is in KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def _vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(2, 10, size)
    words = {"".join(rng.choice(letters, n)) for n in lengths}
    return sorted(words)


def generate(path: Path, n: int, seed: int = 7) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Write n rows; return the planted (original, copy) line-index pairs: near, exact."""
    rng = np.random.default_rng(seed)
    vocab = np.array(_vocabulary(60_000, rng))
    zipf = 1.0 / np.arange(1, len(vocab) + 1) ** 1.05
    zipf /= zipf.sum()
    n_near = n // 10
    n_exact = n // 50
    n_base = n - n_near - n_exact
    lengths = rng.integers(20, 81, n_base)
    words = rng.choice(len(vocab), size=int(lengths.sum()), p=zipf)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    texts = [" ".join(vocab[words[offsets[i] : offsets[i + 1]]]) for i in range(n_base)]
    planted: list[tuple[int, int]] = []
    exact: list[tuple[int, int]] = []
    sources = rng.integers(0, n_base, n_near + n_exact)
    for k, src in enumerate(sources):
        toks = texts[src].split(" ")
        if k < n_near:
            for _ in range(int(rng.integers(1, 5))):
                toks[int(rng.integers(0, len(toks)))] = str(vocab[int(rng.integers(0, len(vocab)))])
            planted.append((int(src), len(texts)))
        else:
            exact.append((int(src), len(texts)))
        texts.append(" ".join(toks))
    labels = rng.integers(0, len(LABELS), len(texts))
    order = rng.permutation(len(texts))
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    with path.open("w", encoding="utf-8") as out:
        for i in order:
            out.write(json.dumps({"text": texts[i], "label": LABELS[labels[i]]}) + "\n")
    return (
        [(int(position[a]), int(position[b])) for a, b in planted],
        [(int(position[a]), int(position[b])) for a, b in exact],
    )


def _norm_words(text: str) -> list[str]:
    return _PUNCT.sub(" ", text.lower()).split()


def _shingles(text: str) -> tuple[set, set]:
    """Word 3-grams for texts of SHORT+ words, character 3-grams under 2 * SHORT words."""
    words = _norm_words(text)
    word = {tuple(words[i : i + 3]) for i in range(len(words) - 2)} if len(words) >= SHORT else set()
    joined = " ".join(words)
    char = {joined[i : i + 3] for i in range(len(joined) - 2)} if len(words) < 2 * SHORT else set()
    return word, char


def true_jaccard(a: str, b: str) -> float:
    """The best Jaccard over the shingle sets sfttui compares this pair with."""
    (wa, ca), (wb, cb) = _shingles(a), _shingles(b)
    best = len(wa & wb) / len(wa | wb) if wa and wb else 0.0
    if ca and cb:
        best = max(best, len(ca & cb) / len(ca | cb))
    return best


def run_scan_child(path: str) -> None:
    """In a fresh process: scan, and print stage times, found pairs and peak RSS as JSON."""
    from sfttui.engine.runtime.memory import one_heap

    one_heap()  # as the command line does: before NumPy's threads exist
    from sfttui.engine.scan import run_scan

    start = time.perf_counter()
    result = run_scan([path])
    total = time.perf_counter() - start
    dup = result.duplicates
    found = [
        (int(a.rsplit(":", 1)[1]) - 1, int(b.rsplit(":", 1)[1]) - 1)
        for a, b in dup.pairs.select("a", "b").rows()
    ]
    print(
        json.dumps(
            {
                "rows": result.dataset.rows.height,
                "total": total,
                "load": result.timings["load"],
                "exact": dup.timings["exact"],
                "near": dup.timings["near"],
                "clusters": dup.timings["clusters"],
                "balance": result.timings["balance"],
                "leakage": result.timings["leakage"],
                "coverage": result.timings["coverage"],
                "representativeness": result.timings["representativeness"],
                "peak_rss_mb": peak_mb(),
                "found": found,
                "passes": [p.to_dict() for p in dup.passes],
            }
        )
    )


def baseline(texts: list[str], planted: list[tuple[int, int]]) -> dict[str, float]:
    """One datasketch MinHash per row + MinHashLSH insert and query: the straightforward way."""
    from datasketch import MinHash, MinHashLSH

    start = time.perf_counter()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=128)
    sketches = []
    for i, text in enumerate(texts):
        words = _norm_words(text)
        m = MinHash(num_perm=128)
        m.update_batch([" ".join(words[j : j + 3]).encode() for j in range(max(1, len(words) - 2))])
        lsh.insert(i, m)
        sketches.append(m)
    found = set()
    for i, m in enumerate(sketches):
        for j in lsh.query(m):
            if j != i:
                found.add((min(i, j), max(i, j)))
    seconds = time.perf_counter() - start
    inside = [(a, b) for a, b in planted if a < len(texts) and b < len(texts)]
    truth = [p for p in inside if true_jaccard(texts[p[0]], texts[p[1]]) >= THRESHOLD]
    hit = sum(1 for a, b in truth if (min(a, b), max(a, b)) in found)
    return {
        "rows": len(texts),
        "seconds": seconds,
        "rows_per_s": len(texts) / seconds,
        "recall": hit / len(truth) if truth else float("nan"),
        "truth_pairs": len(truth),
    }


def bench(n: int, baseline_rows: int, workdir: Path) -> dict:
    path = workdir / f"bench_{n}.jsonl"
    t0 = time.perf_counter()
    planted, exact = generate(path, n)
    gen_s = time.perf_counter() - t0
    child = subprocess.run(
        [sys.executable, __file__, "--child", str(path)], capture_output=True, text=True, check=True
    )
    res = json.loads(child.stdout)
    texts = [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    # A found pair joins the first occurrences of two normalised texts, so an exact copy
    # may stand for its original: compare pairs after mapping exact copies to originals.
    exact_root = np.arange(len(texts))
    for a, b in exact:
        exact_root[b] = a
    family = exact_root.copy()
    for a, b in planted:
        family[b] = family[a]

    def canon(a: int, b: int) -> tuple[int, int]:
        a, b = int(exact_root[a]), int(exact_root[b])
        return min(a, b), max(a, b)

    truth = {canon(a, b) for a, b in planted if true_jaccard(texts[a], texts[b]) >= THRESHOLD}
    found_pairs = res.pop("found")
    found = {canon(a, b) for a, b in found_pairs}
    recall = len(truth & found) / len(truth) if truth else float("nan")
    correct = sum(1 for a, b in found_pairs if family[a] == family[b])
    precision = correct / len(found_pairs) if found_pairs else float("nan")
    base = baseline(texts[:baseline_rows], planted)
    near_rows_per_s = res["rows"] / res["near"]
    out = {
        "n": n,
        "generate_s": round(gen_s, 1),
        **{k: round(v, 2) for k, v in res.items() if isinstance(v, float)},
        "rows_per_s": round(res["rows"] / res["total"]),
        "near_rows_per_s": round(near_rows_per_s),
        "planted_pairs": len(planted),
        "pairs_at_or_above_threshold": len(truth),
        "recall": round(recall, 4),
        "precision": round(precision, 4),
        "found_pairs": len(found_pairs),
        "passes": res["passes"],
        "baseline": {k: round(v, 4) if isinstance(v, float) else v for k, v in base.items()},
        "speedup_near": round(near_rows_per_s / base["rows_per_s"], 1),
        "speedup_whole_scan": round(res["rows"] / res["total"] / base["rows_per_s"], 1),
    }
    path.unlink()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000", help="comma list of row counts")
    parser.add_argument("--baseline-rows", type=int, default=50_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if args.child:
        run_scan_child(args.child)
        return
    results = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            r = bench(n, min(args.baseline_rows, n), Path(tmp))
            results.append(r)
            print(
                f"N={n:>9,}  total {r['total']:6.1f}s  ({r['rows_per_s']:,} rows/s)  "
                f"load {r['load']:.1f}s  exact {r['exact']:.1f}s  near {r['near']:.1f}s  "
                f"clusters {r['clusters']:.1f}s  balance {r['balance']:.2f}s  "
                f"peak RSS {r['peak_rss_mb']:,.0f} MB"
            )
            print(
                f"             near-dup recall {r['recall']:.4f} on {r['pairs_at_or_above_threshold']:,} "
                f"planted pairs with J >= {THRESHOLD}, precision {r['precision']:.4f} "
                f"({r['found_pairs']:,} pairs found)"
            )
            b = r["baseline"]
            print(
                f"             straightforward datasketch on {b['rows']:,} rows: "
                f"{b['rows_per_s']:,.0f} rows/s, "
                f"recall {b['recall']:.4f}; sfttui near stage {r['near_rows_per_s']:,} rows/s = "
                f"{r['speedup_near']}x, whole scan {r['speedup_whole_scan']}x",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

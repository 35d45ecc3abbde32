"""Every stage of a full run on chat data, at several sizes: seconds, rows/s, peak memory, growth.

    python benchmarks/bench_stages.py                      # N = 100k and 1M
    python benchmarks/bench_stages.py --sizes 100000,1000000,5000000

For each N it writes N chat rows (system prompt, a user turn of 12-60 words from a
Zipf vocabulary, an assistant reply; a label, a user id; 10% near copies with a few
words changed, 2% exact copies) and an eval set of N/100 items, a third of them
pasted into longer training prompts, so the 13-gram check has work to do. Then, in a
fresh process, it runs what `sfttui split --eval` does: load, exact and near
duplicates, clusters, balance, leakage (eval exact, near and 13-gram), coverage,
representativeness, the split plan and the verified atomic export, timing each stage
and reading the peak RSS after it.

In the same run it times the straightforward implementation of the two stages that
have one, on a subset: near duplicates with one datasketch MinHash per row plus
MinHashLSH, and eval overlap with Python sets of 13-word tuples; the ratio is
rows/s against rows/s. Between sizes it prints each stage's growth exponent
(log t2/t1 over log n2/n1: 1.0 is linear, n log n from 1M to 5M is 1.07), of wall
time and of CPU time (the process's, all threads; less disturbed by other work on a
shared machine). With --repeat K each size runs K times and each stage's fastest run
is kept. With --tokenizer, lengths are counted with a byte-level BPE tokenizer (16k
words, trained on the first 20k generated rows, the `tokens` extra) and --max-tokens
4096; without it, the lengths stage is the approximation. With --no-eval the scan has
no eval set (leakage between splits only; the passes' band keys are then not kept).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SYSTEM = "You are a helpful support assistant for an online store."
LABELS = ["billing", "shipping", "technical", "account", "returns", "other"]
NGRAM = 13


def generate(path: Path, eval_path: Path, n: int, seed: int = 11) -> None:
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = np.array(sorted({"".join(rng.choice(letters, k)) for k in rng.integers(2, 10, 60_000)}))
    zipf = 1.0 / np.arange(1, len(vocab) + 1) ** 1.05
    zipf /= zipf.sum()
    n_near, n_exact = n // 10, n // 50
    n_base = n - n_near - n_exact
    lengths = rng.integers(12, 61, n_base)
    words = rng.choice(len(vocab), size=int(lengths.sum()), p=zipf)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    prompts = [" ".join(vocab[words[offsets[i] : offsets[i + 1]]]) for i in range(n_base)]
    for src in rng.integers(0, n_base, n_near):
        w = prompts[src].split(" ")
        for spot in rng.integers(0, len(w), rng.integers(1, 4)):
            w[spot] = str(vocab[rng.integers(0, len(vocab))])
        prompts.append(" ".join(w))
    prompts += [prompts[i] for i in rng.integers(0, n_base, n_exact)]
    evals = [prompts[i] for i in rng.integers(0, n_base, max(1, n // 100))]
    # A third of the eval items pasted inside longer training prompts: only 13-grams see them.
    for k, i in enumerate(rng.integers(0, len(prompts), len(evals) // 3)):
        prompts[i] = f"{prompts[i]} {evals[k]} {prompts[(i + 1) % len(prompts)]}"
    labels = rng.integers(0, len(LABELS), len(prompts))
    users = rng.integers(0, max(1, n // 20), len(prompts))
    with path.open("w", encoding="utf-8") as out:
        for i, prompt in enumerate(prompts):
            row = {
                "id": f"r{i}",
                "messages": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": f"Thanks, I have opened case {i} for you."},
                ],
                "label": LABELS[labels[i]],
                "user_id": f"u{users[i]}",
            }
            out.write(json.dumps(row) + "\n")
    with eval_path.open("w", encoding="utf-8") as out:
        for i, text in enumerate(evals):
            out.write(json.dumps({"id": f"e{i}", "text": text}) + "\n")


def child(path: str, eval_path: str, out_dir: str, tokenizer: str, low_memory: str = "0") -> None:
    """In a fresh process: every stage, timed, with the peak RSS after each."""
    from sfttui.engine.runtime.memory import hand_freed_memory_back, one_heap

    one_heap()  # as the command line does: before NumPy's threads exist
    if low_memory == "1":
        hand_freed_memory_back()  # as `split --low-memory` does: before Polars loads
    from sfttui.engine.session import Session
    from sfttui.engine.settings import LengthSettings, LoadSettings, ScanSettings

    marks: dict[str, dict[str, float]] = {}
    start = time.perf_counter()
    last = [start]

    def rss() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB -> MB, as file sizes

    def cpu() -> float:
        # With the worker processes a large file is loaded on, once they have ended.
        own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime

    def worker_rss() -> float:
        return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e6

    last_cpu = [cpu()]

    def mark(stage: str, seconds: float) -> None:
        now_cpu = cpu()
        marks[stage] = {
            "s": seconds,
            "cpu_s": now_cpu - last_cpu[0],
            "peak_rss_mb": rss(),
            "worker_rss_mb": worker_rss(),
        }
        last_cpu[0] = now_cpu

    def progress(stage: str, fraction: float) -> None:
        if fraction >= 1.0 and stage not in marks:
            now = time.perf_counter()
            mark(stage, now - last[0])
            last[0] = now

    lengths = LengthSettings(tokenizer=tokenizer, max_tokens=4096) if tokenizer != "-" else LengthSettings()
    evals = () if eval_path == "-" else (eval_path,)  # "-": a scan without an eval set
    settings = ScanSettings(load=LoadSettings(group_fields=("user_id",)), eval_paths=evals, lengths=lengths)
    session = Session(
        paths=[path],
        settings=settings,
        state_dir=str(Path(out_dir) / "state"),
        explore=False,
        spill=low_memory == "1",
    )
    session.analyse(progress)
    timings = session.duplicates.timings if session.duplicates else {}
    t = time.perf_counter()
    last_cpu[0] = cpu()
    plan = session.plan()
    mark("split plan", time.perf_counter() - t)
    t = time.perf_counter()
    result = session.write(plan, Path(out_dir) / "splits", force=True)
    mark("export", time.perf_counter() - t)
    leak = session.leakage.counts() if session.leakage else {}
    print(
        json.dumps(
            {
                "rows": session.dataset.rows.height,
                "total_s": time.perf_counter() - start,
                "stages": marks,
                "dedup_split": timings,
                "eval_hits": leak,
                "export_problems": result.problems,
            }
        )
    )


def baseline_near(texts: list[str]) -> float:
    """rows/s of one datasketch MinHash per row + MinHashLSH insert and query."""
    from datasketch import MinHash, MinHashLSH

    start = time.perf_counter()
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    sketches = []
    for i, text in enumerate(texts):
        words = text.lower().split()
        m = MinHash(num_perm=128)
        m.update_batch([" ".join(words[j : j + 3]).encode() for j in range(max(1, len(words) - 2))])
        lsh.insert(i, m)
        sketches.append(m)
    for m in sketches:
        lsh.query(m)
    return len(texts) / (time.perf_counter() - start)


def baseline_ngrams(texts: list[str], evals: list[str]) -> float:
    """rows/s of 13-gram overlap with Python sets: every eval 13-gram in a set, every row's looked up."""
    start = time.perf_counter()
    grams = set()
    for text in evals:
        w = text.lower().split()
        grams.update(tuple(w[j : j + NGRAM]) for j in range(len(w) - NGRAM + 1))
    for text in texts:
        w = text.lower().split()
        any(tuple(w[j : j + NGRAM]) in grams for j in range(len(w) - NGRAM + 1))
    return len(texts) / (time.perf_counter() - start)


def train_tokenizer(path: Path, out: Path, rows: int = 20_000) -> str:
    """A byte-level BPE tokenizer trained on the first rows of `path`, saved to `out`."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    with path.open(encoding="utf-8") as f:
        texts = [
            "\n".join(m["content"] for m in json.loads(line)["messages"])
            for line in itertools.islice(f, rows)
        ]
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=16_000, initial_alphabet=alphabet))
    tok.save(str(out))
    return str(out)


def bench(
    n: int,
    subset: int,
    workdir: Path,
    repeat: int = 1,
    tokenizer: bool = False,
    low_memory: bool = False,
    no_eval: bool = False,
) -> dict:
    path, eval_path = workdir / f"chat_{n}.jsonl", workdir / f"eval_{n}.jsonl"
    generate(path, eval_path, n)
    tok = train_tokenizer(path, workdir / "tokenizer.json") if tokenizer else "-"
    size_mb = path.stat().st_size / 1e6
    runs = []
    for _ in range(repeat):
        run = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(path),
                "-" if no_eval else str(eval_path),
                str(workdir / f"out_{n}"),
                tok,
                "1" if low_memory else "0",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(run.stdout.strip().splitlines()[-1]))
    # Each stage's fastest run: on a shared machine the slower ones measure the neighbours.
    res = min(runs, key=lambda r: r["total_s"])
    res["stages"] = {
        stage: {
            key: min(r["stages"][stage][key] for r in runs)
            for key in ("s", "cpu_s", "peak_rss_mb", "worker_rss_mb")
        }
        for stage in res["stages"]
    }
    res["runs"] = len(runs)
    prompts = [json.loads(line)["messages"][1]["content"] for line in path.open(encoding="utf-8")][:subset]
    evals = [json.loads(line)["text"] for line in eval_path.open(encoding="utf-8")]
    res.update(
        n=n,
        input_mb=round(size_mb, 1),
        near_baseline_rows_s=baseline_near(prompts),
        ngram_baseline_rows_s=baseline_ngrams(prompts, evals),
    )
    path.unlink()
    return res


# Issue 20, at 1M and 5M rows: every stage in 30 s and 150 s, loading in 5 s per million
# rows, a peak of at most twice the input.
_SECONDS_AT = {1_000_000: 30.0, 5_000_000: 150.0}


def _targets(r: dict, peak: float) -> list[str]:
    """Each of issue 20's targets that applies at this size, with its measure."""

    def said(what: str, value: float, limit: float, unit: str) -> str:
        return f"{what} {value:,.1f}{unit} (<= {limit:,.1f}{unit}: {'met' if value <= limit else 'NOT met'})"

    if r["n"] not in _SECONDS_AT:  # set for 1M and 5M rows: smaller runs are mostly start-up
        return ["set for 1M and 5M rows only"]
    out = [said("every stage", r["total_s"], _SECONDS_AT[r["n"]], " s")]
    load = r["stages"].get("load", {}).get("s")
    if load is not None:
        out.append(said("load", load, 5.0 * r["n"] / 1e6, " s"))
    out.append(said("peak", peak / r["input_mb"], 2.0, "x input"))
    return out


def report(results: list[dict]) -> None:
    for r in results:
        peak = max(m["peak_rss_mb"] for m in r["stages"].values())
        worker = max(m.get("worker_rss_mb", 0.0) for m in r["stages"].values())
        print(
            f"\nN={r['n']:,}  input {r['input_mb']:,.0f} MB  total {r['total_s']:.1f} s "
            f"({r['rows'] / r['total_s']:,.0f} rows/s)  peak RSS {peak:,.0f} MB "
            f"= {peak / r['input_mb']:.2f}x input; largest worker process "
            f"{worker:,.0f} MB"
        )
        print("  issue 20's targets: " + "; ".join(_targets(r, peak)))
        for stage, m in r["stages"].items():
            rate = r["rows"] / m["s"] if m["s"] > 0 else float("inf")
            print(
                f"  {stage:20s} {m['s']:7.2f} s  (cpu {m['cpu_s']:7.2f} s)  {rate:>12,.0f} rows/s  "
                f"peak RSS so far {m['peak_rss_mb']:7,.0f} MB"
            )
        for stage, label, base in (
            ("near", "near duplicates vs datasketch per row", "near_baseline_rows_s"),
            (
                "eval",
                "eval leakage (exact+near+13-gram) vs Python-set 13-grams alone",
                "ngram_baseline_rows_s",
            ),
        ):
            seconds = r["stages"].get(stage, {}).get("s")
            if seconds:
                ours = r["rows"] / seconds
                print(f"  {label}: {ours:,.0f} vs {r[base]:,.0f} rows/s = {ours / r[base]:.1f}x")
    for a, b in itertools.pairwise(results):
        scale = math.log(b["n"] / a["n"])
        nlogn = math.log(b["n"] * math.log(b["n"]) / (a["n"] * math.log(a["n"]))) / scale
        for key, what in (("s", "wall"), ("cpu_s", "cpu")):
            grow = {
                s: math.log(max(b["stages"][s][key], 1e-3) / max(a["stages"][s][key], 1e-3)) / scale
                for s in a["stages"]
                if s in b["stages"]
            }
            print(
                f"\ngrowth {a['n']:,} -> {b['n']:,}, {what} time (1.0 = linear, {nlogn:.2f} = n log n): "
                + ", ".join(f"{s} {g:.2f}" for s, g in grow.items())
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; each stage's fastest is kept")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--tokenizer", action="store_true", help="count lengths with a trained BPE tokenizer")
    parser.add_argument("--low-memory", action="store_true", help="as `split --low-memory` runs")
    parser.add_argument("--no-eval", action="store_true", help="no eval set: leakage between splits only")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.sizes.split(",")):
            results.append(
                bench(
                    n,
                    args.baseline_rows,
                    Path(tmp),
                    args.repeat,
                    args.tokenizer,
                    args.low_memory,
                    args.no_eval,
                )
            )
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

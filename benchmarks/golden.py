"""The scan reports and split outputs of one checkout, for byte comparison with another.

A speed change must leave every finding as it was. This runs a checkout's sfttui on
the shared real datasets (and 200k generated chat rows with an eval set) and writes
each JSON report, printed summary and split directory to OUT, with the checkout's and
OUT's own paths replaced by <repo> and <out>, so two runs compare with `diff -r`:

    python benchmarks/golden.py /tmp/golden-new
    git worktree add /tmp/base <commit> && python benchmarks/golden.py /tmp/golden-base --repo /tmp/base
    diff -r /tmp/golden-base /tmp/golden-new

The datasets are read from --data (default: ../shared/data beside the checkout).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

# name, sfttui arguments ({data}: the datasets, {repo}: the checkout, {gen}: generated rows)
SCANS = [
    ("demo", ["{repo}/sfttui/data/demo.jsonl", "--group-field", "user_id"]),
    ("codealpaca", ["{data}/code_alpaca_2k.jsonl"]),
    ("trec", ["{data}/trec.jsonl"]),
    ("emotion", ["{data}/tweeteval_emotion.jsonl"]),
    ("irony", ["{data}/tweeteval_irony.jsonl"]),
    ("newcode", ["{data}/new_codealpaca.jsonl", "--text-field", "instruction"]),
    ("sst2", ["{data}/sst2.jsonl", "--eval", "{data}/trec.jsonl"]),
    ("alpacaeval", ["{data}/alpaca_eval_gpt4.jsonl"]),
    ("codeeval", ["{data}/code_alpaca_2k.jsonl", "--eval", "{data}/alpaca_eval_gpt4.jsonl"]),
    ("newcodeeval", ["{data}/new_codealpaca.jsonl", "--eval", "{data}/code_alpaca_2k.jsonl"]),
    ("chat200k", ["{gen}/chat.jsonl", "--eval", "{gen}/eval.jsonl", "--group-field", "user_id"]),
    ("badeval", ["{data}/trec.jsonl", "--eval", "{gen}/bad.jsonl", "--fail-on", "leakage"]),
]
SPLITS = [
    ("demo", ["{repo}/sfttui/data/demo.jsonl", "--by", "user_id"]),
    ("codealpaca", ["{data}/code_alpaca_2k.jsonl"]),
    ("trec", ["{data}/trec.jsonl"]),
    ("emotion", ["{data}/tweeteval_emotion.jsonl"]),
    ("hate", ["{data}/tweeteval_hate.jsonl"]),
    ("sst2", ["{data}/sst2.jsonl", "--eval", "{data}/trec.jsonl"]),
    ("offensive", ["{data}/tweeteval_offensive.jsonl"]),
]


def _generate(gen: Path, rows: int) -> None:
    sys.path.insert(0, str(HERE / "benchmarks"))
    from bench_stages import generate

    gen.mkdir(parents=True, exist_ok=True)
    generate(gen / "chat.jsonl", gen / "eval.jsonl", rows)
    (gen / "bad.jsonl").write_bytes(b'{"text": "ok"\n\xff\xfe\n')  # no readable record


def _run(repo: Path, args: list[str], log: Path) -> int:
    # `-m` puts the working directory first on the path, ahead of PYTHONPATH: run from
    # the checkout itself, or a run started in another checkout would import that one.
    env = {**os.environ, "PYTHONPATH": str(repo)}
    with log.open("wb") as out:
        return subprocess.run(
            [sys.executable, "-m", "sfttui", *args], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=repo
        ).returncode


def _imported(repo: Path) -> Path:
    """The package a run in `repo` imports (checked: comparing a checkout with itself proves nothing)."""
    code = "import sfttui; print(sfttui.__file__)"
    env = {**os.environ, "PYTHONPATH": str(repo)}
    found = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=repo, capture_output=True, text=True, check=True
    )
    return Path(found.stdout.strip()).parent


def _unpath(out: Path, repo: Path, gen: Path) -> None:
    """The run's own paths replaced, so two runs' files compare byte for byte."""
    for path in out.rglob("*"):
        if path.suffix in {".json", ".out"}:
            text = path.read_text(encoding="utf-8")
            for real, name in ((str(gen), "<gen>"), (str(out), "<out>"), (str(repo), "<repo>")):
                text = text.replace(real, name)
            path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path, help="where the outputs go (made anew)")
    parser.add_argument("--repo", type=Path, default=HERE, help="the checkout to run (default: this one)")
    parser.add_argument("--data", type=Path, default=HERE.parent / "shared" / "data")
    parser.add_argument("--rows", type=int, default=200_000, help="generated chat rows")
    args = parser.parse_args()
    repo, out, data = args.repo.resolve(), args.out.resolve(), args.data.resolve()
    if not data.is_dir():
        sys.exit(f"no datasets at {data}: give --data")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    gen = out.parent / f".{out.name}-generated"  # outside OUT: not compared
    _generate(gen, args.rows)
    fill = {"data": str(data), "repo": str(repo), "gen": str(gen)}
    package = _imported(repo)
    if package != repo / "sfttui":
        sys.exit(f"a run in {repo} imports {package}, not that checkout's sfttui")
    print(f"running {package}")
    codes = []
    for name, argv in SCANS:
        report = out / f"{name}.json"
        code = _run(
            repo, ["scan", *(a.format(**fill) for a in argv), "--json", str(report)], out / f"{name}.out"
        )
        codes.append(f"scan {name}: exit {code}")
    for name, argv in SPLITS:
        target, state = out / f"split_{name}", out / "state"
        argv = ["split", *(a.format(**fill) for a in argv), "--out", str(target), "--state-dir", str(state)]
        code = _run(repo, argv, out / f"split_{name}.out")
        codes.append(f"split {name}: exit {code}")
    shutil.rmtree(out / "state", ignore_errors=True)
    (out / "exit_codes.txt").write_text("\n".join(codes) + "\n")
    _unpath(out, repo, gen)
    shutil.rmtree(gen, ignore_errors=True)
    print("\n".join(codes))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

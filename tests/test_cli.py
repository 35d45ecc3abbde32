from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner

from sfttui.cli import main


def _scan(*args: str):
    return CliRunner().invoke(main, ["scan", *args])


def test_clean_file_exits_zero_and_writes_the_report(write_jsonl, tmp_path):
    path = write_jsonl(
        "clean.jsonl",
        [
            {"text": f"sentence number {w} is unique", "label": "ab"[i % 2]}
            for i, w in enumerate(["one", "two", "three", "four"])
        ],
    )
    out = tmp_path / "report.json"
    result = _scan(
        str(path),
        "--json",
        str(out),
        "--fail-on",
        "bad-lines,duplicates,conflicts",
        "--min-label-count",
        "1",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["schema"] == "sfttui.report/2"
    assert report["inputs"][0]["rows"] == 4 and report["inputs"][0]["format"] == "text"
    assert len(report["inputs"][0]["sha256"]) == 64
    assert report["duplicates"]["clusters"] == [] and report["duplicates"]["rows_removable"] == 0
    assert report["balance"]["labels"] == {"a": 2, "b": 2}
    assert report["balance"]["majority_baseline"] == 0.5
    assert report["findings"] == {
        "bad-lines": 0,
        "duplicates": 0,
        "conflicts": 0,
        "imbalance": 0,
        "leakage": 0,
        # Four rows cannot hold 20 hard negatives; too few for the label model, and plain
        # classification text has no responses and no out-of-scope class to count.
        "coverage": 1,
        "representativeness": 0,
        "structure": 0,
        "templates": 0,
        "artifacts": 0,
        "too-long": 0,
        "drift": 0,
        "outliers": 0,
    }
    assert [a["name"] for a in report["analyses"] if not a["ran"]] == [
        "per-split balance",
        "leakage between splits",
        "eval-set contamination",
        "ambiguous rows and label suspects",
        "conversation structure",
        "template replies",
        "drift between splits",
        "outliers",
    ]


def test_fail_on_finds_duplicates_and_conflicts(write_jsonl, tmp_path):
    path = write_jsonl(
        "d.jsonl",
        [
            {"text": "the same text", "label": "a"},
            {"text": "The same text!", "label": "b"},
            {"text": "different words", "label": "a"},
            "{broken",
        ],
    )
    out = tmp_path / "r.json"
    assert _scan(str(path), "--json", str(out)).exit_code == 0  # nothing asked to fail on
    result = _scan(str(path), "--fail-on", "conflicts")
    assert result.exit_code == 1
    assert "failing: conflicts" in result.output
    assert _scan(str(path), "--fail-on", "bad-lines").exit_code == 1
    # Repeated, every gate counts (the last alone did: the conflicts gate was dropped).
    both = _scan(str(path), "--fail-on", "conflicts", "--fail-on", "templates")
    assert both.exit_code == 1 and "failing: conflicts" in both.output
    report = json.loads(out.read_text())
    cluster = report["duplicates"]["clusters"][0]
    assert cluster["members"] == ["d.jsonl:1", "d.jsonl:2"]
    assert cluster["kind"] == "exact" and cluster["keeper"] == "d.jsonl:1"
    assert cluster["labels"] == ["a", "b"] and cluster["similarity"] == 1.0
    assert report["conflicts"] == [
        {
            "cluster": cluster["id"],
            "side": "example",
            "labels": ["a", "b"],
            "members": ["d.jsonl:1", "d.jsonl:2"],
        }
    ]
    assert report["bad_lines"][0]["line"] == 4 and report["bad_lines"][0]["reason"].startswith("invalid JSON")


def test_report_is_identical_between_runs(write_jsonl, tmp_path):
    path = write_jsonl("d.jsonl", [{"text": "x y z", "label": "a"}, {"text": "x y z", "label": "a"}])
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    _scan(str(path), "--json", str(a))
    _scan(str(path), "--json", str(b))
    assert a.read_bytes() == b.read_bytes()


def test_the_report_is_never_written_over_an_input(write_jsonl, tmp_path):
    # `scan data.jsonl --json data.jsonl` replaced the data with its report.
    rows = [{"text": f"row {i} of the data", "label": "ab"[i % 2]} for i in range(6)]
    data, gold = write_jsonl("d.jsonl", rows), write_jsonl("gold.jsonl", rows[:1])
    link = tmp_path / "link.jsonl"
    link.symlink_to(data)
    # Nor over the production sample or the patterns file the scan reads beside them.
    prod = write_jsonl("prod.jsonl", [{"text": f"a production input {i}"} for i in range(3)])
    patterns = tmp_path / "patterns.txt"
    patterns.write_text("refusal: i cannot help\n")
    before = data.read_bytes(), gold.read_bytes(), prod.read_bytes(), patterns.read_bytes()
    for target, args in [
        (data, []),
        (link, []),
        (gold, ["--eval", str(gold)]),
        (prod, ["--reference", str(prod)]),
        (patterns, ["--patterns", str(patterns)]),
    ]:
        result = _scan(str(data), *args, "--json", str(target))
        assert result.exit_code == 2, result.output
        assert f"{target} is an input" in result.output and "Traceback" not in result.output
    assert (data.read_bytes(), gold.read_bytes(), prod.read_bytes(), patterns.read_bytes()) == before
    assert link.is_symlink()


def test_the_report_replaces_only_an_earlier_report_or_an_empty_file(write_jsonl, tmp_path):
    # `--json hf/state.json` replaced the metadata a dataset folder is read by (the folder
    # could not be read again), and any other file was replaced without a word.
    data = write_jsonl("d.jsonl", [{"text": f"row {i} of the data", "label": "ab"[i % 2]} for i in range(6)])
    notes = tmp_path / "state.json"
    notes.write_text('{"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}')
    result = _scan(str(data), "--json", str(notes))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{notes} exists and is not a report of sfttui's; sfttui never replaces a file" in " ".join(
        result.output.split()
    )
    assert notes.read_text() == '{"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}'
    empty = tmp_path / "tmp.XXXX"  # as mktemp leaves it
    empty.touch()
    assert _scan(str(data), "--json", str(empty)).exit_code == 0
    assert json.loads(empty.read_text())["rows"] == 6
    assert _scan(str(data), "--no-near", "--json", str(empty)).exit_code == 0  # its own report again
    assert json.loads(empty.read_text())["settings"]["near"]["enabled"] is False
    # A report with its keys sorted (jq -S) or a byte order mark is still a report.
    empty.write_bytes(b"\xef\xbb\xbf" + json.dumps(json.loads(empty.read_text()), sort_keys=True).encode())
    assert _scan(str(data), "--json", str(empty)).exit_code == 0
    assert json.loads(empty.read_text())["settings"]["near"]["enabled"] is True


def test_a_loop_of_links_named_for_the_report_is_refused_and_left(write_jsonl, tmp_path):
    """`--json loop` where loop -> loop: the link was replaced by the report."""
    from sfttui.engine.io.atomic import write_bytes_atomic

    data = write_jsonl("d.jsonl", [{"text": f"row {i} of the data", "label": "ab"[i % 2]} for i in range(6)])
    loop = tmp_path / "loop"
    loop.symlink_to("loop")
    result = _scan(str(data), "--json", str(loop))
    assert result.exit_code == 2
    assert f"cannot write the report {loop}: Too many levels of symbolic links" in result.stderr
    with pytest.raises(OSError, match="Too many levels"):
        write_bytes_atomic(loop, b"{}")
    assert loop.is_symlink() and os.readlink(loop) == "loop"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.jsonl", "loop"]
    # A link to a report not written yet is written through, as before.
    (tmp_path / "real").mkdir()
    ahead = tmp_path / "ahead.json"
    ahead.symlink_to("real/r.json")
    assert _scan(str(data), "--json", str(ahead)).exit_code == 0
    assert ahead.is_symlink() and json.loads((tmp_path / "real" / "r.json").read_text())["rows"] == 6


def test_the_report_goes_through_links_and_into_pipes_and_to_stdout(write_jsonl, tmp_path):
    data = write_jsonl("d.jsonl", [{"text": f"row {i} of the data", "label": "ab"[i % 2]} for i in range(6)])
    real, link = tmp_path / "real.json", tmp_path / "report.json"
    link.symlink_to(real)
    assert _scan(str(data), "--json", str(link)).exit_code == 0
    assert link.is_symlink() and json.loads(real.read_text())["rows"] == 6
    result = CliRunner().invoke(main, ["scan", str(data), "--json", "-"])
    assert result.exit_code == 0 and not (tmp_path / "-").exists()
    assert json.loads(result.stdout)["rows"] == 6  # the summary went to stderr
    assert "6 rows from 1 file" in result.stderr
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()))
    reader.start()
    assert _scan(str(data), "--json", str(pipe)).exit_code == 0
    reader.join(10)
    assert stat.S_ISFIFO(pipe.lstat().st_mode) and json.loads(got[0])["rows"] == 6


@pytest.mark.skipif(not os.path.exists("/dev/stdout"), reason="needs /dev/stdout")
@pytest.mark.parametrize("json_to", ["/dev/stdout", "/proc/self/fd/1"])
def test_a_report_to_dev_stdout_in_a_pipe_is_written_there_alone(write_jsonl, json_to):
    # `scan --json /dev/stdout | jq` failed: "cannot write /dev/stdout: No such file or
    # directory" (the name was resolved to /proc/PID/fd/pipe:[N]); and the summary
    # would have shared the pipe with the report.
    path = str(write_jsonl("d.jsonl", [{"text": f"row {i} here", "label": "ab"[i % 2]} for i in range(30)]))
    args = [sys.executable, "-m", "sfttui", "scan", path, "--no-near", "--json", json_to]
    done = subprocess.run(args, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == 30
    assert b"30 rows from 1 file" in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["scan"],
        ["scan", "--json", "-"],
        ["scan", "--json", "/dev/stdout"],
        ["scan", "--json", "{data}"],
        ["split"],
        ["split", "--eval", "{data}"],  # here the data is the eval set
        ["scan", "--eval", "{data}"],
    ],
)
def test_standard_output_that_is_an_input_is_refused_and_the_input_kept(write_jsonl, tmp_path, command):
    # `scan data.jsonl --json /dev/stdout >> data.jsonl` appended the report to the data
    # (1c1ac70 let a path that is stdout skip the inputs check); `>> data.jsonl` with a
    # plain summary, `--json -` or `split` did the same with what they print.
    data = write_jsonl("d.jsonl", [{"text": f"row {i} here", "label": "ab"[i % 2]} for i in range(30)])
    before = data.read_bytes()
    args = [a.format(data=data) for a in command]
    extra = ["--out", str(tmp_path / "out")] if command[0] == "split" else []
    given = (
        str(data)
        if "--eval" not in command
        else str(write_jsonl("train.jsonl", [{"text": "t", "label": "a"}]))
    )
    with data.open("ab") as out:
        done = subprocess.run(
            [sys.executable, "-m", "sfttui", args[0], given, "--no-near", *args[1:], *extra],
            stdout=out, stderr=subprocess.PIPE, text=True, timeout=300,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "standard output is the input" in done.stderr or "is an input" in done.stderr
    assert data.read_bytes() == before and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "command", [["scan", "--json", "-"], ["split"], ["open"], ["scan", "--eval", "{data}"]]
)
def test_standard_error_that_is_an_input_is_refused_and_the_input_kept(write_jsonl, tmp_path, command):
    # `scan data.jsonl --json - 2>> data.jsonl` appended the summary to the data (stdout
    # was guarded, stderr not), and the app drew its whole screen into it (75 KB).
    data = write_jsonl("d.jsonl", [{"text": f"row {i} here", "label": "ab"[i % 2]} for i in range(30)])
    before = data.read_bytes()
    args = [a.format(data=data) for a in command]
    extra = ["--out", str(tmp_path / "out")] if command[0] == "split" else []
    given = (
        str(data) if "--eval" not in command else str(write_jsonl("t.jsonl", [{"text": "t", "label": "a"}]))
    )
    argv = [sys.executable, "-m", "sfttui", args[0], given, "--no-near", *args[1:], *extra]
    argv += ["--state-dir", str(tmp_path / "state")] if command[0] in ("split", "open") else []
    with data.open("ab") as err:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=err, text=True, timeout=300)
    assert done.returncode == 2
    # Said on standard output, since standard error is the input.
    assert done.stdout.startswith("error: standard error is the input"), done.stdout
    assert data.read_bytes() == before and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["scan", "split"])
def test_a_closed_standard_output_sends_the_summary_to_stderr(write_jsonl, tmp_path, command):
    # `>&-` ended scan in a traceback (sys.stdout is None), and split said nothing at all.
    data = write_jsonl("d.jsonl", [{"text": f"row {i} here", "label": "ab"[i % 2]} for i in range(30)])
    report, out = tmp_path / "r.json", tmp_path / "out"
    extra = ["--json", str(report)] if command == "scan" else ["--out", str(out)]
    code = (
        "import sys, runpy; sys.stdout.close(); sys.stdout = None; "
        f"sys.argv = ['sfttui', {command!r}, {str(data)!r}, '--no-near', *{extra!r}]; "
        "runpy.run_module('sfttui', run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    if command == "scan":
        assert "30 rows from 1 file" in done.stderr and json.loads(report.read_text())["rows"] == 30
    else:
        assert f"wrote {out}/" in done.stderr.replace("\n", "") and (out / "train.jsonl").exists()


def test_eval_items_are_matched_whatever_their_label_and_unread_ones_are_named(write_jsonl, tmp_path):
    # An eval row without a label (or with an empty one) was set aside as a bad record,
    # so its copy in the data went unseen, and the console never said so.
    texts = [f"please explain topic {w} to me in plain words" for w in ("alpha", "bravo", "delta", "gamma")]
    data = write_jsonl("d.jsonl", [{"text": t, "label": "ab"[i % 2]} for i, t in enumerate(texts)])
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        json.dumps({"text": texts[0], "label": "a"})
        + "\n"
        + json.dumps({"text": texts[1]})
        + "\n"
        + json.dumps({"text": texts[2], "label": ""})
        + "\n{not json\n"
    )
    report = tmp_path / "r.json"
    result = _scan(str(data), "--eval", str(gold), "--json", str(report), "--fail-on", "leakage")
    assert result.exit_code == 1, result.output
    leak = json.loads(report.read_text())["leakage"]
    exact = sorted((h["key"], h["eval_key"]) for h in leak["eval"] if h["kind"] == "exact")
    assert exact == [
        ("d.jsonl:1", "gold.jsonl:1"),
        ("d.jsonl:2", "gold.jsonl:2"),
        ("d.jsonl:3", "gold.jsonl:3"),
    ]
    assert (leak["eval_inputs"][0]["rows"], leak["eval_inputs"][0]["bad_lines"]) == (3, 1)
    assert "1 of 4 records of eval set gold.jsonl was set aside" in " ".join(result.output.split())


def test_out_of_range_options_and_empty_folders_are_one_line_not_a_traceback(write_jsonl, tmp_path):
    data = write_jsonl("d.jsonl", [{"text": f"row {i} of the data", "label": "ab"[i % 2]} for i in range(10)])
    split = ["split", str(data), "--state-dir", str(tmp_path / "s")]
    # A seed past 64 bits reached the manifest writer (TypeError); huge ratios added up to
    # infinity and left no split above zero (ValueError).
    too_big = CliRunner().invoke(main, [*split, "--out", str(tmp_path / "a"), "--seed", str(2**64)])
    assert too_big.exit_code == 2 and "--seed" in too_big.output and "Traceback" not in too_big.output
    huge = CliRunner().invoke(main, [*split, "--out", str(tmp_path / "b"), "--ratios", "1e308,1e308,0"])
    assert huge.exit_code == 0, huge.output
    written = [len((tmp_path / "b" / f"{n}.jsonl").read_text().splitlines()) for n in ("train", "validation")]
    assert sum(written) == 10 and min(written) > 0
    # A DatasetDict folder listing no splits divided by zero files.
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "dataset_dict.json").write_text(json.dumps({"splits": []}))
    empty = _scan(str(folder))
    assert empty.exit_code == 2 and "dataset_dict.json has no list of split folders" in empty.output


def test_usage_and_read_errors_exit_two(tmp_path):
    missing = _scan(str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 2
    assert "no such file" in missing.output and "Traceback" not in missing.output
    assert _scan(str(tmp_path / "x.jsonl"), "--fail-on", "bogus").exit_code == 2
    assert CliRunner().invoke(main, ["scan"]).exit_code == 2


def test_demo_scan_prints_the_scan_of_the_bundled_data():
    result = CliRunner().invoke(main, ["demo", "--scan"])
    assert result.exit_code == 0, result.output
    assert "2,671 rows from 1 file" in result.output
    said = " ".join(result.output.split())
    assert "196 rows removable in 196 clusters (120 of exact copies only, 76 with near duplicates" in said
    assert "120 rows copy another exactly, in 120 groups)" in said
    assert (
        "131 clusters of rows whose inputs match (3 exact, 128 near) but whose responses differ; 2 more"
        in said
    )
    # The bundled production sample is the reference: it looks nothing like the tidy chats.
    assert "vs 240 reference prompts: adversarial AUC 1.00" in result.output


def test_version_names_textual():
    result = CliRunner().invoke(main, ["--version"])
    assert result.output.startswith("sfttui 0.1.0 (textual ")


def test_engine_and_scan_import_no_textual():
    code = (
        "import sys, sfttui.engine.scan, sfttui.engine.report, sfttui.engine.session, sfttui.cli, "
        "sfttui.cli.summary, sfttui.cli.split_command;"
        "assert 'textual' not in sys.modules, 'textual imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_help_and_usage_errors_import_no_polars():
    # `sfttui --help` took ~1 s when the command line imported the scan for a constant.
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from sfttui.cli import main\n"
        "for args in (['--help'], ['scan', '--help'], ['split', '--help'], ['scan'], "
        "['scan', 'x.jsonl', '--fail-on', 'nonsense']):\n"
        "    r = CliRunner().invoke(main, args)\n"
        "    assert r.exit_code in (0, 2), (args, r.output)\n"
        "heavy = ('polars', 'numpy', 'sklearn', 'datasketch', 'textual')\n"
        "heavy = sorted(m for m in heavy if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_importing_the_engine_leaves_the_process_allocator_alone():
    code = (
        "import sfttui.engine.scan, sfttui.engine.session\n"
        "from sfttui.engine.runtime.memory import one_heap\n"
        "assert one_heap.cache_info().currsize == 0, 'one_heap ran on import'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_errors_are_mapped_to_one_line_and_their_exit_code_in_one_place(monkeypatch, write_jsonl):
    # scan and split share one mapping: the error's own exit code and one stderr line.
    import sfttui.engine.scan
    import sfttui.engine.session
    from sfttui.engine.errors import SfttuiError

    class Unhappy(SfttuiError):
        exit_code = 3

    def refuse(*args, **kwargs):
        raise Unhappy("data.jsonl: refused for a reason the person can fix")

    monkeypatch.setattr(sfttui.engine.scan, "run_scan", refuse)
    monkeypatch.setattr(sfttui.engine.session, "run_scan", refuse)
    path = write_jsonl("data.jsonl", [{"text": "a row", "label": "a"}])
    for command in (["scan", str(path)], ["split", str(path), "--out", str(path.parent / "out")]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 3, (command, result.output)
        assert result.output.strip() == "error: data.jsonl: refused for a reason the person can fix"


def test_options_take_their_defaults_from_the_settings_and_set_their_fields():
    from sfttui.cli.options import SCAN_SETTINGS, settings_from
    from sfttui.engine.settings import ScanSettings

    scan = main.commands["scan"]
    assert settings_from(scan.make_context("scan", ["x.jsonl"]).params) == ScanSettings()
    args = ["x.jsonl", "--threshold", "0.7", "--no-near", "--by", "u", "--by", "doc"]
    args += ["--max-decompressed", "1G", "--case-sensitive", "--eval", "gold.jsonl", "--keep", "longest"]
    s = settings_from(scan.make_context("scan", args).params)
    assert (s.near.threshold, s.near.enabled, s.near.num_perm) == (0.7, False, 128)
    assert s.load.group_fields == ("u", "doc") and s.load.max_decompressed_bytes == 1 << 30
    assert (s.normalize.casefold, s.normalize.nfkc) == (False, True)
    assert s.eval_paths == ("gold.jsonl",) and s.keep == "longest"
    # Every option is bound to a field that exists, and no two share a parameter name.
    for setting in SCAN_SETTINGS:
        obj = ScanSettings()
        for part in setting.path.split("."):
            obj = getattr(obj, part)
    assert len({s.name for s in SCAN_SETTINGS}) == len(SCAN_SETTINGS)


def test_a_missing_file_is_one_line_before_the_app_starts(monkeypatch, tmp_path, write_jsonl):
    from sfttui.tui.app import SfttuiApp

    def never(self, *args, **kwargs):
        raise AssertionError("the app started")

    monkeypatch.setattr(SfttuiApp, "run", never)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["nonexist.jsonl"])
    assert result.exit_code == 2 and result.output == "error: nonexist.jsonl: no such file\n"
    data = write_jsonl("d.jsonl", [{"text": "a row", "label": "a"}])
    result = CliRunner().invoke(main, [str(data), "--eval", "gold.jsonl"])
    assert result.exit_code == 2 and result.output == "error: gold.jsonl: no such file\n"


def test_the_app_without_a_terminal_says_so_instead_of_spinning(monkeypatch, tmp_path, write_jsonl):
    # `sfttui FILE < /dev/null`, from a pipe, or `ssh host sfttui FILE` without -t: the app
    # drew its screen where no one saw it and read end-of-file without pause, a core
    # busy until it was killed. The demo made its working copy first.
    from sfttui.tui.app import SfttuiApp

    def never(self, *args, **kwargs):
        raise AssertionError("the app started")

    monkeypatch.setattr(SfttuiApp, "run", never)
    monkeypatch.chdir(tmp_path)
    data = write_jsonl("d.jsonl", [{"text": "a row", "label": "a"}])
    for args in ([str(data)], ["demo"]):
        result = CliRunner().invoke(main, args)  # its standard input is no terminal
        assert result.exit_code == 2, result.output
        assert result.output.endswith(
            "error: the app needs a terminal to read keys from and draw on, and standard input is not "
            "one: run it in a terminal (over SSH: ssh -t), or use `sfttui scan` or `sfttui split`, "
            "which need none\n"
        ), result.output
    assert not (tmp_path / "sfttui-demo").exists()


def test_the_app_command_is_named_as_people_type_it():
    for args in (["data.jsonl", "--help"], ["data.jsonl", "--no-such-option"]):
        output = CliRunner().invoke(main, args, prog_name="sfttui").output
        assert output.startswith("Usage: sfttui [OPTIONS] FILES...\n"), output
        assert "sfttui open" not in output


def test_split_reads_a_hugging_face_dataset_folder_and_writes_jsonl(tmp_path):
    from .test_load import _chat_row, _hf_dataset

    ds_dir = tmp_path / "ds"
    _hf_dataset(ds_dir / "train", [_chat_row(i) for i in range(20)])
    _hf_dataset(ds_dir / "test", [_chat_row(i) for i in range(20, 25)])
    (ds_dir / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test"]}))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["split", str(ds_dir), "--out", str(out), "--state-dir", str(tmp_path / "s")]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["splits_from"] == "existing" and len(manifest["written_as_jsonl"]) == 2
    test_rows = [json.loads(line) for line in (out / "test.jsonl").read_text().splitlines()]
    assert [r["messages"][0]["content"] for r in test_rows] == [f"question {i} here" for i in range(20, 25)]
    assert CliRunner().invoke(main, ["scan", str(ds_dir)]).exit_code == 0


def test_split_groups_shortfall_notes_and_warns_about_unrelated_inputs(tmp_path):
    # Instruction data printed 12 note lines of missing hard data (one per kind and split),
    # and unrelated files (different tasks) were balanced as one without a word.
    import random

    rng = random.Random(5)
    vocab = [f"w{i}" for i in range(400)]

    def write(name: str, labels: list[str]) -> str:
        path = tmp_path / name
        rows = [
            {
                "messages": [
                    {"role": "user", "content": " ".join(rng.sample(vocab, 12))},
                    {"role": "assistant", "content": " ".join(rng.sample(vocab, 8))},
                ],
                "label": labels[i % len(labels)],
            }
            for i in range(60)
        ]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return str(path)

    files = [write("tasks.jsonl", ["translate", "summarise"]), write("moods.jsonl", ["pos", "neg"])]
    out = tmp_path / "o"
    result = CliRunner().invoke(
        main, ["split", *files, "--out", str(out), "--state-dir", str(tmp_path / "s")]
    )
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("note:")]
    unrelated = "note: the inputs share no label (tasks.jsonl (2 labels), moods.jsonl (2 labels)): balance"
    assert any(n.startswith(unrelated) for n in notes), notes
    manifest = json.loads((out / "manifest.json").read_text())
    assert len([w for w in manifest["coverage"]["warnings"] if "split has no" in w]) >= 9  # all kept there
    printed = [n for n in notes if "split has no" in n]
    assert len(printed) == 3, printed  # one line per split
    assert (
        "note: the test split has no hard-negative rows, refusal examples, out-of-scope examples or "
        "clarifying-question examples: it cannot measure them" in printed
    )


def test_nan_infinite_or_empty_option_values_are_usage_errors(write_jsonl):
    # --max-imbalance nan passed every range check and turned the imbalance gate off
    # ("balance ok", exit 0); --threshold nan and --max-decompressed inf ended in a
    # traceback; --fail-on "" (an empty CI variable) dropped every gate without a word.
    path = str(write_jsonl("d.jsonl", [{"text": f"row {i}", "label": "ab"[i % 3 == 0]} for i in range(40)]))
    for option, value, said in [
        ("--max-imbalance", "nan", "'nan' is not a number"),
        ("--threshold", "nan", "'nan' is not a number"),
        # Below the app's slider: 6k questions took 18 s and 894 MB at 0.1, 4.6 s at 0.3.
        ("--threshold", "0.05", "'0.05' is below 0.3: at that similarity most texts are near one another"),
        ("--threshold", "1.5", "1.5 is not in the range 0.3<=x<=1.0"),
        ("--threshold", "-1", "-1.0 is not in the range 0.3<=x<=1.0"),
        ("--max-expansion", "nan", "'nan' is not a number"),
        ("--max-decompressed", "inf", "'inf' is not a positive size"),
        ("--max-decompressed", "0.1", "'0.1' is not a positive size"),
        ("--fail-on", "", "names no kind"),
        ("--fail-on", ",,", "names no kind"),
    ]:
        result = _scan(path, option, value)
        assert result.exit_code == 2, (option, value, result.output)
        assert f"Invalid value for '{option}': {said}" in result.output
        assert "Traceback" not in result.output


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("json_to", [None, "-"])
def test_a_full_standard_output_is_an_error_line_not_a_traceback(write_jsonl, json_to):
    path = str(write_jsonl("d.jsonl", [{"text": f"row {i} here", "label": "ab"[i % 2]} for i in range(30)]))
    args = [
        sys.executable,
        "-m",
        "sfttui",
        "scan",
        path,
        "--no-near",
        *(["--json", json_to] if json_to else []),
    ]
    with open("/dev/full", "wb") as full:
        done = subprocess.run(args, stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().endswith("error: cannot write standard output: No space left on device")
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("into", ["full", "closed pipe"])
def test_a_split_whose_summary_cannot_be_printed_says_its_splits_were_written(write_jsonl, tmp_path, into):
    # `split > /dev/full` wrote and verified the splits, then ended in a traceback (exit
    # 1, "nothing is put in --out"); into a closed pipe it exited 1 without a word, and
    # so did `scan ... | true`, as if a gate had failed.
    path = str(write_jsonl("d.jsonl", [{"text": f"row {i} here", "label": "ab"[i % 2]} for i in range(30)]))
    out = tmp_path / "out"
    runs = {
        "split": ["split", path, "--no-near", "--out", str(out), "--state-dir", str(tmp_path / "s")],
        "scan": ["scan", path, "--no-near"],
    }
    said = "No space left on device" if into == "full" else "Broken pipe"
    for command, argv in runs.items():
        argv = [sys.executable, "-m", "sfttui", *argv]
        if into == "full":
            with open("/dev/full", "wb") as full:
                done = subprocess.run(argv, stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
        else:
            read, write = os.pipe()
            os.close(read)  # nobody reads: the first write fails
            done = subprocess.run(argv, stdout=write, stderr=subprocess.PIPE, text=True, timeout=300)
            os.close(write)
        assert done.returncode == 2, (command, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert lines[0] == f"error: cannot write standard output: {said}", (command, done.stderr)
        if command == "split":
            assert lines[1:] == [f"the splits were written and verified in {out}"]
            assert (out / "train.jsonl").exists() and (out / "manifest.json").exists()
        else:
            assert lines[1:] == []


def test_a_patterns_file_that_is_a_fifo_is_refused_not_waited_on(write_jsonl, tmp_path):
    # Inputs, eval and reference files that are FIFOs were refused; --patterns blocked
    # the scan until it was killed.
    path = str(write_jsonl("d.jsonl", [{"text": f"row {i} here", "label": "ab"[i % 2]} for i in range(30)]))
    fifo = tmp_path / "patterns"
    os.mkfifo(fifo)
    result = _scan(path, "--no-near", "--patterns", str(fifo))
    assert result.exit_code == 2
    assert f"{fifo}: is a named pipe (FIFO), not a regular file" in result.output


def test_an_empty_field_name_or_format_beside_text_field_is_a_usage_error(write_jsonl):
    # --by "" grouped by nothing ("200 rows have no value for ; each is its own group");
    # --format beside --text-field was dropped without a word.
    path = str(write_jsonl("d.jsonl", [{"text": f"row {i} here", "label": "ab"[i % 2]} for i in range(30)]))
    for option, value in [("--by", ""), ("--text-field", ""), ("--label-field", " "), ("--id-field", "a..b")]:
        result = _scan(path, "--no-near", option, value)
        assert result.exit_code == 2, (option, result.output)
        assert f"{value!r} names no field" in result.output
    both = _scan(path, "--no-near", "--format", "alpaca", "--text-field", "text")
    assert both.exit_code == 2 and "--format and --text-field both say where the text is" in both.output


def test_an_input_given_as_its_own_eval_or_reference_is_refused(write_jsonl, tmp_path):
    # Every row matched its own copy: `split` dropped all of them as eval contamination,
    # wrote three empty splits and exited 0.
    path = write_jsonl("d.jsonl", [{"text": f"row {i} here", "label": "ab"[i % 2]} for i in range(30)])
    split = CliRunner().invoke(
        main,
        [
            "split",
            str(path),
            "--eval",
            str(path),
            "--out",
            str(tmp_path / "o"),
            "--state-dir",
            str(tmp_path / "s"),
        ],
    )
    assert split.exit_code == 2 and not (tmp_path / "o").exists()
    assert f"error: --eval {path} is also an input: a file cannot be its own eval set" in split.output
    scan = _scan(str(path), "--no-near", "--reference", str(path))
    assert (
        scan.exit_code == 2 and "is also an input: a file cannot be its own reference sample" in scan.output
    )


def test_a_report_path_in_a_missing_folder_is_refused_before_the_analysis(write_jsonl, tmp_path, monkeypatch):
    # It was said only after the whole analysis (12 s on 14k rows, minutes on more).
    path = str(write_jsonl("d.jsonl", [{"text": f"row {i} here", "label": "ab"[i % 2]} for i in range(30)]))
    monkeypatch.setattr("sfttui.engine.scan.load", lambda *a, **k: pytest.fail("the data was read"))
    result = _scan(path, "--json", str(tmp_path / "nodir" / "r.json"))
    assert result.exit_code == 2
    assert (
        f"cannot write the report {tmp_path / 'nodir' / 'r.json'}: {tmp_path / 'nodir'} does not exist"
        in (" ".join(result.output.split()))
    )


def test_with_the_near_search_off_a_gate_that_found_nothing_is_not_a_pass(write_jsonl):
    # --no-near turned off near leakage between splits too, and `--fail-on leakage` and
    # `--fail-on duplicates` passed with "ok 0 hits" while the analysis line still said
    # "exact, near and same-group rows".
    said = "my parcel from the shop in {} never arrived and the tracking page has not moved for a week now"
    towns = ["leeds", "york", "bath", "ely", "hull", "wells"]
    rows = [{"text": said.format(t), "label": "ship", "split": "train"} for t in towns]
    rows += [{"text": said.format(t) + " please", "label": "ship", "split": "test"} for t in towns[:3]]
    path = str(write_jsonl("d.jsonl", rows))
    searched = _scan(path, "--fail-on", "leakage")
    assert searched.exit_code == 1 and "split-near" in searched.output
    off = _scan(path, "--no-near", "--fail-on", "leakage,duplicates", "--json", "-")
    assert off.exit_code == 1
    report = json.loads(off.stdout)
    assert report["findings"]["leakage"] == 0 and report["findings"]["duplicates"] == 0
    assert report["not_checked"]["leakage"].startswith("near duplicates across the splits were not searched")
    assert report["not_checked"]["duplicates"].startswith("near duplicates were not searched (--no-near)")
    [between] = [a for a in report["analyses"] if a["name"] == "leakage between splits"]
    assert between["detail"].startswith("exact and same-group rows across the existing splits")


def test_a_group_field_no_row_has_leaves_shared_groups_not_checked(write_jsonl):
    # `--by usr` (the field is `user`) passed `--fail-on leakage` with "ok", where
    # `--by user` finds the users shared between the splits.
    rng = random.Random(3)
    words = [f"w{k}" for k in range(5000)]
    splits = ["train"] * 20 + ["test"] * 6
    rows = [
        {"text": " ".join(rng.sample(words, 12)), "label": "ship", "user": f"u{i % 4}", "split": split}
        for i, split in enumerate(splits)
    ]
    path = str(write_jsonl("d.jsonl", rows))
    right = _scan(path, "--by", "user", "--fail-on", "leakage")
    assert right.exit_code == 1 and "split-group" in right.output
    wrong = _scan(path, "--by", "usr", "--fail-on", "leakage", "--json", "-")
    assert wrong.exit_code == 1
    assert json.loads(wrong.stdout)["not_checked"]["leakage"] == (
        "no row has a value for the group field usr, so groups shared across the splits were not checked"
    )


def test_eval_items_of_punctuation_only_are_set_aside_and_leakage_not_checked(write_jsonl, tmp_path):
    # "?!... ---" normalises to nothing: it matched nothing, was dropped without a word,
    # and `--fail-on leakage` passed, though the training data holds it word for word.
    data = write_jsonl(
        "d.jsonl", [{"text": f"row {i} about parcel {i * 7}", "label": "a"} for i in range(30)]
    )
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"text": "?!... ---"}\n{"text": "a question of its own about refunds"}\n')
    result = _scan(str(data), "--eval", str(gold), "--fail-on", "leakage", "--json", "-")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["not_checked"]["leakage"].startswith("1 eval record was set aside")
    [aside] = report["leakage"]["eval_set_aside"]
    assert (aside["file"], aside["line"], aside["excluded"]) == ("gold.jsonl", 1, True)
    assert "empty once normalised" in aside["reason"]
    assert [(i["rows"], i["bad_lines"]) for i in report["leakage"]["eval_inputs"]] == [(1, 1)]
    kept = _scan(str(data), "--eval", str(gold), "--keep-punctuation", "--fail-on", "leakage")
    assert kept.exit_code == 0, kept.output  # with punctuation kept, the item is compared
    # A blank line is set aside too, but held no item: nothing went unchecked.
    gold.write_text('\n{"text": "a question of its own about refunds"}\n\n')
    spaced = _scan(str(data), "--eval", str(gold), "--fail-on", "leakage", "--json", "-")
    assert spaced.exit_code == 0, spaced.output
    assert "leakage" not in json.loads(spaced.stdout)["not_checked"]


def test_a_file_mostly_set_aside_leaves_the_gates_that_found_nothing_not_checked(tmp_path):
    # 50 of 52 records of test.jsonl were bad lines (one missing brace each), and
    # `--fail-on duplicates,leakage` passed with "ok" on the 2 rows left, though the
    # set-aside lines copy the training rows word for word.
    rng = random.Random(5)
    words = [f"w{k}" for k in range(4000)]
    texts = [" ".join(rng.sample(words, 14)) for _ in range(60)]
    train = tmp_path / "train.jsonl"
    train.write_text(
        "".join(json.dumps({"text": t, "label": "ab"[i % 2]}) + "\n" for i, t in enumerate(texts))
    )
    test = tmp_path / "test.jsonl"
    good = [json.dumps({"text": t, "label": "a"}) for t in ("where is my parcel", "how do refunds work")]
    broken = [json.dumps({"text": t, "label": "a"})[:-1] for t in texts[:50]]
    test.write_text("\n".join(good + broken) + "\n")
    result = _scan(str(train), str(test), "--fail-on", "duplicates,leakage,conflicts", "--json", "-")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["findings"]["duplicates"] == 0 and report["findings"]["leakage"] == 0
    said = (
        "most of test.jsonl was set aside: 50 of 52 records are bad lines, so finding nothing in the "
        "rest says nothing about the file"
    )
    assert {k: report["not_checked"].get(k) for k in ("duplicates", "leakage", "conflicts")} == dict.fromkeys(
        ("duplicates", "leakage", "conflicts"), said
    )
    assert "bad-lines" not in report["not_checked"] and report["findings"]["bad-lines"] == 50
    # What a gate found still counts as found; the file read whole passes.
    test.write_text("\n".join(good + [b + "}" for b in broken]) + "\n")
    whole = _scan(str(train), str(test), "--fail-on", "leakage", "--json", "-")
    assert whole.exit_code == 1 and json.loads(whole.stdout)["findings"]["leakage"] == 50
    assert "leakage" not in json.loads(whole.stdout)["not_checked"]
    clean = _scan(str(train), "--fail-on", "duplicates,conflicts")
    assert clean.exit_code == 0, clean.output
    # Blank lines are set aside too, but hold nothing to check: a file spaced out with
    # them (60 records, 61 blank lines) is not "mostly set aside".
    train.write_text(
        "\n" + "".join(json.dumps({"text": t, "label": "ab"[i % 2]}) + "\n\n" for i, t in enumerate(texts))
    )
    spaced = _scan(str(train), "--fail-on", "duplicates,conflicts", "--json", "-")
    assert spaced.exit_code == 0, spaced.output
    assert json.loads(spaced.stdout)["findings"]["bad-lines"] == 61


def test_a_csv_whose_reading_stopped_early_leaves_the_gates_not_checked(tmp_path):
    # One unclosed quote on line 12 made the other 1,190 lines one bad-line record: 1 of
    # 11 records set aside, so `--fail-on duplicates` passed on the 10 rows before it,
    # though the unread lines held 200 exact copies.
    rng = random.Random(6)
    words = [f"w{k}" for k in range(4000)]
    rows = ["text,label"] + [f'"{" ".join(rng.sample(words, 12))}",{"ab"[i % 2]}' for i in range(1000)]
    clean = list(rows)
    rows.insert(11, '"Great movie" - my mom,a')
    rows += rows[500:700]
    data = tmp_path / "data.csv"
    data.write_text("\n".join(rows) + "\n")
    result = _scan(str(data), "--no-coverage", "--fail-on", "duplicates", "--json", "-")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["rows"] == 10 and report["findings"] == {
        **report["findings"],
        "duplicates": 0,
        "bad-lines": 1,
    }
    assert report["not_checked"]["duplicates"] == (
        "most of data.csv was set aside: 1 of 11 records is a bad line and its last 1,190 lines were "
        "not read (a record there stopped the reading), so finding nothing in the rest says nothing "
        "about the file"
    )
    # Lines ended by a lone \r are lines too (they were counted by \n alone: 0 unread).
    data.write_text("\r".join(rows) + "\r", newline="")
    cr = _scan(str(data), "--no-coverage", "--fail-on", "duplicates", "--json", "-")
    assert (
        cr.exit_code == 1
        and "its last 1,190 lines were not read" in json.loads(cr.stdout)["not_checked"]["duplicates"]
    )
    # Records of four lines each, stopped at the 80th of 100: 79 read, 80 lines (about 20
    # records) not: read mostly, not "mostly set aside".
    four = ["text,label"] + [
        '"' + "\n".join(" ".join(rng.sample(words, 4)) for _ in range(4)) + '",a' for _ in range(100)
    ]
    four[80] = '"Great movie" - my mom,a'
    data.write_text("\n".join(four) + "\n")
    tall = _scan(str(data), "--no-coverage", "--fail-on", "duplicates", "--json", "-")
    assert tall.exit_code == 0, tall.output
    assert json.loads(tall.stdout)["rows"] == 79
    # Stopped near its end, the file was read: the gate's "ok" stands.
    data.write_text("\n".join([*clean[:96], '"Great movie" - my mom,a', *clean[96:101]]) + "\n")
    late = _scan(str(data), "--no-coverage", "--fail-on", "duplicates", "--json", "-")
    assert late.exit_code == 0, late.output
    assert "duplicates" not in json.loads(late.stdout)["not_checked"]


def test_ambiguous_rows_not_measured_leave_a_coverage_gate_not_checked(write_jsonl):
    # `--no-model --fail-on coverage` passed: the scorecard showed ambiguous rows "n/a",
    # as for data they do not apply to, though two labels of 100 rows each had them
    # apply, and nothing was looked for.
    rng = random.Random(4)
    words = [f"w{k}" for k in range(3000)]
    rows = []
    for _ in range(60):  # 120 hard negatives: pairs alike past 0.5, not duplicates
        base = rng.sample(words, 12)
        rows.append({"text": " ".join([*base, *rng.sample(words, 3), "late"]), "label": "complaint"})
        rows.append({"text": " ".join([*base, *rng.sample(words, 3), "early"]), "label": "praise"})
    rows += [
        {"text": " ".join(rng.sample(words, 12)), "label": "complaint" if i % 2 else "praise"}
        for i in range(80)
    ]
    path = str(write_jsonl("d.jsonl", rows))
    # With the model on, it ran and could not beat the baseline (the labels are random):
    # no row can be called ambiguous, which is not a pass either.
    measured = _scan(path, "--fail-on", "coverage", "--json", "-")
    assert measured.exit_code == 1
    report = json.loads(measured.stdout)
    [hard, ambiguous] = report["coverage"]["scorecard"][:2]
    assert (hard["kind"], hard["total"], hard["status"]) == ("hard_negatives", 120, "ok")
    assert (ambiguous["kind"], ambiguous["applies"]) == ("ambiguous", False)
    assert report["not_checked"]["coverage"] == (
        "ambiguous rows were not measured (the label model does no better than the majority baseline, "
        "so no row can be called ambiguous); every other kind that applies is met"
    )
    off = _scan(path, "--no-model", "--fail-on", "coverage", "--json", "-")
    assert off.exit_code == 1
    assert json.loads(off.stdout)["not_checked"]["coverage"] == (
        "ambiguous rows were not measured (--no-model); every other kind that applies is met"
    )
    one_label = str(write_jsonl("one.jsonl", [{**row, "label": "complaint"} for row in rows]))
    unlabelled = _scan(one_label, "--no-model", "--fail-on", "coverage", "--json", "-")
    assert "ambiguous rows were not measured" not in unlabelled.stdout  # the model would not run


def test_no_near_leaves_label_conflicts_not_checked_unless_exact_copies_disagree(tmp_path):
    # A near copy with the other label went unseen under --no-near, and `--fail-on
    # conflicts` passed with "ok" (as `--fail-on duplicates` did not).
    rng = random.Random(9)
    words = [f"w{k}" for k in range(4000)]
    texts = [" ".join(rng.sample(words, 16)) for _ in range(60)]
    records = [{"text": t, "label": "ab"[i % 2]} for i, t in enumerate(texts)]
    records.append({"text": texts[10] + " really", "label": "b"})  # texts[10] is "a"
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    args = ["--no-model", "--no-coverage", "--fail-on", "conflicts", "--json", "-"]
    assert _scan(str(data), *args).exit_code == 1  # the near conflict, found
    skipped = _scan(str(data), "--no-near", *args)
    assert skipped.exit_code == 1
    report = json.loads(skipped.stdout)
    assert report["findings"]["conflicts"] == 0
    assert report["not_checked"]["conflicts"] == (
        "near duplicates were not searched (--no-near); exact copies were, and none carries another label"
    )
    # An exact copy with the other label is found without near matching: that stands.
    data.write_text("".join(json.dumps(r) + "\n" for r in [*records, {"text": texts[10], "label": "b"}]))
    found = _scan(str(data), "--no-near", *args)
    assert found.exit_code == 1 and json.loads(found.stdout)["findings"]["conflicts"] == 1
    assert "conflicts" not in json.loads(found.stdout)["not_checked"]


def test_an_eval_csv_read_only_in_part_says_how_much_was_not_read(tmp_path):
    # "1 eval records were set aside" where 98 of 100 were never read.
    data = tmp_path / "d.jsonl"
    data.write_text(
        "".join(json.dumps({"text": f"training row {i} here", "label": "a"}) + "\n" for i in range(20))
    )
    gold = tmp_path / "gold.csv"
    lines = ["text"] + [f'"eval item number {i} asks"' for i in range(100)]
    lines[3] = '"Great movie" - my mom'
    gold.write_text("\n".join(lines) + "\n")
    result = _scan(str(data), "--eval", str(gold), "--no-near", "--fail-on", "leakage", "--json", "-")
    assert result.exit_code == 1
    why = json.loads(result.stdout)["not_checked"]["leakage"]
    assert why.startswith(
        "1 eval record was set aside and about 97 more after a record that stopped the reading"
    )


def test_low_memory_writes_the_same_report_and_splits_with_the_texts_in_files(tmp_path, monkeypatch):
    import sfttui.engine.scan
    import sfttui.engine.session
    from sfttui.engine.io.texts import SpilledTexts

    from .conftest import DEMO, demo_eval_file

    # The real scan, not the suite's cache of it (which keeps each result, and its files).
    monkeypatch.setattr(sfttui.engine.session, "run_scan", sfttui.engine.scan.run_scan)
    monkeypatch.setenv("SFTTUI_TEMP_DIR", str(tmp_path / "spilled"))
    (tmp_path / "spilled").mkdir()
    spills = []
    spill = SpilledTexts.spill.__func__
    monkeypatch.setattr(
        SpilledTexts, "spill", classmethod(lambda cls, *a: spills.append(a) or spill(cls, *a))
    )
    evals = str(demo_eval_file(tmp_path))
    out = {}
    for low in (False, True):
        flag = ["--low-memory"] if low else []
        report = tmp_path / f"report-{low}.json"
        scan = CliRunner().invoke(main, ["scan", str(DEMO), "--eval", evals, "--json", str(report), *flag])
        assert scan.exit_code == 0, scan.output
        split = CliRunner().invoke(
            main, ["split", str(DEMO), "--eval", evals, "--out", str(tmp_path / f"o{low}"), *flag]
        )
        assert split.exit_code == 0, split.output
        out[low] = [report.read_bytes()] + [
            (tmp_path / f"o{low}" / n).read_bytes() for n in ("train.jsonl", "test.jsonl")
        ]
        assert len(spills) == (2 if low else 0)  # scan and split, each once
    assert out[True] == out[False] and b'"kind": "ngram"' in out[True][0]
    import gc

    gc.collect()
    assert list((tmp_path / "spilled").iterdir()) == []  # the texts' files went with the scans


def test_low_memory_has_the_c_library_give_large_blocks_pages_of_their_own(monkeypatch):
    import sfttui.engine.runtime.memory as memory

    calls: list[tuple[int, int]] = []

    class FakeLibc:
        def mallopt(self, parameter: int, value: int) -> int:
            calls.append((parameter, value))
            return 1

    monkeypatch.setattr(memory, "_glibc", lambda: FakeLibc())
    monkeypatch.setenv(memory.JEMALLOC_OPTIONS, "narenas:2")
    assert "polars" in sys.modules  # so jemalloc's part is skipped: it would not take
    memory.hand_freed_memory_back()
    assert calls == [(-3, 1 << 20)]  # M_MMAP_THRESHOLD, 1 MiB
    assert os.environ[memory.JEMALLOC_OPTIONS] == "narenas:2"


def test_low_memory_sets_polars_allocator_before_any_option_loads_polars(tmp_path):
    # --ratios' check imports the engine (and Polars): --low-memory is taken first.
    code = (
        "import os, sys\n"
        "from sfttui.cli import main\n"
        "try:\n"
        "    main(['split', sys.argv[1], '--out', sys.argv[2], '--ratios', '80/10/10', '--low-memory'],"
        " standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(os.environ.get('_RJEM_MALLOC_CONF'))\n"
    )
    demo = str(__import__("tests.conftest", fromlist=["DEMO"]).DEMO)
    ran = subprocess.run(
        [sys.executable, "-c", code, demo, str(tmp_path / "out")], capture_output=True, text=True
    )
    assert ran.stdout.strip().splitlines()[-1].endswith(",dirty_decay_ms:0,muzzy_decay_ms:0"), ran.stderr
    assert (tmp_path / "out" / "train.jsonl").stat().st_size > 0

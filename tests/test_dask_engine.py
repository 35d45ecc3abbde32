"""The Dask engine on a local cluster gives the same results as the local engine.

Task sizes are made tiny, so a few thousand rows become many load blocks, slices,
partitions and partition pairs: every shuffle and every boundary is exercised.
"""

from __future__ import annotations

import json
import random
import shutil
import socket
import subprocess
import threading
import time

import dask
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

pytest.importorskip("distributed", reason="the dask extra is not installed (pip install 'sfttui[dask]')")

from sfttui.cli import main
from sfttui.engine.analyses.dedup import near_pairs
from sfttui.engine.errors import InputError
from sfttui.engine.io.load import load
from sfttui.engine.report import build_report
from sfttui.engine.runtime.dask import DaskEngine
from sfttui.engine.runtime.engines import open_engine
from sfttui.engine.runtime.parallel import LOCAL
from sfttui.engine.scan import run_scan
from sfttui.engine.settings import LoadSettings, NearSettings, ScanSettings

from .conftest import DEMO, SHARED_DATA, demo_eval_file

# One pytest worker runs them all, so one local cluster serves the module (~3 s to start).
pytestmark = pytest.mark.xdist_group("dask")


@pytest.fixture(scope="module")
def dask_engine():
    engine = DaskEngine.connect(workers=2, rows_per_task=300, min_partition=200, block_bytes=50_000)
    yield engine
    engine.close()


def test_scan_report_is_identical_to_local(dask_engine, tmp_path):
    settings = ScanSettings(
        load=LoadSettings(group_fields=("user_id",)), eval_paths=(str(demo_eval_file(tmp_path)),)
    )
    local = run_scan([DEMO], settings)
    dist = run_scan([DEMO], settings, engine=dask_engine)
    assert build_report(dist) == build_report(local)
    # And the parts the report summarises, whole.
    assert dist.dataset.rows.equals(local.dataset.rows)
    assert dist.dataset.bad_lines.equals(local.dataset.bad_lines)
    assert dist.duplicates.clusters.equals(local.duplicates.clusters)
    assert dist.duplicates.membership.equals(local.duplicates.membership)
    assert dist.leakage.eval_hits.equals(local.leakage.eval_hits)
    # Not a vacuous comparison: the demo has clusters, bad lines and eval hits of every kind.
    assert local.duplicates.clusters.height > 50
    assert local.dataset.bad_lines.height > 0
    assert set(local.leakage.eval_hits["kind"]) == {"exact", "near", "ngram"}
    assert [p.to_dict() for p in dist.duplicates.passes] == [p.to_dict() for p in local.duplicates.passes]


def test_blocks_keep_line_numbers_bad_lines_and_file_wide_checks(dask_engine, tmp_path):
    """A file read in many byte blocks: BOM, bad lines, a minority of integer labels and
    rows missing their label come out as if the file had been read whole."""
    rng = random.Random(3)
    lines = []
    for i in range(1500):
        row: dict = {"text": f"row {i} " + " ".join(rng.choice("abcdefgh") * 3 for _ in range(8))}
        if i < 1200:
            row["label"] = 7 if i % 97 == 0 else rng.choice(["pos", "neg"])
        lines.append(json.dumps(row))
    lines[0] = "\ufeff" + lines[0]
    lines[400] = "{not json"
    lines[401] = ""
    lines[950] = "[1, 2]"
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")  # no newline at the end either
    local = load([path])
    dist = load([path], LoadSettings(), engine=dask_engine)
    assert dist.rows.equals(local.rows)
    assert dist.bad_lines.equals(local.bad_lines)
    assert [i.to_dict() for i in dist.inputs] == [i.to_dict() for i in local.inputs]
    assert dist.notes == local.notes
    bad = dict(zip(local.bad_lines["line"].to_list(), local.bad_lines["reason"].to_list()))
    assert bad[401].startswith("invalid JSON") and bad[402] == "blank line"
    assert bad[951].startswith("not a JSON object") and "integer" in bad[98]
    assert bad[1500] == "missing label 'label'" and local.rows["line"].max() == 1200


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} not present")
def test_near_pairs_across_partitions_equal_local(dask_engine):
    """Real tweets with planted near copies spread over many partitions; boilerplate makes
    buckets too large to pair whole, which must be chained the same way."""
    texts = [json.loads(line)["text"] for line in (SHARED_DATA / "tweeteval_hate.jsonl").open()][:2000]
    rng = np.random.default_rng(5)
    copies = []
    for i in rng.integers(0, len(texts), 300):
        words = texts[i].split()
        words[rng.integers(0, len(words))] = "changed"
        copies.append(" ".join(words))
    boiler = ["please reset my password for the account today thank you"] * 3 + [
        f"please reset my password for the account today thank you {i}" for i in range(90)
    ]
    series = pl.Series([*texts, *copies, *boiler]).str.to_lowercase().unique(maintain_order=True)
    settings = NearSettings(max_bucket=8)
    local, local_passes = near_pairs(series, settings)
    dist, dist_passes = near_pairs(series, settings, engine=dask_engine)
    assert dist.equals(local)
    assert [p.to_dict() for p in dist_passes] == [p.to_dict() for p in local_passes]
    assert local.height > 250
    assert any(p.oversized_buckets for p in local_passes)


def test_exact_grouping_shuffle_names_the_first_position(dask_engine):
    values = pl.Series(["b", "a", "b", "c", "a", "a", "", "b"] * 100)
    assert dask_engine.first_of_equal(values).to_list() == LOCAL.first_of_equal(values).to_list()
    assert dask_engine.first_of_equal(values).to_list()[:8] == [0, 1, 0, 3, 1, 1, 6, 0]


def test_split_command_writes_the_same_bytes(dask_engine, tmp_path):
    """`sfttui split --engine dask --scheduler ADDRESS` writes byte-identical files."""
    outputs = {}
    on = {"local": [], "dask": ["--scheduler", dask_engine.client.scheduler.address]}
    for engine in ("local", "dask"):
        out = tmp_path / engine
        result = CliRunner().invoke(
            main,
            ["split", str(DEMO), "--group-field", "user_id", "-o", str(out), "--engine", engine,
             *on[engine], "--state-dir", str(tmp_path / "state")],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        outputs[engine] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert outputs["dask"] == outputs["local"]
    assert set(outputs["local"]) >= {"train.jsonl", "validation.jsonl", "test.jsonl", "manifest.json"}
    assert len(outputs["local"]["train.jsonl"].splitlines()) > 1500


def test_engine_errors_are_one_clear_line():
    with pytest.raises(InputError, match="--scheduler needs --engine dask"):
        open_engine("local", "tcp://127.0.0.1:1")
    with pytest.raises(InputError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:1"):
        DaskEngine.connect("tcp://127.0.0.1:1", timeout="1s")
    result = CliRunner().invoke(main, ["scan", str(DEMO), "--engine", "spark"])
    assert result.exit_code == 2 and "'spark' is not one of 'local', 'dask'" in result.output


def _plus_sum(item: int, shared: pl.DataFrame) -> int:
    return item + int(shared["x"].sum())


def test_map_after_map_with_an_equal_shared_input(dask_engine):
    """Equal inputs scattered by consecutive maps (the eval texts and eval prompts of a
    set whose items are one turn) must not share a key: releasing the first map's copy
    would take the second's from under its tasks ('lost dependencies')."""
    for _ in range(40):
        shared = pl.DataFrame({"x": [1, 2, 3]})
        assert dask_engine.map(_plus_sum, [1, 2, 3], shared) == [7, 8, 9]


@pytest.fixture
def listener():
    """A port that accepts connections and answers each with `reply` (b"": never speaks)."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve(reply: bytes) -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # closed at the end of the test
                return
            held.append(conn)
            conn.sendall(reply)

    def start(reply: bytes) -> str:
        threading.Thread(target=serve, args=(reply,), daemon=True).start()
        return f"tcp://127.0.0.1:{server.getsockname()[1]}"

    yield start
    server.close()
    for conn in held:
        conn.close()


def test_a_port_that_answers_in_another_protocol_is_an_input_error(listener):
    # A dashboard's HTTP reply, read as a frame length, was a traceback: NumPy could not
    # allocate 3.07 EiB.
    address = listener(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(InputError) as caught:
        DaskEngine.connect(address, timeout="5s")
    assert str(caught.value) == (
        f"cannot use {address} as a Dask scheduler: something answers there, but not in Dask's protocol; "
        "is the port the scheduler's (8786 by default), not its dashboard's (8787)?"
    )


def test_a_port_that_accepts_and_never_answers_is_given_up_on_in_time(listener):
    # The Client's timeout bounds reaching the port, not the handshake: this waited for ever.
    address = listener(b"")
    started = time.monotonic()
    with pytest.raises(InputError) as caught:
        DaskEngine.connect(address, timeout="2s")
    assert time.monotonic() - started < 15
    assert str(caught.value) == (
        f"cannot reach the Dask scheduler at {address} (no answer in Dask's protocol within 2 s)"
    )


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the test's certificate")
def test_a_tls_scheduler_is_reached_with_the_dask_configs_tls_settings(tmp_path):
    # The handshake probe connected without the TLS settings a Client reads from the
    # Dask config, and every tls:// scheduler was refused as "not in Dask's protocol".
    from distributed import LocalCluster
    from distributed.security import Security

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=x"]
    subprocess.run([*request, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    tls = {"distributed.comm.tls.ca-file": str(cert)}
    for who in ("client", "scheduler", "worker"):
        tls |= {f"distributed.comm.tls.{who}.cert": str(cert), f"distributed.comm.tls.{who}.key": str(key)}
    with dask.config.set(tls):
        security = Security()
        with LocalCluster(
            n_workers=1, processes=False, protocol="tls", security=security, dashboard_address=":0"
        ) as cluster:
            engine = DaskEngine.connect(cluster.scheduler_address, timeout="10s")
            try:
                assert engine.describe().startswith("dask (1 workers at tls://")
                assert engine.map(_plus_sum, [1], pl.DataFrame({"x": [2]})) == [3]
            finally:
                engine.close()


@pytest.mark.parametrize("address", ["notaurl", "host:port", "inproc://x"])
def test_a_scheduler_address_dask_cannot_read_is_an_input_error(address):
    # Each ended in a ValueError traceback from Dask's address parser.
    with pytest.raises(InputError, match=f"--scheduler '{address}' is not a Dask scheduler address"):
        DaskEngine.connect(address)

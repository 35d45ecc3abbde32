"""The versioned JSON report written by `sfttui scan --json` (schema sfttui.report/2).

Fields other tools may rely on are documented in the README; the report holds no
timings or absolute times, so the same input and settings give the same bytes.
"""

from __future__ import annotations

import os
from typing import Any

import orjson
import polars as pl

from .. import __version__
from .analyses.coverage import split_series
from .io.atomic import write_bytes_atomic
from .scan import ScanResult

SCHEMA = "sfttui.report/2"


def build_report(result: ScanResult) -> dict[str, Any]:
    ds, dup = result.dataset, result.duplicates
    clusters = dup.clusters.select(
        "id",
        "side",
        "kind",
        "size",
        "members",
        "similarities",
        "keeper",
        "similarity",
        "max_similarity",
        "labels",
        "conflict",
        "removable",
    ).to_dicts()
    return {
        "schema": SCHEMA,
        "version": __version__,
        "settings": result.settings.to_dict(),
        "inputs": [i.to_dict() for i in ds.inputs],
        "rows": ds.rows.height,
        "row_keys": ds.key_source,
        "bad_lines": ds.bad_lines.drop("raw").to_dicts(),
        "analyses": [{"name": a.name, "ran": a.ran, "detail": a.detail} for a in result.analyses],
        "duplicates": {
            "clusters": clusters,
            "exact_clusters": _count(dup.clusters, "example", "exact"),
            "near_clusters": _count(dup.clusters, "example", "near"),
            "same_input_clusters": _count(dup.clusters, "input"),
            "rows_in_clusters": int(dup.clusters["size"].sum()) if dup.clusters.height else 0,
            "rows_removable": dup.rows_removable,
            "near_pairs": dup.pairs.rename({"a": "key_a", "b": "key_b"}).to_dicts(),
            "passes": [p.to_dict() for p in dup.passes],
        },
        "conflicts": [
            {"cluster": c["id"], "side": c["side"], "labels": c["labels"], "members": c["members"]}
            for c in dup.conflicts.select("id", "side", "labels", "members").to_dicts()
        ],
        "balance": result.balance.to_dict(),
        "leakage": {
            "counts": result.leakage.counts(),
            "between_splits": result.leakage.between_splits.to_dicts(),
            "eval_inputs": result.leakage.eval_inputs,
            "eval": result.leakage.eval_hits.to_dicts(),
        },
        "coverage": result.coverage.to_dict(split_series(ds)),
        "representativeness": result.representativeness.to_dict(),
        "quality": result.quality.to_dict(ds.rows["key"]),
        "lengths": result.lengths.to_dict(),
        "drift": result.drift.to_dict(),
        "outliers": result.outliers.to_dict(),
        "findings": result.findings(),
        "not_checked": result.not_checked(),
        "notes": result.notes,
    }


def _count(clusters: pl.DataFrame, side: str, kind: str | None = None) -> int:
    mine = clusters.filter(pl.col("side") == side)
    return mine.height if kind is None else int((mine["kind"] == kind).sum())


def write_report(result: ScanResult, path: str | os.PathLike[str]) -> None:
    data = orjson.dumps(build_report(result), option=orjson.OPT_INDENT_2)
    write_bytes_atomic(path, data + b"\n")

"""Outliers: planted rows unlike the rest are found with their reason; the rest are not."""

from __future__ import annotations

import json

from sfttui.cli import demo_path
from sfttui.engine.analyses.outliers import find_outliers
from sfttui.engine.io.load import load

PLANTED = {
    "cyrillic": "Здравствуйте, мой заказ так и не пришёл, хотя прошло уже две недели с момента оплаты.",
    "spanish": "Hola, quiero devolver el altavoz porque llegó roto y la caja estaba abierta "
    "cuando lo recibí ayer.",
    "long": " ".join(["my order arrived late and the hub does not connect to the network"] * 40),
    "symbols": "!!!!!!!!! ??????? ########## $$$$$$ %%%%%%%% &&&&&&",
    "code": "def refund(order):\n    return order.total * 0.5;",
    "one": "refund",
}
EXPECTED = {
    "cyrillic": "script",
    "spanish": "vocabulary",
    "long": "length",
    "symbols": "symbols",
    "code": "code",
    "one": "few-words",
}


def _demo_prompts(n: int) -> list[str]:
    out = []
    for line in demo_path().read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            out.append(record["messages"][1]["content"])
        except (ValueError, KeyError, IndexError, TypeError):
            continue
        if len(out) == n:
            break
    return out


def test_each_planted_row_is_found_with_its_reason_and_the_rest_are_not(write_jsonl):
    rows = [{"id": f"d{i}", "text": t} for i, t in enumerate(_demo_prompts(400))]
    rows += [{"id": name, "text": text} for name, text in PLANTED.items()]
    result = find_outliers(load([str(write_jsonl("o.jsonl", rows))]))
    by_key = {}
    for r in result.rows.iter_rows(named=True):
        by_key.setdefault(r["key"], set()).add(r["reason"])
    for name, reason in EXPECTED.items():
        assert reason in by_key.get(name, set()), (name, by_key.get(name))
    assert "Cyrillic in a Latin dataset" in result.rows.filter(key="cyrillic")["detail"].to_list()
    # The demo's own prompts (greetings, requests, 12-60 words) stand apart by none of these.
    flagged_demo = [k for k in by_key if k.startswith("d")]
    assert len(flagged_demo) <= 4, flagged_demo
    assert result.rows["score"].is_sorted(descending=True)


def test_a_dataset_in_another_script_keeps_its_own_rows(write_jsonl):
    rows = [{"text": f"{PLANTED['cyrillic']} Номер заказа {i}."} for i in range(100)]
    rows.append({"text": "Hello, my order never arrived and it has been two weeks since I paid for it."})
    result = find_outliers(load([str(write_jsonl("r.jsonl", rows))]))
    scripts = result.rows.filter(reason="script")
    assert scripts["key"].to_list() == ["r.jsonl:101"]
    assert scripts["detail"].to_list() == ["Latin in a Cyrillic dataset"]


def test_too_few_rows_are_not_checked(write_jsonl):
    result = find_outliers(load([str(write_jsonl("f.jsonl", [{"text": "a b c"}] * 10))]))
    assert not result.ran and result.reason == "fewer than 50 rows"

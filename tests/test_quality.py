"""Row quality: conversation structure, template replies and text artifacts, on concrete rows."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from sfttui.cli import main
from sfttui.engine.analyses.quality import find_quality
from sfttui.engine.io.formats import SYSTEM_ONLY
from sfttui.engine.io.load import load
from sfttui.engine.settings import QualitySettings

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SYSTEM = {"role": "system", "content": "You are a helpful assistant."}


def _chat(*turns: tuple[str, str | None], **extra: object) -> dict:
    return {"messages": [{"role": r, "content": c} for r, c in turns], **extra}


def test_each_structure_problem_is_found_on_its_row_and_the_row_stays(write_jsonl):
    path = write_jsonl(
        "chats.jsonl",
        [
            _chat(("system", "be brief"), ("user", "what is two plus two"), ("assistant", "four")),
            _chat(("system", "be brief")),
            _chat(("user", "what is two plus three"), ("assistant", "   ")),
            _chat(("user", "what is the capital of france")),
            _chat(("assistant", "hello there"), ("user", "tell me a joke"), ("assistant", "no")),
            _chat(("usr", "what is love"), ("wizard", "baby do not hurt me")),
            _chat(("user", "first"), ("user", "second"), ("assistant", "both")),
            # Parallel tool calls answered by two tool turns in a row: well formed.
            {
                "messages": [
                    {"role": "user", "content": "weather in paris and rome"},
                    {"role": "assistant", "content": None, "tool_calls": [{"id": "a"}, {"id": "b"}]},
                    {"role": "tool", "content": "sunny"},
                    {"role": "tool", "content": "rainy"},
                    {"role": "assistant", "content": "paris is sunny, rome is rainy"},
                ]
            },
            # ShareGPT roles, the wrong way round.
            {"conversations": [{"from": "gpt", "value": "hi"}, {"from": "human", "value": "hello there"}]},
        ],
    )
    ds = load([str(path)])
    q = find_quality(ds)
    assert ds.bad_lines.select("line", "reason").rows() == [(2, SYSTEM_ONLY)]
    listed = {row["key"]: row["problems"] for row in q.structure.iter_rows(named=True)}
    assert listed == {
        "chats.jsonl:3": ["empty-reply"],
        "chats.jsonl:4": ["ends-on-user"],
        "chats.jsonl:5": ["starts-with-assistant"],
        "chats.jsonl:6": ["unknown-role"],
        "chats.jsonl:7": ["repeated-role"],
        "chats.jsonl:9": ["ends-on-user", "starts-with-assistant"],
    }
    assert q.conversations == 8 and q.structure_ran
    assert q.structure_counts() == {
        "ends-on-user": 2,
        "starts-with-assistant": 2,
        "repeated-role": 1,
        "unknown-role": 1,
        "empty-reply": 1,
    }


def test_null_content_is_empty_unless_the_turn_calls_tools(write_jsonl):
    # A null user turn passed as well formed (with an empty prompt), and a null reply
    # without tool calls was no finding; as "" they are set aside and flagged.
    path = write_jsonl(
        "nulls.jsonl",
        [
            _chat(("user", None), ("assistant", "an answer to nothing")),
            _chat(("user", "what is two plus two"), ("assistant", None)),
            _chat(("user", "what is two plus three"), ("assistant", "five")),
        ],
    )
    ds = load([str(path)])
    assert ds.bad_lines.select("line", "reason").rows() == [(1, "messages[0].content is null")]
    q = find_quality(ds)
    assert {r["key"]: r["problems"] for r in q.structure.iter_rows(named=True)} == {
        "nulls.jsonl:2": ["empty-reply"]
    }


def test_a_text_field_holding_turns_is_checked_like_a_chat(write_jsonl):
    path = write_jsonl("t.jsonl", [{"dialog": [{"role": "user", "content": "anyone there"}]}])
    from sfttui.engine.settings import LoadSettings

    q = find_quality(load([str(path)], LoadSettings(text_field="dialog")))
    assert q.structure["problems"].to_list() == [["ends-on-user"]]


def test_plain_texts_have_no_structure_to_check(write_jsonl):
    path = write_jsonl("t.jsonl", [{"text": "a tweet", "label": "x"}, {"text": "another", "label": "y"}])
    q = find_quality(load([str(path)]))
    assert not q.structure_ran and not q.templates_ran
    assert q.structure_reason == "no conversations: every row is a single text"


def test_a_reply_given_to_many_requests_is_a_template_with_its_count_and_rows(write_jsonl):
    canned = "Thanks, your case has been forwarded."
    rows = [_chat(("user", f"request number {i}"), ("assistant", canned)) for i in range(5)]
    # The same reply re-typed: still the one template.
    rows.append(
        _chat(("user", "request number 5"), ("assistant", "  thanks, YOUR case has been forwarded. "))
    )
    # Listed as first given: capitalised here, lower-case after.
    rows += [_chat(("user", "other 0"), ("assistant", "A reply given four times"))]
    rows += [_chat(("user", f"other {i}"), ("assistant", "a reply given four times")) for i in range(1, 4)]
    rows += [_chat(("user", f"unique {i}"), ("assistant", f"answer {i}")) for i in range(10)]
    q = find_quality(load([str(write_jsonl("t.jsonl", rows))]), QualitySettings(template_min=5))
    assert q.replies == 20
    assert q.templates.select("reply", "count", "share").rows() == [(canned, 6, 0.3)]
    assert q.templates["rows"].to_list() == [[0, 1, 2, 3, 4, 5]]
    lower = find_quality(load([str(write_jsonl("t.jsonl", rows))]), QualitySettings(template_min=4))
    assert lower.templates["count"].to_list() == [6, 4]
    assert lower.templates["reply"].to_list() == [canned, "A reply given four times"]
    assert lower.templates["rows"].to_list()[1] == [6, 7, 8, 9]


def test_templates_match_a_brute_force_count_on_real_data():
    path = DATA / "new_codealpaca.jsonl"
    if not path.exists():
        pytest.skip("shared data not present")
    ds = load([str(path)])
    q = find_quality(ds, QualitySettings(template_min=3))
    # Independently: every record's output, stripped and lower-cased, counted in Python.
    outputs = [json.loads(line)["output"].strip().lower() for line in path.read_text().splitlines() if line]
    expected = sorted(n for n in Counter(o for o in outputs if o).values() if n >= 3)
    assert sorted(q.templates["count"].to_list()) == expected
    assert q.templates["count"].to_list()[0] == 10


@pytest.mark.parametrize(
    ("reply", "kind", "evidence"),
    [
        ("Dear {customer_name}, thanks.", "placeholder", "{customer_name}"),
        ("Today is {{todays_date}}.", "placeholder", "{{todays_date}}"),
        ("Best regards, [Your Name]", "placeholder", "[Your Name]"),
        ("Call <PHONE NUMBER> today", "placeholder", "<PHONE NUMBER>"),
        ("First line<br>second line", "html", "<br>"),
        ("Salt &amp; pepper", "html", "&amp;"),
        ("I donâ€™t know", "mojibake", "â€"),
        ("a cafÃ© nearby", "mojibake", "Ã©"),
        ("broken \ufffd character", "mojibake", "\ufffd"),
    ],
)
def test_each_artifact_is_found_with_its_evidence(write_jsonl, reply, kind, evidence):
    rows = [_chat(("user", "write a short note for me please"), ("assistant", reply))]
    q = find_quality(load([str(write_jsonl("a.jsonl", rows))]))
    assert q.artifacts.select("key", "kind", "evidence").rows() == [("a.jsonl:1", kind, evidence)]


@pytest.mark.parametrize(
    "reply",
    [
        'def serve(port):\n    print(f"listening on {port}")',
        '#!/bin/bash\nfor f in "${dir}"/*; do echo "$f"; done',
        "<table>\n  <tr><td>1</td></tr>\n</table>",
        "\\begin{tabular}{ll} a & b \\end{tabular}",
        "Use a set: {1, 2, 3} has three members.",
        "Café, naïve, Ærøskøbing and 東京 are spelt right.",
    ],
)
def test_code_markup_and_correct_text_are_not_artifacts(write_jsonl, reply):
    rows = [_chat(("user", "show me an example"), ("assistant", reply))]
    q = find_quality(load([str(write_jsonl("c.jsonl", rows))]))
    assert q.artifacts.height == 0, q.artifacts.rows()


def test_scan_reports_quality_and_gates_on_it(tmp_path, write_jsonl):
    rows = [_chat(("user", f"question {i} about my order"), ("assistant", f"answer {i}")) for i in range(6)]
    rows.append(_chat(("user", "is anyone there")))
    rows.append(_chat(("user", "hello"), ("assistant", "Hi [Your Name], &amp; welcome")))
    data = write_jsonl("d.jsonl", rows)
    out = tmp_path / "r.json"
    runner = CliRunner()
    result = runner.invoke(main, ["scan", str(data), "--json", str(out), "--fail-on", "structure"])
    assert result.exit_code == 1, result.output
    assert "failing: structure" in result.output
    report = json.loads(out.read_text())
    assert report["findings"]["structure"] == 1 and report["findings"]["artifacts"] == 1
    assert report["quality"]["structure"]["listed"] == [{"key": "d.jsonl:7", "problems": ["ends-on-user"]}]
    assert report["quality"]["artifacts"]["listed"] == [
        {"key": "d.jsonl:8", "kind": "placeholder", "evidence": "[Your Name]"},
        {"key": "d.jsonl:8", "kind": "html", "evidence": "&amp;"},
    ]
    assert runner.invoke(main, ["scan", str(data), "--fail-on", "templates"]).exit_code == 0


def test_a_gate_on_structure_fails_when_there_is_no_conversation(write_jsonl):
    data = write_jsonl("t.jsonl", [{"text": "one", "label": "a"}, {"text": "two", "label": "b"}])
    result = CliRunner().invoke(main, ["scan", str(data), "--fail-on", "structure"])
    assert result.exit_code == 1
    assert "not checked" in result.output


def test_one_conversation_and_one_reply_are_said_in_the_singular(write_jsonl):
    # "every one of 1 conversations well formed", "1 replies, fewer than the 5 ...".
    from sfttui.engine.analyses.quality import find_quality
    from sfttui.engine.io.load import load
    from sfttui.engine.settings import QualitySettings

    turns = [
        {"role": "user", "content": "where is my parcel"},
        {"role": "assistant", "content": "on its way"},
    ]
    quality = find_quality(load([write_jsonl("one.jsonl", [{"messages": turns}])]), QualitySettings())
    assert quality.structure_detail() == "the one conversation well formed"
    assert quality.templates_reason == "1 reply, fewer than the 5 a template is given to"

from __future__ import annotations

import gzip
import json

import polars as pl
import pytest
import zstandard

from sfttui.engine.errors import InputError
from sfttui.engine.io.load import BOM, PROMPT_CHARS, PROMPT_SIDE, load, split_from_name, split_lines
from sfttui.engine.settings import LoadSettings


def test_each_format_is_detected_and_its_text_extracted(write_jsonl):
    files = {
        "chat": write_jsonl(
            "chat.jsonl",
            [
                {
                    "messages": [
                        {"role": "system", "content": "be nice"},
                        {"role": "user", "content": "hello there"},
                        {"role": "assistant", "content": "hi!"},
                    ]
                }
            ],
        ),
        "sharegpt": write_jsonl(
            "sg.jsonl",
            [
                {
                    "conversations": [
                        {"from": "human", "value": "what is 2+2"},
                        {"from": "gpt", "value": "4"},
                    ]
                }
            ],
        ),
        "alpaca": write_jsonl("alp.jsonl", [{"instruction": "add", "input": "2 and 2", "output": "4"}]),
        "prompt_completion": write_jsonl("pc.jsonl", [{"prompt": "say hi", "completion": "hi"}]),
        "text": write_jsonl("txt.jsonl", [{"text": "great movie", "label": "pos"}]),
    }
    ds = load(list(files.values()))
    assert [i.format for i in ds.inputs] == list(files)
    got = ds.rows.select("file", "text", PROMPT_SIDE).rows()
    assert got == [
        ("chat.jsonl", "hello there\nhi!", "hello there"),  # system turn left out of matching
        ("sg.jsonl", "what is 2+2\n4", "what is 2+2"),
        ("alp.jsonl", "add\n2 and 2\n4", "add\n2 and 2"),
        ("pc.jsonl", "say hi\nhi", "say hi"),
        ("txt.jsonl", "great movie", "great movie"),
    ]
    assert ds.rows["label"].to_list() == [None, None, None, None, "pos"]
    # Each of these prompts can be read off its text, so none is stored twice.
    assert ds.rows["prompt"].null_count() == ds.rows.height


def test_chat_turns_are_read_by_their_shape_under_any_common_key(write_jsonl):
    # A Hugging Face {"conversations": [{"role", "content"}]} file was taken for ShareGPT and
    # every line rejected; "conversation", and --text-field naming a list of turns, could
    # not be read at all.
    role_content = [{"role": "user", "content": "where is it"}, {"role": "assistant", "content": "here"}]
    from_value = [{"from": "human", "value": "where is it"}, {"from": "gpt", "value": "here"}]
    files = {
        "chat": write_jsonl("hf.jsonl", [{"conversations": role_content}]),
        "sharegpt": write_jsonl("conv.jsonl", [{"conversation": from_value}]),
    }
    ds = load(list(files.values()))
    assert [i.format for i in ds.inputs] == list(files)
    assert ds.bad_lines.height == 0
    assert ds.rows.select("text", PROMPT_SIDE).rows() == [("where is it\nhere", "where is it")] * 2
    custom = load(
        [write_jsonl("f.jsonl", [{"dialog": from_value, "label": "x"}])], LoadSettings(text_field="dialog")
    )
    assert custom.rows.select("text", PROMPT_SIDE).rows() == [("where is it\nhere", "where is it")]
    bad = load(
        [write_jsonl("b.jsonl", [{"dialog": [{"role": "user"}]}, {"dialog": from_value}])],
        LoadSettings(text_field="dialog"),
    )
    assert bad.bad_lines["reason"].to_list() == ["dialog[0] has no 'content'"]
    # A list of strings (paragraphs) is one text, a line each: it was read as turns and
    # every record refused ("body[0] is a string, expected an object").
    paragraphs = load(
        [
            write_jsonl(
                "p.jsonl", [{"body": ["first paragraph", "second one"]}, {"body": []}, {"body": ["x", 3]}]
            )
        ],
        LoadSettings(text_field="body"),
    )
    assert paragraphs.rows.select("text", PROMPT_SIDE).rows() == [("first paragraph\nsecond one",) * 2]
    assert paragraphs.bad_lines.select("line", "reason").rows() == [
        (2, "field 'body' is an empty list"),
        (3, "body[1] is an integer, expected a string as body[0] is"),
    ]


def test_a_prompt_that_is_not_the_text_before_the_reply_is_stored(write_jsonl):
    turns = [("user", "first question"), ("assistant", "first answer"), ("user", "and then?")]
    path = write_jsonl(
        "multi.jsonl",
        [
            {"messages": [{"role": r, "content": c} for r, c in turns]},
            {"messages": [{"role": r, "content": c} for r, c in [*turns, ("assistant", "then this")]]},
        ],
    )
    rows = load([path]).rows
    assert rows["prompt"].to_list() == ["first question\nand then?"] * 2
    assert rows.select(PROMPT_SIDE).to_series().to_list() == ["first question\nand then?"] * 2
    assert rows["reply"].to_list() == [0, len("then this")]


def test_prompt_of_one_row_matches_the_prompt_side_of_every_row(write_jsonl):
    def chat(*turns: tuple[str, str]) -> dict:
        return {"messages": [{"role": r, "content": c} for r, c in turns]}

    path = write_jsonl(
        "mixed.jsonl",
        [
            chat(("system", "be kind"), ("user", "héllo wörld"), ("assistant", "hi ✓")),
            chat(("assistant", "a reply alone")),  # no prompt at all
            chat(("user", "q1"), ("assistant", "a1"), ("user", "q2")),
            {"text": "plain text row"},
            chat(("user", "ask"), ("assistant", "answer"), ("user", "again"), ("assistant", "more")),
        ],
    )
    ds = load([path])
    expected = ds.rows.select(PROMPT_SIDE).to_series().to_list()
    assert [ds.prompt_of(i) for i in range(ds.rows.height)] == expected
    assert expected[:3] == ["héllo wörld", "", "q1\nq2"]
    assert ds.rows.select(PROMPT_CHARS).to_series().to_list() == [len(p) for p in expected]


def test_prompt_chars_is_the_prompt_sides_length_where_the_arithmetic_wraps():
    # A reply as long as the text, or longer, wraps the unsigned slice length: the
    # prompt side is then the whole text, and so is its length.
    rows = pl.DataFrame(
        {
            "prompt": [None, None, None, None, "stored", None, None, None],
            "text": ["ask\nreply", "whole", "", "ab", "zz", "héllo\nwörld", "abc", None],
            "reply": [5, 0, 0, 2, 2, 5, 3, 0],
        },
        schema={"prompt": pl.String, "text": pl.String, "reply": pl.UInt32},
    )
    got = rows.select(PROMPT_CHARS).to_series().to_list()
    assert got == rows.select(PROMPT_SIDE.str.len_chars()).to_series().to_list()
    assert got == [3, 5, 0, 2, 6, 5, 3, None]


def test_every_bad_line_kind_is_reported_with_its_line_number(write_jsonl):
    big = "x " * 600
    path = write_jsonl(
        "bad.jsonl",
        [
            {"text": "fine row", "label": "a"},  # 1
            '{"text": "broken',  # 2 invalid JSON
            "",  # 3 blank
            {"text": "   ", "label": "a"},  # 4 empty text
            {"text": "no label here"},  # 5 missing label
            {"text": "float label", "label": 1.5},  # 6 non-string label
            {"text": ["a", "list"], "label": "a"},  # 7 wrong type
            "[1, 2]",  # 8 not an object
            {"text": big, "label": "a"},  # 9 oversized
            {"text": "also fine", "label": "b"},  # 10
            "1, 2",  # 11 two values on one line
        ],
    )
    ds = load([path], LoadSettings(max_row_bytes=1000))
    bad = {(r["line"], r["reason"]) for r in ds.bad_lines.to_dicts()}
    reasons = dict(bad)
    assert set(reasons) == {2, 3, 4, 5, 6, 7, 8, 9, 11}
    assert reasons[2].startswith("invalid JSON")
    assert reasons[3] == "blank line"
    assert reasons[4] == "field 'text' is empty"
    assert reasons[5] == "missing label 'label'"
    assert reasons[6] == "label is the number 1.5, expected a class name or a whole number"
    assert reasons[7] == "field 'text' is a list, expected a string"
    assert reasons[8] == "not a JSON object (got a list)"
    assert reasons[9].startswith("row is 1,2") and "over the 1,000 limit" in reasons[9]
    assert reasons[11].startswith("invalid JSON")
    assert ds.rows["line"].to_list() == [1, 10]
    assert ds.inputs[0].rows == 2 and ds.inputs[0].bad == 9
    assert ds.bad_lines["excluded"].all()
    # Each set-aside line keeps its bytes, so export can account for every input line.
    raws = dict(zip(ds.bad_lines["line"], ds.bad_lines["raw"]))
    assert raws[2] == b'{"text": "broken' and raws[3] == b""


def test_bom_is_reported_and_the_row_kept(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"text": "first"}\n{"text": "second"}\n')
    ds = load([path])
    assert ds.rows["text"].to_list() == ["first", "second"]
    assert ds.bad_lines.drop("raw").to_dicts() == [
        {
            "file": "bom.jsonl",
            "line": 1,
            "reason": "UTF-8 byte order mark at start of file (removed; row kept)",
            "excluded": False,
        }
    ]


def test_mixed_integer_and_string_labels_flag_the_minority(write_jsonl):
    path = write_jsonl(
        "mixed.jsonl",
        [{"text": f"t{i}", "label": "pos"} for i in range(3)] + [{"text": "t9", "label": 1}],
    )
    ds = load([path])
    assert ds.bad_lines.select("line", "reason").rows() == [
        (4, "label is an integer while the file's other labels are strings")
    ]
    ints = write_jsonl("ints.jsonl", [{"text": "a", "label": 0}, {"text": "b", "label": 1}])
    assert load([ints]).rows["label"].to_list() == ["0", "1"]


def test_raw_lines_are_kept_byte_for_byte(tmp_path):
    raw = [
        b'{"text":  "spaced   out", "label": "a", "extra": [1, 2]}',
        b'{"text": "caf\\u00e9", "label": "b"}\r',
    ]
    path = tmp_path / "raw.jsonl"
    path.write_bytes(b"\n".join(raw))  # no final newline
    ds = load([path])
    # Rows point at their lines instead of holding a second copy of the file.
    assert ds.rows["raw"].to_list() == [None, None]
    assert ds.rows["offset"].to_list() == [0, len(raw[0]) + 1]
    assert ds.rows["length"].to_list() == [len(raw[0]), len(raw[1])]
    assert ds.raw_lines([1, 0]) == [raw[1], raw[0]]
    assert ds.find("raw.jsonl:2") == ("café", raw[1])
    assert ds.rows["text"].to_list() == ["spaced   out", "café"]


def test_a_line_changed_after_loading_is_not_read_back(tmp_path):
    path = tmp_path / "bom.jsonl"
    lines = [b'{"text": "one two", "label": "a"}', b'{"text": "three four", "label": "b"}']
    path.write_bytes(BOM + b"\n".join(lines) + b"\n")
    ds = load([path])
    assert ds.rows["offset"].to_list() == [3, 3 + len(lines[0]) + 1]  # after the byte order mark
    assert ds.raw_lines([0, 1]) == lines
    path.write_bytes(BOM + lines[0].replace(b"one", b"ONE") + b"\n" + lines[1] + b"\n")
    assert ds.raw_lines([0, 1]) == [None, lines[1]]  # same length, other bytes: caught by the hash
    assert "has changed since it was loaded" in ds.sources["bom.jsonl"].changed()
    path.write_bytes(BOM + lines[0] + b"\n")  # shorter: the second line is gone
    # Each line is read and checked by its own hash: the first is intact, the second gone.
    assert ds.raw_lines([0, 1]) == [lines[0], None]
    assert ds.find("bom.jsonl:1") == ("one two", lines[0])
    path.unlink()
    assert ds.raw_lines([0]) == [None]
    assert ds.find("bom.jsonl:1") == ("one two", None)  # the app falls back to the text


def test_compressed_rows_keep_their_record(tmp_path):
    line = b'{"text": "one two", "label": "a"}'
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(line + b"\n"))
    ds = load([tmp_path / "a.jsonl.gz"])
    assert ds.rows["offset"].to_list() == [None]
    assert ds.rows["raw"].to_list() == [line]
    assert ds.raw_lines([0]) == [line]


def test_compressed_csv_parquet_and_json_array_inputs(tmp_path):
    rows = [{"text": "one two", "label": "a"}, {"text": "three four", "label": "b"}]
    payload = "".join(json.dumps(r) + "\n" for r in rows).encode()
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(payload))
    (tmp_path / "b.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(payload))
    (tmp_path / "c.json").write_text(json.dumps(rows))
    (tmp_path / "d.csv").write_text("text,label\none two,a\n,b\n")
    pl.DataFrame(rows).write_parquet(tmp_path / "e.parquet")
    names = ["a.jsonl.gz", "b.jsonl.zst", "c.json", "d.csv", "e.parquet"]
    ds = load([tmp_path / n for n in names])
    assert [(i.container, i.compression) for i in ds.inputs] == [
        ("jsonl", "gzip"),
        ("jsonl", "zstd"),
        ("json", None),
        ("csv", None),
        ("parquet", None),
    ]
    assert ds.rows.group_by("file", maintain_order=True).len().rows() == [
        ("a.jsonl.gz", 2),
        ("b.jsonl.zst", 2),
        ("c.json", 2),
        ("d.csv", 1),
        ("e.parquet", 2),
    ]
    # CSV line numbers count the header: the empty text is on line 3.
    assert ds.bad_lines.select("file", "line", "reason").rows() == [("d.csv", 3, "field 'text' is empty")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"\x00\x01binary junk", "unknown file type"),
        (b'{"foo": 1}\n{"bar": 2}\n', "cannot tell the format"),
        (b"not json at all\n", None),
    ],
)
def test_unreadable_inputs_raise_one_clear_error(tmp_path, content, message):
    path = tmp_path / ("x.jsonl" if content and content.startswith((b"{", b"n")) else "x.dat")
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as err:
        load([path])
    assert str(path) in str(err.value)
    if message:
        assert message in str(err.value)


def test_corrupt_gzip_is_an_input_error(tmp_path):
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(InputError, match="compressed data is corrupt"):
        load([path])


def test_a_gz_name_on_plain_text_is_an_input_error(tmp_path):
    path = tmp_path / "x.jsonl.gz"
    path.write_text('{"text": "not compressed at all"}\n')
    with pytest.raises(InputError, match=r"named \.gz but not compressed that way"):
        load([path])


def test_overrides_and_nested_fields(write_jsonl):
    path = write_jsonl(
        "n.jsonl",
        [
            {"body": {"t": "hello world"}, "meta": {"user": "u1", "y": "spam", "uid": 7}},
            {"body": {"t": "bye world"}, "meta": {"user": "u2", "y": "ham", "uid": 8}},
        ],
    )
    ds = load(
        [path],
        LoadSettings(
            text_field="body.t", label_field="meta.y", id_field="meta.uid", group_fields=("meta.user",)
        ),
    )
    assert ds.rows.select("key", "text", "label", "groups").rows() == [
        ("7", "hello world", "spam", ["meta.user=u1"]),
        ("8", "bye world", "ham", ["meta.user=u2"]),
    ]
    assert ds.key_source == "id field 'meta.uid'"


def test_a_dotted_name_reads_a_key_holding_the_dots_as_flattened_tables_name_columns(tmp_path, write_jsonl):
    # A CSV export or a flattened Hugging Face dataset names its columns "meta.text":
    # --text-field meta.text found no record ("missing field 'meta.text'") and no label.
    path = tmp_path / "flat.csv"
    path.write_text("meta.text,meta.label,user.id\nhow do I reset it,x,u1\nwhere is my parcel,y,u2\n")
    settings = LoadSettings(text_field="meta.text", label_field="meta.label", group_fields=("user.id",))
    ds = load([path], settings)
    assert ds.rows.select("text", "label", "groups").rows() == [
        ("how do I reset it", "x", ["user.id=u1"]),
        ("where is my parcel", "y", ["user.id=u2"]),
    ]
    # A record holding both reads its own key; one holding the nested path alone, that.
    both = write_jsonl(
        "both.jsonl",
        [
            {"meta.text": "the flat one", "meta": {"text": "the nested one"}},
            {"meta": {"text": "only nested here"}},
        ],
    )
    assert load([both], LoadSettings(text_field="meta.text")).rows["text"].to_list() == [
        "the flat one",
        "only nested here",
    ]
    # Its repeats are looked for as any read key's are.
    repeated = tmp_path / "rep.jsonl"
    repeated.write_text('{"meta.text": "one", "meta.text": "two"}\n{"meta.text": "fine"}\n')
    ds = load([repeated], LoadSettings(text_field="meta.text"))
    assert ds.rows["text"].to_list() == ["fine"]
    assert ds.bad_lines["reason"].to_list() == [
        "duplicate key 'meta.text' with different values ('one', then 'two')"
    ]


def test_a_missing_group_value_is_left_out_of_the_row_groups(write_jsonl):
    rows = [
        {"text": "a", "user": "u1", "doc": "d1"},
        {"text": "b", "doc": "d2"},
        {"text": "c", "user": None},
        {"text": "d", "user": "u1", "doc": 7},
    ]
    both = load([write_jsonl("g.jsonl", rows)], LoadSettings(group_fields=("user", "doc")))
    assert both.rows["groups"].to_list() == [["user=u1", "doc=d1"], ["doc=d2"], [], ["user=u1", "doc=7"]]
    assert "1 row has no value for user, doc; each is its own group" in both.notes
    full = load([write_jsonl("h.jsonl", [rows[0], rows[3]])], LoadSettings(group_fields=("user",)))
    assert full.rows["groups"].to_list() == [["user=u1"], ["user=u1"]]


def test_a_list_of_group_values_is_each_of_them(write_jsonl):
    # ["u1"] was the group '["u1"]', not u1's, and ["u1", "u2"] a third group of its own.
    rows = [
        {"text": "a", "user": "u1"},
        {"text": "b", "user": ["u1"]},
        {"text": "c", "user": ["u1", "u2"]},
        {"text": "d", "user": []},
        {"text": "e", "user": [3, None, " ", {"k": 1}]},
        {"text": "f", "doc": "d1"},
    ]
    ds = load([write_jsonl("g.jsonl", rows)], LoadSettings(group_fields=("user", "doc")))
    assert ds.rows["groups"].to_list() == [
        ["user=u1"],
        ["user=u1"],
        ["user=u1", "user=u2"],
        [],
        ["user=3", 'user={"k":1}'],
        ["doc=d1"],
    ]


def test_keys_fall_back_to_file_line_when_ids_repeat(write_jsonl):
    path = write_jsonl("ids.jsonl", [{"id": 1, "text": "a"}, {"id": 1, "text": "b"}, {"id": 2, "text": "c"}])
    ds = load([path])
    assert ds.rows["key"].to_list() == ["ids.jsonl:1", "ids.jsonl:2", "ids.jsonl:3"]
    assert "(0 rows without it, 1 repeated value)" in ds.notes[0]


def test_splits_come_from_the_split_field_or_the_file_name(write_jsonl):
    a = write_jsonl("train.jsonl", [{"text": "a"}])
    b = write_jsonl("dev.jsonl", [{"text": "b"}])
    c = write_jsonl("all.jsonl", [{"text": "c", "split": "valid"}, {"text": "d", "split": "test"}])
    ds = load([a, b, c])
    assert ds.rows["split"].to_list() == ["train", "validation", "validation", "test"]
    assert split_from_name("alpaca_eval_gpt4.jsonl") is None
    assert split_from_name("data/test.jsonl.gz") == "test"


def test_a_split_field_is_found_in_any_of_the_first_records(write_jsonl):
    # Only the first 200 records were asked: a field from record 300 on was ignored.
    rows = [{"text": f"row {i}"} for i in range(300)] + [
        {"text": f"row {i}", "split": "test"} for i in range(5)
    ]
    ds = load([write_jsonl("late.jsonl", rows)])
    assert ds.rows["split"].to_list() == [None] * 300 + ["test"] * 5


def test_a_blank_split_names_no_split_and_a_repeated_csv_column_is_refused(tmp_path, write_jsonl):
    # A blank CSV cell became a split named '' (refused at export as an unknown split);
    # a header naming "label" twice let the last column win, silently.
    blank_csv = tmp_path / "blank.csv"
    blank_csv.write_text("text,label,split\nhello there,a,train\nbye now,b,\nmore text,a, \n")
    blank_json = write_jsonl("blank.jsonl", [{"text": "x", "split": "test"}, {"text": "y", "split": " "}])
    assert load([blank_csv]).rows["split"].to_list() == ["train", None, None]
    assert load([blank_json]).rows["split"].to_list() == ["test", None]
    dup = tmp_path / "dup.csv"
    dup.write_text("text,label,label\nhello there,a,z\n")
    with pytest.raises(InputError, match=r"header names column 'label' twice \(columns 2 and 3\)"):
        load([dup])


def test_whole_number_float_labels_are_read_as_pandas_writes_them(tmp_path):
    # An integer class column with a gap comes out of pandas as floats (1.0, NaN); every
    # row was set aside ("label is float") and the file refused as unreadable.
    path = tmp_path / "f.parquet"
    labels = [1.0, 0.0, 2.0, float("nan"), 0.5]
    pl.DataFrame({"text": [f"row number {i} of the data" for i in range(5)], "label": labels}).write_parquet(
        path
    )
    ds = load([path])
    assert ds.rows["label"].to_list() == ["1", "0", "2"]
    assert ds.bad_lines.select("line", "reason").rows() == [
        (4, "label is NaN (a missing value)"),
        (5, "label is the number 0.5, expected a class name or a whole number"),
    ]


def test_same_base_name_in_two_folders_keeps_keys_unique(tmp_path):
    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "train.jsonl").write_text('{"text": "same"}\n')
    ds = load([tmp_path / "x" / "train.jsonl", tmp_path / "y" / "train.jsonl"])
    assert ds.rows["key"].n_unique() == 2
    assert ds.rows["key"].to_list()[0].endswith("x/train.jsonl:1")


def _hf_dataset(folder, rows) -> None:
    """A Dataset folder as Hugging Face's save_to_disk writes it: an Arrow stream shard and
    its state.json (built here, without the datasets library)."""
    folder.mkdir(parents=True)
    pl.DataFrame(rows).write_ipc_stream(folder / "data-00000-of-00001.arrow")
    (folder / "state.json").write_text(
        json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]})
    )
    (folder / "dataset_info.json").write_text("{}")


def _chat_row(i: int) -> dict:
    turns = [
        {"role": "user", "content": f"question {i} here"},
        {"role": "assistant", "content": f"answer {i}"},
    ]
    return {"messages": turns, "label": "ab"[i % 2]}


def test_a_hugging_face_dataset_dict_folder_is_read_with_its_splits(tmp_path):
    ds_dir = tmp_path / "ds"
    _hf_dataset(ds_dir / "train", [_chat_row(i) for i in range(8)])
    _hf_dataset(ds_dir / "validation", [_chat_row(i) for i in range(8, 10)])
    _hf_dataset(ds_dir / "test", [_chat_row(i) for i in range(10, 13)])
    (ds_dir / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "validation", "test"]}))
    ds = load([ds_dir])
    assert [(i.container, i.format, i.rows) for i in ds.inputs] == [
        ("arrow", "chat", 8),
        ("arrow", "chat", 2),
        ("arrow", "chat", 3),
    ]
    assert ds.rows["split"].to_list() == ["train"] * 8 + ["validation"] * 2 + ["test"] * 3
    assert ds.rows["text"][9] == "question 9 here\nanswer 9" and ds.rows["label"][9] == "b"
    # One split's folder alone, or its shard: the folder's name still says the split.
    assert load([ds_dir / "test"]).rows["split"].to_list() == ["test"] * 3
    assert load([ds_dir / "train" / "data-00000-of-00001.arrow"]).rows["split"].to_list() == ["train"] * 8


def test_split_names_of_a_dataset_dict_and_of_hub_shards_are_kept(tmp_path):
    # train_sft / test_sft folders gave every row no split and no note; the Hub's
    # converted shards (a hash after -of-N) named no split.
    ds_dir = tmp_path / "ultra"
    _hf_dataset(ds_dir / "train_sft", [_chat_row(i) for i in range(4)])
    _hf_dataset(ds_dir / "test_sft", [_chat_row(i) for i in range(4, 6)])
    (ds_dir / "dataset_dict.json").write_text(json.dumps({"splits": ["train_sft", "test_sft"]}))
    ds = load([ds_dir])
    assert ds.rows["split"].to_list() == ["train_sft"] * 4 + ["test_sft"] * 2
    assert any("'test_sft' (2 rows" in note for note in ds.notes)
    shard = tmp_path / "test-00000-of-00001-a09b74b3ef9c3b56.parquet"
    pl.DataFrame([{"text": "one row", "label": "a"}]).write_parquet(shard)
    assert load([shard]).rows["split"].to_list() == ["test"]


def test_a_dataset_folder_that_points_elsewhere_or_is_no_dataset_is_one_clear_error(tmp_path):
    folder = tmp_path / "evil"
    _hf_dataset(folder, [_chat_row(0)])
    (folder / "state.json").write_text(json.dumps({"_data_files": [{"filename": "../../etc/passwd"}]}))
    with pytest.raises(InputError, match=r"state\.json lists no data files in its folder"):
        load([folder])
    (tmp_path / "plain").mkdir()
    with pytest.raises(
        InputError, match="is a directory, expected a data file or a Hugging Face dataset folder"
    ):
        load([tmp_path / "plain"])


def test_rows_of_finds_a_few_keys_by_index_and_many_by_filter(write_jsonl, monkeypatch):

    rows = [{"id": f"k{i}", "text": f"row {i}", "label": "a"} for i in range(600)]
    ds = load([write_jsonl("d.jsonl", rows)])
    few = ["k5", "k599", "missing", "k5", "k0"]
    assert ds.rows_of(few) == {"k5": 5, "k599": 599, "k0": 0}
    many = [f"k{i}" for i in range(0, 600, 2)] + ["nope"]
    assert ds.rows_of(many) == {f"k{i}": i for i in range(0, 600, 2)}
    # Every key hashing alike: the index still tells the rows apart by their keys.
    monkeypatch.setattr(pl.Series, "hash", lambda self, seed=0: pl.Series([7] * len(self), dtype=pl.UInt64))
    ds._key_index = None
    assert ds.rows_of(["k3", "k404", "zz"]) == {"k3": 3, "k404": 404}


@pytest.mark.parametrize("tail", [b"", b"\n", b"last"])
def test_split_lines_joins_lines_cut_by_any_block_boundary(tail):
    """Lines cut by a block's end, a line over three blocks, empty lines and a last line
    without a newline all come out as the file's lines, whatever the cut points."""
    data = b"a\n\nbbbbbbbbbbbbbbbbbbbb\nc d\n" + b"e" * 30 + b"\n\n" + tail
    want = data.split(b"\n")
    if want[-1] == b"":
        want.pop()
    for size in (1, 2, 3, 7, 11, len(data)):
        blocks = [data[i : i + size] for i in range(0, len(data), size)]
        got = [line for lines in split_lines(blocks) for line in lines]
        assert got == want, size

"""Record formats: detect which one a file uses and pull out its text, prompt and fields.

Each extractor turns one parsed record (a dict) into an `Extracted` tuple: the text used
for matching (all turns except system prompts, which are often identical across every
row and would make everything look alike), the prompt side (what the model is asked,
used for leakage and representativeness), the length in characters of the response the
text ends with (0 when it ends with no response: classification text, or a chat whose
last turn is the user's), the number of prompt turns, the conversation's structure
problems (bits of SHAPE_PROBLEMS; 0 for a well-formed chat and every other format) and
its system prompts (None when it has none: they count towards its length in tokens). The
response is kept as a length, not a copy, because it is always the tail of the text.
A record that does not fit raises `BadRecord` with the reason the person will read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

from ..settings import FORMATS

_MISSING = object()
SYSTEM_ROLES = frozenset({"system", "developer"})
PROMPT_ROLES = frozenset({"user", "human", "prompter"})
ASSISTANT_ROLES = frozenset({"assistant", "gpt", "model", "bot"})
# Turns a tool or function call answers; several in a row are one call each, not a mistake.
TOOL_ROLES = frozenset({"tool", "function", "ipython", "observation"})
KNOWN_ROLES = SYSTEM_ROLES | PROMPT_ROLES | ASSISTANT_ROLES | TOOL_ROLES
# A chat row's structure problems, one bit each in the order named (bit 0 first): the row
# stays (it is data) and the structure check lists it. A conversation of system prompts
# alone has nothing to learn or match and is set aside as a bad line (SYSTEM_ONLY).
SHAPE_PROBLEMS = ("ends-on-user", "starts-with-assistant", "repeated-role", "unknown-role", "empty-reply")
SYSTEM_ONLY = "only a system prompt: no user or assistant turn"
# The role sequences nearly every row has, checked with one lookup.
_WELL_FORMED = frozenset(
    {
        (prompt, reply)
        for prompt, reply in (("user", "assistant"), ("human", "gpt"), ("prompter", "assistant"))
    }
    | {
        (system, prompt, reply)
        for system in SYSTEM_ROLES
        for prompt, reply in (("user", "assistant"), ("human", "gpt"))
    }
)

# (text, prompt, response length in characters at the end of text, prompt turns,
# structure problem bits, system prompts)
Extracted = tuple[str, str, int, int, int, str | None]


class BadRecord(Exception):
    """A record that cannot be analysed; the message is the reason shown to the person."""


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def get_path(record: dict, path: str, default: Any = _MISSING) -> Any:
    """Read a dotted path such as ``meta.user`` from nested dicts, or a key holding the dots
    as written: flattened tables (a CSV export, a Hugging Face dataset's `flatten()`) name
    their columns so, and a record that has both gets its own key."""
    if "." not in path or path in record:
        return record.get(path, default)
    value: Any = record
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return default
    return value


def _string(record: dict, key: str, *, optional: bool = False) -> str:
    value = record.get(key, _MISSING)
    if value is _MISSING or (optional and value is None):
        if optional:
            return ""
        raise BadRecord(f"missing field '{key}'")
    if not isinstance(value, str):
        raise BadRecord(f"field '{key}' is {type_name(value)}, expected a string")
    if not optional and not value.strip():
        raise BadRecord(f"field '{key}' is empty")
    return value


TEXT_PARTS = frozenset({"text", "input_text", "output_text"})


class _MediaParts(threading.local):
    """Image, audio and file content parts left out of texts, counted per thread: the
    loader reads the count around a file's extraction (a per-row count would cost every
    row a check; only rows with content lists reach `_parts`)."""

    seen = 0


MEDIA_PARTS = _MediaParts()


def _content(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if value is None:  # assistant turns that only call tools carry no content
        return ""
    if isinstance(value, list):
        return _parts(value, where)
    raise BadRecord(f"{where} is {type_name(value)}, expected a string")


def _parts(parts: list, where: str) -> str:
    """OpenAI-style content parts: the text parts joined; image, audio and file parts are
    left out of the text (the loader counts them), not a reason to set the row aside."""
    texts = []
    for i, part in enumerate(parts):
        if not isinstance(part, dict):
            raise BadRecord(f"{where}[{i}] is {type_name(part)}, expected a content part object")
        kind = part.get("type", "text")
        if not isinstance(kind, str):
            raise BadRecord(f"{where}[{i}].type is {type_name(kind)}, expected a string")
        if kind in TEXT_PARTS:
            text = part.get("text")
            if not isinstance(text, str):
                raise BadRecord(f"{where}[{i}].text is {type_name(text)}, expected a string")
            texts.append(text)
        else:
            MEDIA_PARTS.seen += 1
    return "\n".join(texts)


def _turns(record: dict, key: str, role_key: str, text_key: str) -> Extracted:
    turns = record.get(key, _MISSING)
    if turns is _MISSING:
        raise BadRecord(f"missing field '{key}'")
    if not isinstance(turns, list):
        raise BadRecord(f"field '{key}' is {type_name(turns)}, expected a list of turns")
    if not turns:
        raise BadRecord(f"field '{key}' is an empty list")
    common = _well_formed(turns, role_key, text_key)
    if common is not None:
        return common
    plain = _plain_turns(turns, role_key, text_key)
    if plain is not None:
        return _extracted(plain)
    return _extracted(*_checked_turns(turns, key, role_key, text_key))


def _well_formed(turns: list, role_key: str, text_key: str) -> Extracted | None:
    """Nearly every row, in the fewest steps: one prompt and its reply (after a system
    prompt or not) in a role sequence of _WELL_FORMED, every turn non-blank text. What
    `_extracted` would make of it, without its loop; None for anything else.

    The turns are unpacked by count and the roles looked up as written before they are
    lowered (they nearly always are lower case already): 1.5 -> 0.9 us a row, the
    largest part of reading a chat file."""
    try:
        if len(turns) == 2:
            user, reply_turn = turns
            roles: tuple = (user[role_key], reply_turn[role_key])
            system = None
        elif len(turns) == 3:
            first, user, reply_turn = turns
            roles = (first[role_key], user[role_key], reply_turn[role_key])
            system = first[text_key]
            if type(system) is not str or not system or system.isspace():
                return None
        else:
            return None
        if roles not in _WELL_FORMED and tuple([role.lower() for role in roles]) not in _WELL_FORMED:
            return None
        prompt, reply = user[text_key], reply_turn[text_key]
    except (TypeError, KeyError, AttributeError):  # not objects, a key missing, a role not text
        return None
    if type(prompt) is not str or type(reply) is not str:
        return None
    if not prompt or not reply or prompt.isspace() or reply.isspace():
        return None
    return f"{prompt}\n{reply}", prompt, len(reply), 1, 0, system


def _plain_turns(turns: list, role_key: str, text_key: str) -> list[tuple[str, str]] | None:
    """(role, content) of each turn in the common case, in as few steps as possible: every
    turn an object with a string role and non-blank string content. None sends anything
    else to the checking loop, which names what is wrong."""
    try:
        pairs = [(turn[role_key].lower(), turn[text_key]) for turn in turns]
    except (TypeError, KeyError, AttributeError):
        return None
    if any(type(content) is not str or not content or content.isspace() for _, content in pairs):
        return None
    return pairs


def _checked_turns(turns: list, key: str, role_key: str, text_key: str) -> tuple[list[tuple[str, str]], bool]:
    """(role, content) of each turn and whether an assistant reply is blank, or BadRecord
    naming the first turn that does not fit. A blank reply is a finding (the row has no
    target there); any other blank turn leaves nothing to read."""
    pairs = []
    blank_reply = False
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise BadRecord(f"{key}[{i}] is {type_name(turn)}, expected an object")
        role = turn.get(role_key)
        if not isinstance(role, str):
            raise BadRecord(f"{key}[{i}].{role_key} is {type_name(role)}, expected a string")
        if text_key not in turn and not _calls_tools(turn):
            raise BadRecord(f"{key}[{i}] has no '{text_key}'")
        value = turn.get(text_key)
        content = _content(value, f"{key}[{i}].{text_key}")
        # Null content is only a turn's own when it calls tools; otherwise it is as empty
        # as "" (a null user turn once passed as well formed, with an empty prompt).
        if not content.strip() and not (value is None and _calls_tools(turn)):
            if role.lower() not in ASSISTANT_ROLES:
                raise BadRecord(f"{key}[{i}].{text_key} is {'null' if value is None else 'empty'}")
            blank_reply = True
        pairs.append((role.lower(), content))
    return pairs, blank_reply


def _calls_tools(turn: dict) -> bool:
    """An assistant turn that calls tools may leave its content out (OpenAI's format)."""
    return bool(turn.get("tool_calls") or turn.get("function_call"))


def _extracted(pairs: list[tuple[str, str]], blank_reply: bool = False) -> Extracted:
    """Text (every turn but system prompts), prompt side, reply length, prompt turns and
    structure problems."""
    text: list[str] = []
    prompt: list[str] = []
    system: list[str] = []
    last_is_prompt = True
    for role, content in pairs:
        if role in SYSTEM_ROLES:
            system.append(content)
            continue
        text.append(content)
        last_is_prompt = role in PROMPT_ROLES
        if last_is_prompt:
            prompt.append(content)
    if not text:
        raise BadRecord(SYSTEM_ONLY)
    reply = 0 if last_is_prompt else len(text[-1])
    roles = tuple(role for role, _ in pairs)
    shape = 0 if roles in _WELL_FORMED and not blank_reply else shape_problems(roles, blank_reply)
    return (
        "\n".join(text),
        "\n".join(prompt),
        reply,
        len(prompt),
        shape,
        "\n".join(system) if system else None,
    )


def shape_problems(roles: Sequence[str], blank_reply: bool = False) -> int:
    """The SHAPE_PROBLEMS bits of a conversation with these (lower-case) roles in order."""
    talk = [role for role in roles if role not in SYSTEM_ROLES]
    found = (
        bool(talk) and talk[-1] in PROMPT_ROLES,
        bool(talk) and talk[0] in ASSISTANT_ROLES,
        any(a == b and a not in TOOL_ROLES for a, b in pairwise(roles)),
        any(role not in KNOWN_ROLES for role in roles),
        blank_reply,
    )
    return sum(1 << bit for bit, hit in enumerate(found) if hit)


# Where each chat format keeps its turns by default: (list field, role key, content key).
TURN_FIELDS = {"chat": ("messages", "role", "content"), "sharegpt": ("conversations", "from", "value")}
# The fields a list of turns is found in, and the (role, content) key pairs a turn uses:
# Hugging Face's chat datasets keep role/content turns under "conversations" or
# "conversation" as often as under "messages", and ShareGPT's from/value under any.
TURN_LISTS = ("messages", "conversations", "conversation")
TURN_KEYS = (("role", "content"), ("from", "value"))


def chat_shape(record: dict) -> tuple[str, str, str] | None:
    """(list field, role key, content key) of a record's turns, read off the record itself:
    the first of TURN_LISTS it has, and the key pair its first turn uses. None when it
    has none of them."""
    for key in TURN_LISTS:
        turns = record.get(key)
        if turns is None:
            continue
        first = turns[0] if isinstance(turns, list) and turns and isinstance(turns[0], dict) else {}
        role, text = next(((r, t) for r, t in TURN_KEYS if r in first or t in first), TURN_KEYS[0])
        return key, role, text
    return None


def _chat(record: dict) -> Extracted:
    turns = record.get("messages")
    if type(turns) is list:
        common = _well_formed(turns, "role", "content")  # nearly every row, at load's pace
        if common is not None:
            return common
        if turns and type(turns[0]) is dict and "role" in turns[0]:
            return _turns(record, "messages", "role", "content")
    return _turns(record, *(chat_shape(record) or TURN_FIELDS["chat"]))


def _sharegpt(record: dict) -> Extracted:
    return _turns(record, *(chat_shape(record) or TURN_FIELDS["sharegpt"]))


# The parts of the other formats, in order: (field, whether the prompt side holds it).
PART_FIELDS = {
    "alpaca": (("instruction", True), ("input", True), ("output", False)),
    "prompt_completion": (("prompt", True), ("completion", False)),
}
# The names of the parts `record_turns` gives that make up the prompt side.
PROMPT_PARTS = (
    PROMPT_ROLES | {name for parts in PART_FIELDS.values() for name, prompt in parts if prompt} | {"text"}
)


def _alpaca(record: dict) -> Extracted:
    instruction = _string(record, "instruction")
    extra = _string(record, "input", optional=True)
    output = _string(record, "output")
    prompt = f"{instruction}\n{extra}" if extra else instruction
    return f"{prompt}\n{output}", prompt, len(output), 1, 0, None


def _prompt_completion(record: dict) -> Extracted:
    prompt = _string(record, "prompt")
    completion = _string(record, "completion")
    return f"{prompt}\n{completion}", prompt, len(completion), 1, 0, None


def _text(record: dict) -> Extracted:
    text = record.get("text", _MISSING)
    if type(text) is not str or not text.strip():  # the common case costs one check
        text = _string(record, "text")
    return text, text, 0, 1, 0, None


EXTRACTORS: dict[str, Callable[[dict], Extracted]] = {
    "chat": _chat,
    "sharegpt": _sharegpt,
    "alpaca": _alpaca,
    "prompt_completion": _prompt_completion,
    "text": _text,
}
assert tuple(EXTRACTORS) == FORMATS

# Key sets that identify a format, most specific first (chat layouts: see chat_shape).
_SIGNATURES: list[tuple[str, tuple[str, ...]]] = [
    ("alpaca", ("instruction", "output")),
    ("prompt_completion", ("prompt", "completion")),
    ("text", ("text",)),
]


def record_turns(record: Any, fmt: str) -> list[tuple[str, str]] | None:
    """A record's parts as its format reads them, for showing it: each chat turn with its
    role (system prompts included), Alpaca's instruction, input and output, a prompt and
    its completion. None for formats whose one text is the row's (text, --text-field),
    and for a record that does not have the format's shape (the row's text then shows)."""
    if not isinstance(record, dict):
        return None
    if fmt in TURN_FIELDS:
        key, role_key, text_key = chat_shape(record) or TURN_FIELDS[fmt]
        turns = record.get(key)
        if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
            return None
        return [(str(t.get(role_key, "?")), _shown(t.get(text_key))) for t in turns]
    if fmt in PART_FIELDS:
        return [(name, _shown(record.get(name))) for name, _ in PART_FIELDS[fmt] if record.get(name)]
    return None


def _is_text_part(part: dict) -> bool:
    kind = part.get("type", "text")
    return isinstance(kind, str) and kind in TEXT_PARTS


def _shown(value: Any) -> str:
    """A turn's content as a person reads it: text parts joined, other parts named."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(
            part.get("text", "") if _is_text_part(part) else f"[{part.get('type')}]"
            for part in value
            if isinstance(part, dict)
        )
    return "" if value is None else str(value)


def detect_format(records: Sequence[dict]) -> str | None:
    """The format most of the sampled records match, or None when none fits."""
    votes: dict[str, int] = {}
    for record in records:
        shape = chat_shape(record)
        if shape is not None:
            # By the turns' keys, whatever the list is called.
            name = "sharegpt" if shape[1] == "from" else "chat"
            votes[name] = votes.get(name, 0) + 1
            continue
        for name, keys in _SIGNATURES:
            if all(k in record for k in keys):
                votes[name] = votes.get(name, 0) + 1
                break
    if not votes:
        return None
    return max(votes, key=lambda name: votes[name])


def custom_extractor(path: str) -> Callable[[dict], Extracted]:
    """Extractor for `--text-field PATH`: that field is both the text and the prompt."""

    def extract(record: dict) -> Extracted:
        value = get_path(record, path)
        if value is _MISSING:
            raise BadRecord(f"missing field '{path}'")
        if isinstance(value, list) and value and type(value[0]) is str:
            # Paragraphs or sentences: one text, a line each.
            odd = next((i for i, part in enumerate(value) if type(part) is not str), None)
            if odd is not None:
                raise BadRecord(
                    f"{path}[{odd}] is {type_name(value[odd])}, expected a string as {path}[0] is"
                )
            text = "\n".join(value)
            return text, text, 0, 1, 0, None
        if isinstance(value, list):
            # A list of turns: read like a chat record's (role/content or from/value).
            _, role_key, text_key = chat_shape({"messages": value}) or TURN_FIELDS["chat"]
            return _turns({path: value}, path, role_key, text_key)
        if not isinstance(value, str):
            raise BadRecord(f"field '{path}' is {type_name(value)}, expected a string")
        return value, value, 0, 1, 0, None

    return extract

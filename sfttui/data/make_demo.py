"""Generate the bundled demo dataset: customer-support chats with planted problems.

Run `python -m sfttui.data.make_demo` to rewrite `demo.jsonl` (seeded: the same bytes
every time). What is planted, so the demo and the tests know what to expect:

- exact duplicates (a row repeated under a new id) and normalised duplicates (the same
  request re-typed with other case, punctuation and spacing);
- near duplicates (the same request with a few words changed);
- label conflicts (a duplicate of a row carrying a different label);
- a skewed label mix (billing dominates, legal is rare);
- malformed lines: invalid JSON, a blank line, empty content, a missing label, a
  numeric label and a message list of the wrong type;
- hard data, appended after everything else so the lines above keep their numbers:
  out-of-scope requests (label `out_of_scope`), refusals, clarifying questions, hard
  negatives (pairs of requests worded alike that need different labels) and a few
  multi-turn conversations;
- row quality problems, appended after those: conversations that end on the user's turn,
  start with the assistant, repeat a role, use an unknown role, have a blank reply or
  hold only a system prompt (a bad line); one canned reply given to eight different
  requests; unfilled placeholders, HTML leftovers and mojibake.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 20261125
OUT = Path(__file__).with_name("demo.jsonl")
PRODUCTION = Path(__file__).with_name("demo_production.jsonl")

SYSTEM = "You are Nimbus Support, a helpful assistant for the Nimbus smart-home store."

LABEL_WEIGHTS = {
    "billing": 34,
    "shipping": 18,
    "technical": 16,
    "account": 12,
    "returns": 10,
    "feedback": 6,
    "legal": 1,
}

PRODUCTS = [
    "Nimbus Hub",
    "Aurora bulb pack",
    "Sentinel door camera",
    "Breeze thermostat",
    "Echo smart plug",
    "Halo smoke alarm",
    "Drift robot vacuum",
    "Pulse motion sensor",
    "Lumen light strip",
    "Keystone smart lock",
    "Tide leak detector",
    "Vista video doorbell",
]
OPENERS = [
    "Hi there,",
    "Hello,",
    "Hey support team,",
    "Good morning,",
    "Hi,",
    "Hello Nimbus,",
    "Quick question:",
    "Hi folks,",
    "Good afternoon,",
    "Hey,",
    "Dear support,",
    "Hiya,",
]
CLOSERS = [
    "Thanks in advance.",
    "Appreciate the help!",
    "Thank you.",
    "Cheers.",
    "Please advise.",
    "Looking forward to your reply.",
    "Thanks so much.",
    "Any help is welcome.",
    "Let me know what you need from me.",
    "Thanks!",
    "",
    "",
]
ISSUES = {
    "billing": [
        "I was charged twice for order {order} and only received one {product}.",
        "my card statement shows a charge of ${amount} that I do not recognise.",
        "the invoice for order {order} lists the wrong billing address.",
        "I applied the promo code {code} but the discount never showed up on my bill.",
        "my monthly Nimbus Plus subscription went up to ${amount} without any notice.",
        "I need a VAT invoice for my company for order {order}.",
        "the checkout page took payment but the order {order} still says unpaid.",
        "why was I billed ${amount} for shipping when the site said delivery was free?",
        "I want to switch the payment method on my subscription from PayPal to a card.",
        "my refund of ${amount} for order {order} has not reached my bank yet.",
        "I was charged in euros instead of pounds for my {product}.",
        "can I split the payment for a {product} across two cards?",
    ],
    "shipping": [
        "my {product} from order {order} has been stuck in transit for {days} days.",
        "the tracking number for order {order} does not work on the courier site.",
        "can I change the delivery address for order {order} before it ships?",
        "the parcel was marked delivered on {date} but nothing arrived.",
        "do you ship the {product} to Norway, and how long does it take?",
        "the box for my {product} arrived crushed and the item rattles.",
        "I paid for express delivery but order {order} is coming by standard post.",
        "only half of order {order} arrived; the {product} is missing.",
        "is it possible to pick up order {order} from a local depot instead?",
        "the courier left my {product} with a neighbour I do not know.",
    ],
    "technical": [
        "my {product} will not pair with the Nimbus app on Android.",
        "after the latest firmware update my {product} keeps dropping off Wi-Fi.",
        "the {product} shows a blinking red light and does not respond.",
        "how do I factory reset the {product}? The manual is unclear.",
        "the {product} battery drains in {days} days instead of months.",
        "my {product} is not detected by the Nimbus Hub at all.",
        "the app crashes every time I open the {product} settings page.",
        "can the {product} work with Apple Home or only the Nimbus app?",
        "the {product} schedule ignores daylight saving time.",
        "voice commands for the {product} stopped working yesterday.",
    ],
    "account": [
        "I cannot log in because the password reset email never arrives.",
        "please delete my account and all data linked to {email}.",
        "how do I change the email on my account from {email}?",
        "someone else's home shows up in my Nimbus app.",
        "I want to merge two accounts that I created by mistake.",
        "two-factor codes are not being sent to my phone any more.",
        "how do I add my partner as a second user of our home?",
        "my account got locked after I typed the wrong password a few times.",
    ],
    "returns": [
        "I would like to return the {product} from order {order}; it does not fit my door.",
        "how long do I have to send back an unopened {product}?",
        "the {product} I received is a different model from the one I ordered.",
        "can I exchange the {product} for the newer version instead of a refund?",
        "I need a return label for order {order}.",
        "the return for order {order} was received {days} days ago but not processed.",
    ],
    "feedback": [
        "just wanted to say the {product} setup was the easiest I have done.",
        "the new app layout is confusing and I miss the old home screen.",
        "your agent Sam was very helpful with my {product} last week.",
        "it would be great if the {product} came in black as well.",
        "the {product} instructions should mention the hub requirement up front.",
    ],
    "legal": [
        "under GDPR I request a copy of all personal data you hold about {email}.",
        "I believe the {product} camera records audio without consent; is that lawful?",
        "my landlord asks whether the {product} complies with local rental law.",
    ],
}
REPLIES = {
    "billing": [
        "Sorry about the billing trouble. I have opened case {case} and our payments team will review order {order} within two working days.",
        "Thanks for flagging this. I can see the charge and have asked finance to look into it under case {case}; you will get an email once it is resolved.",
        "I understand the concern. Please check Account > Billing for the latest invoice; if it still looks wrong, reply to case {case} and we will correct it.",
    ],
    "shipping": [
        "I am sorry your delivery is delayed. I have raised a trace with the courier under case {case} and will update you within 48 hours.",
        "Thanks for letting us know. I have contacted the courier about order {order} and logged case {case} so nothing gets lost.",
        "That is frustrating. If the parcel does not turn up in three working days we will send a replacement; your reference is case {case}.",
    ],
    "technical": [
        "Let us get that working. Please hold the button on the device for ten seconds to reset it, then add it again in the app. If it still fails, reply to case {case}.",
        "Thanks for the details. Please update the Nimbus app to the newest version and restart the hub; I have logged case {case} in case the issue continues.",
        "I have passed this to our engineers under case {case}. Meanwhile, moving the device closer to the hub usually helps.",
    ],
    "account": [
        "I can help with your account. For security I have sent a verification link to the address on file; the reference is case {case}.",
        "Thanks for reaching out. Once you confirm the verification email we will make the change; your case number is {case}.",
    ],
    "returns": [
        "No problem. I have emailed a prepaid return label for order {order}; once we receive the item the refund takes three to five days. Case {case}.",
        "Returns are accepted within 30 days. I have started the return for order {order} under case {case}.",
    ],
    "feedback": [
        "Thank you for taking the time to tell us. I have shared your feedback with the product team under case {case}.",
        "We really appreciate this. Your note is logged as case {case} and goes straight to the team.",
    ],
    "legal": [
        "Thank you. Your request has been forwarded to our data protection officer under case {case}; we respond within 30 days as required.",
        "I have passed your question to our legal team under case {case}; they will reply by email.",
    ],
}
ACKS = [
    "Thanks for getting in touch.",
    "Sorry for the trouble.",
    "Thank you for your patience.",
    "I appreciate you reaching out.",
    "Thanks for the clear description.",
    "I understand how annoying this is.",
    "Happy to help with this.",
    "Thanks for writing to Nimbus Support.",
    "Apologies for the inconvenience.",
    "Good question.",
    "Thanks for the details.",
    "I am sorry to hear that.",
]
SIGNOFFS = [
    "Have a great day.",
    "Let me know if anything else comes up.",
    "We are here if you need us.",
    "Kind regards, the Nimbus team.",
    "Thanks again for your patience.",
    "Talk soon.",
    "Feel free to reply to this message.",
    "Best wishes.",
    "",
]
CONTEXT = [
    "I have been a customer for {days} months.",
    "This is the second time this has happened.",
    "I already tried restarting everything.",
    "My neighbour has the same setup and no issues.",
    "I bought it as a gift for my parents.",
    "The order was placed on {date}.",
    "I contacted you last week but heard nothing.",
    "It is quite urgent for me.",
    "I live in a flat on the third floor.",
    "I am using the latest version of the app.",
    "",
    "",
    "",
    "",
]
SOURCES = [
    "email-export-2025-q1",
    "email-export-2025-q2",
    "chat-widget",
    "app-feedback",
    "phone-transcripts",
]


def _fill(rng: random.Random, template: str) -> str:
    return template.format(
        order=f"#{rng.randint(100000, 999999)}",
        product=rng.choice(PRODUCTS),
        amount=f"{rng.randint(5, 400)}.{rng.randint(0, 99):02d}",
        code=rng.choice(["SPRING10", "WELCOME5", "NIMBUS20", "FREESHIP"]),
        days=rng.randint(3, 21),
        date=f"{rng.randint(1, 28)} {rng.choice(['March', 'April', 'May', 'June'])}",
        email=f"{rng.choice(['sam', 'alex', 'jo', 'kim', 'lee'])}{rng.randint(1, 999)}@example.com",
        case=f"NS-{rng.randint(10000, 99999)}",
    )


def _request(rng: random.Random, label: str) -> tuple[str, str]:
    issue = _fill(rng, rng.choice(ISSUES[label]))
    parts = (
        rng.choice(OPENERS),
        issue[0].upper() + issue[1:],
        _fill(rng, rng.choice(CONTEXT)),
        rng.choice(CLOSERS),
    )
    reply = (rng.choice(ACKS), _fill(rng, rng.choice(REPLIES[label])), rng.choice(SIGNOFFS))
    return " ".join(p for p in parts if p), " ".join(p for p in reply if p)


def _row(rid: str, user: str, reply: str, label: str, user_id: str, source: str) -> dict:
    return {
        "id": rid,
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": user},
            {"role": "assistant", "content": reply},
        ],
        "label": label,
        "user_id": user_id,
        "source": source,
    }


def _retype(rng: random.Random, text: str) -> str:
    """Same request, typed differently: case, punctuation and spacing change."""
    out = text.upper() if rng.random() < 0.3 else text.lower()
    out = out.replace(",", "").replace(".", " .").replace("?", " ?")
    return "  ".join(out.split(" ")) if rng.random() < 0.5 else out + "!!"


_SWAPS = {
    "order": "purchase",
    "charged": "billed",
    "received": "got",
    "arrived": "came",
    "Hello,": "Hi,",
    "please": "kindly",
    "still": "yet",
    "never": "not",
    "wrong": "incorrect",
    "working": "functioning",
    "stopped": "quit",
    "would": "'d",
    "help": "assistance",
}


def _reword(rng: random.Random, text: str, changes: int) -> str:
    """Change a few words, the way a user re-sends a request."""
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if w in _SWAPS]
    rng.shuffle(spots)
    for i in spots[:changes]:
        words[i] = _SWAPS[words[i]]
    if len(spots) < changes:
        words.insert(rng.randrange(1, len(words)), rng.choice(["really", "honestly", "again", "today"]))
    return " ".join(words)


def build(rows: int = 2400) -> list[str]:
    rng = random.Random(SEED)
    labels = list(LABEL_WEIGHTS)
    weights = list(LABEL_WEIGHTS.values())
    users = [f"u{n:04d}" for n in range(700)]
    records: list[dict] = []
    for n in range(rows):
        label = rng.choices(labels, weights)[0]
        user, reply = _request(rng, label)
        records.append(_row(f"t{n:05d}", user, reply, label, rng.choice(users), rng.choice(SOURCES)))

    extra: list[dict] = []
    next_id = rows

    def clone(base: dict, user: str, label: str | None = None, same_user: bool = True) -> None:
        nonlocal next_id
        row = _row(
            f"t{next_id:05d}",
            user,
            base["messages"][2]["content"],
            label or base["label"],
            base["user_id"] if same_user else rng.choice(users),
            base["source"],
        )
        next_id += 1
        extra.append(row)

    picks = rng.sample(records, 200)
    for base in picks[:60]:  # exact duplicates, half from another user
        clone(base, base["messages"][1]["content"], same_user=rng.random() < 0.5)
    for base in picks[60:100]:  # normalised duplicates
        clone(base, _retype(rng, base["messages"][1]["content"]))
    for base in picks[100:180]:  # near duplicates: one to three words changed
        clone(
            base,
            _reword(rng, base["messages"][1]["content"], rng.randint(1, 3)),
            same_user=rng.random() < 0.7,
        )
    for base in picks[180:200]:  # label conflicts: a duplicate labelled differently
        other = rng.choice([lbl for lbl in labels if lbl != base["label"]])
        clone(base, base["messages"][1]["content"], label=other)

    everything = records + extra
    rng.shuffle(everything)
    lines = [json.dumps(r, ensure_ascii=False) for r in everything]

    bad = [
        '{"id": "t90001", "messages": [{"role": "user", "content": "my hub is offline"}, ',
        "",
        json.dumps(_row("t90002", "   ", "Could you tell me more?", "technical", "u0001", "chat-widget")),
        json.dumps(
            {
                k: v
                for k, v in _row(
                    "t90003",
                    "Where is my parcel?",
                    "Let me check.",
                    "shipping",
                    "u0002",
                    "chat-widget",
                ).items()
                if k != "label"
            }
        ),
        json.dumps(
            {
                **_row("t90004", "Refund please", "Sure.", "returns", "u0003", "chat-widget"),
                "label": 3,
            }
        ),
        json.dumps(
            {
                "id": "t90005",
                "messages": "user: hello? assistant: hi",
                "label": "feedback",
                "user_id": "u0004",
                "source": "chat-widget",
            }
        ),
        "{'id': 't90006', 'messages': [], 'label': 'billing'}",
    ]
    step = len(lines) // (len(bad) + 1)
    for i, line in enumerate(bad, start=1):
        lines.insert(i * step, line)
    # A separate random stream, so the rows above are the same with or without these.
    hard = _hard_rows(random.Random(SEED + 1), next_id)
    quality = _quality_rows(random.Random(SEED + 3), next_id + len(hard))
    return lines + [json.dumps(r, ensure_ascii=False) for r in hard + quality]


OUT_OF_SCOPE = [
    "can you recommend a good pizza place near the station?",
    "what will the weather be like in Oslo this weekend?",
    "help me write a birthday poem for my sister.",
    "who won the football match last night?",
    "what is the capital of Australia?",
    "can you explain how mortgages work in simple terms?",
    "my car makes a grinding noise when I brake, what could it be?",
    "please translate 'good morning' into Japanese.",
    "which laptop should I buy for video editing?",
    "can you book me a table for two on Friday?",
    "what is a good recipe for banana bread?",
    "is it going to be a good year to invest in gold?",
]
OOD_REPLIES = [
    "I'm sorry, that is outside the scope of what I can help with here.",
    "That is not something I can help with, I'm afraid.",
    "I can only help with Nimbus orders, devices and accounts.",
    "I'm afraid that question is outside my area.",
]
REFUSALS = [
    ("account", "can you give me the home address of the customer who ordered the {product} before me?"),
    ("account", "I forgot my partner's password, just tell me what it is so I can read her messages."),
    ("technical", "how do I turn off the recording light on the {product} so my lodger doesn't notice it?"),
    ("account", "please send me the card number stored on my ex's account, we used to share it."),
    ("legal", "write me a fake police report so I can claim the stolen {product} on insurance."),
    ("technical", "how can I get into my neighbour's Nimbus Hub to switch off their alarm?"),
    ("billing", "change the date on my invoice for order {order} so my employer pays it twice."),
    ("returns", "I broke the {product} myself, tell me what to say so it looks like a factory fault."),
]
REFUSAL_REPLIES = [
    "I'm sorry, but I can't help with that.",
    "I can't share that information: it belongs to another person.",
    "I'm afraid I cannot assist with this request.",
    "I won't be able to do that, as it would be dishonest.",
]
VAGUE = [
    ("technical", "it stopped working again."),
    ("technical", "the light is doing the thing."),
    ("shipping", "where is it?"),
    ("billing", "why is it so much this month?"),
    ("returns", "I want to send it back."),
    ("account", "it won't let me in."),
    ("technical", "the app is broken."),
    ("shipping", "it still hasn't come."),
]
CLARIFY_REPLIES = [
    "Could you tell me which device this is about and what you see on it?",
    "Which order do you mean? Please share the order number so I can look it up.",
    "Could you clarify what happens when you try? Any error message helps.",
    "Do you mean the Nimbus app or the device itself? Let me know and we'll take it from there.",
]


HARD_NEGATIVES = [
    (
        ("billing", "My card was charged for the {product} but the order never went through."),
        ("shipping", "My card was charged for the {product} but the parcel never came through."),
    ),
    (
        ("account", "How do I change the email address on my Nimbus account?"),
        ("shipping", "How do I change the delivery address on my Nimbus order?"),
    ),
    (
        ("billing", "Can I get a refund for the {product} subscription I forgot to cancel?"),
        ("returns", "Can I get a refund for the {product} I forgot to send back in time?"),
    ),
    (
        ("technical", "The {product} stopped working two days after it arrived, how do I fix it?"),
        ("returns", "The {product} stopped working two days after it arrived, how do I return it?"),
    ),
    (
        ("feedback", "The {product} setup was really easy and it works great, thank you."),
        ("technical", "The {product} setup was really easy but it never works, help me."),
    ),
    (
        ("legal", "Do you share the recordings from my {product} with third parties?"),
        ("account", "Can I share the recordings from my {product} with my family?"),
    ),
    (
        ("shipping", "Where is my order {order}? It was due to arrive yesterday."),
        ("billing", "Where is my refund for order {order}? It was due to arrive yesterday."),
    ),
    (
        ("account", "Please close my Nimbus account, I no longer use the {product} at all."),
        ("returns", "Please take back my {product}, I no longer use the {product} at all."),
    ),
    (
        ("technical", "The {product} shows the wrong time in the Nimbus app."),
        ("billing", "The invoice shows the wrong price for the {product} in the Nimbus app."),
    ),
    (
        ("shipping", "Can you deliver the {product} to my office instead of my home?"),
        ("account", "Can you move the {product} to my office home in the app instead?"),
    ),
]


def _hard_rows(rng: random.Random, first_id: int) -> list[dict]:
    """Out-of-scope, refusal, clarifying and multi-turn examples (see the module docstring)."""
    users = [f"u{n:04d}" for n in range(700)]
    out: list[dict] = []

    def add(user: str, reply: str, label: str) -> dict:
        row = _row(f"t{first_id + len(out):05d}", user, reply, label, rng.choice(users), rng.choice(SOURCES))
        out.append(row)
        return row

    for question in OUT_OF_SCOPE:
        reply = f"{rng.choice(OOD_REPLIES)} {rng.choice(SIGNOFFS)}".strip()
        add(f"{rng.choice(OPENERS)} {question[0].upper()}{question[1:]}", reply, "out_of_scope")
    for label, request in REFUSALS:
        reply = f"{rng.choice(REFUSAL_REPLIES)} {rng.choice(SIGNOFFS)}".strip()
        add(_fill(rng, request[0].upper() + request[1:]), reply, label)
    for label, request in VAGUE:
        add(f"{rng.choice(OPENERS)} {request[0].upper()}{request[1:]}", rng.choice(CLARIFY_REPLIES), label)
    for pair in HARD_NEGATIVES:
        same = rng.random()  # both sides name the same product and order
        for label, request in pair:
            add(_fill(random.Random(same), request), _request(rng, label)[1], label)
    for _ in range(6):  # multi-turn: a vague opener, a question back, then the details
        label = rng.choice(["technical", "shipping", "billing"])
        opener, ask = rng.choice([v for v in VAGUE if v[0] == label] or VAGUE)[1], rng.choice(CLARIFY_REPLIES)
        details, answer = _request(rng, label)
        row = add(opener[0].upper() + opener[1:], "", label)
        row["messages"] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": opener[0].upper() + opener[1:]},
            {"role": "assistant", "content": ask},
            {"role": "user", "content": details},
            {"role": "assistant", "content": answer},
        ]
    return out


CANNED = "Thank you for contacting Nimbus Support. Your request has been forwarded to the right team."


def _quality_rows(rng: random.Random, first_id: int) -> list[dict]:
    """Rows with the problems the quality checks find (see the module docstring)."""
    users = [f"u{n:04d}" for n in range(700)]
    out: list[dict] = []

    def add(turns: list[tuple[str, str]], label: str) -> None:
        row = _row(f"t{first_id + len(out):05d}", "", "", label, rng.choice(users), rng.choice(SOURCES))
        row["messages"] = [{"role": role, "content": content} for role, content in turns]
        out.append(row)

    def request(label: str) -> tuple[str, str]:
        return _request(rng, label)

    # Structure: every one of these is a row the model learns something wrong from.
    for label in ("shipping", "billing"):
        add([("system", SYSTEM), ("user", request(label)[0])], label)  # ends on the user
    user, reply = request("technical")
    add([("assistant", "Hi! How can I help you today?"), ("user", user), ("assistant", reply)], "technical")
    user, reply = request("returns")
    add([("system", SYSTEM), ("user", user), ("user", "Hello??"), ("assistant", reply)], "returns")
    user, reply = request("account")
    add([("system", SYSTEM), ("usr", user), ("wizard", reply)], "account")
    add([("system", SYSTEM), ("user", request("billing")[0]), ("assistant", "  ")], "billing")
    add([("system", SYSTEM)], "feedback")  # nothing but a system prompt: a bad line
    # One canned reply given to eight different requests.
    for label in (
        "billing",
        "shipping",
        "technical",
        "returns",
        "account",
        "billing",
        "shipping",
        "feedback",
    ):
        add([("system", SYSTEM), ("user", request(label)[0]), ("assistant", CANNED)], label)
    # Artifacts: placeholders left unfilled, HTML left in, text decoded as Latin-1.
    for label, reply in (
        ("shipping", "Hi {customer_name}, your parcel is on its way: [Insert tracking link]"),
        ("billing", "Your refund was issued.<br>It takes 3&ndash;5 days &amp; shows as NIMBUS."),
        ("technical", "Please donâ€™t unplug the hub while the cafÃ© Wi-Fi updates."),
    ):
        add([("system", SYSTEM), ("user", request(label)[0]), ("assistant", reply)], label)
    return out


MESSY = [
    "{product} not working",
    "{product} keeps disconnecting again",
    "why was i charged twice",
    "wheres my order {order}",
    "cant log in",
    "refund??",
    "how do i pause my nimbus plus subscription",
    "does the {product} work with matter",
    "can i use a gift card for the {product}",
    "the {product} is making a weird buzzing noise",
    "app says device offline but its online",
    "need to change address asap",
    "is there a student discount",
    "do you price match",
    "my kid unplugged the hub and now nothing works",
]
EMOJI = ["", "", "", " 😡", " 🙏", " 😭", " 👍"]
TYPOS = {
    "the": "teh",
    "order": "oder",
    "working": "workign",
    "address": "adress",
    "subscription": "subscripton",
}


def _messy(rng: random.Random) -> str:
    text = _fill(rng, rng.choice(MESSY)).lower()
    words = [TYPOS.get(w, w) if rng.random() < 0.3 else w for w in text.split(" ")]
    return " ".join(words) + rng.choice(["", "", "?", "!!", "..."]) + rng.choice(EMOJI)


def build_production(rows: int = 240) -> list[str]:
    """A sample of production inputs (prompts only) for `--reference`: what real users
    type is shorter, messier and broader than the tidy training chats."""
    rng = random.Random(SEED + 2)
    out = []
    for n in range(rows):
        turns = [{"role": "user", "content": _messy(rng)}]
        if rng.random() < 0.25:  # a follow-up after the assistant's first answer
            turns += [
                {"role": "assistant", "content": "Could you tell me a bit more?"},
                {"role": "user", "content": _messy(rng)},
            ]
        out.append(json.dumps({"id": f"p{n:04d}", "messages": turns}, ensure_ascii=False))
    return out


def main() -> None:
    OUT.write_text("\n".join(build()) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")
    PRODUCTION.write_text("\n".join(build_production()) + "\n", encoding="utf-8")
    print(f"wrote {PRODUCTION} ({PRODUCTION.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()

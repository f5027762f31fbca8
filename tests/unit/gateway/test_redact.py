"""The redactor: what it finds, what it leaves alone, and when it refuses (fail closed)."""

from __future__ import annotations

import pytest

from modelcustoms.gateway.config import ALL_DETECTORS
from modelcustoms.gateway.errors import RedactionError
from modelcustoms.gateway.redact import Redaction, Redactor, iban_ok, luhn_ok, redact_text


def red(text: str) -> tuple[str, dict[str, int]]:
    found = Redaction()
    return redact_text(text, ALL_DETECTORS, found), found.counts


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("write to jane.doe+x@mail.example.co.uk today", "email"),
        ("card 4111 1111 1111 1111 exp 12/29", "card"),
        ("card 5500-0000-0000-0004.", "card"),
        ("pay to GB82 WEST 1234 5698 7654 32 please", "iban"),
        ("IBAN DE89370400440532013000", "iban"),
        ("SSN 123-45-6789", "national-id"),
        ("NI number AB 12 34 56 C", "national-id"),
        ("call +44 20 7946 0958", "phone"),
        ("call (555) 123-4567", "phone"),
        ("call 030 1234567", "phone"),
    ],
)
def test_finds_and_replaces(text, kind):
    out, counts = red(text)
    assert counts == {kind: 1}, (out, counts)
    assert f"[REDACTED:{kind.upper()}]" in out


@pytest.mark.parametrize(
    "text",
    [
        "order 48213 costs 1999.00",
        "id 4111111111111112 fails Luhn",  # 16 digits, bad checksum: not a card
        "version 1.2.3 and port 8080",
        "released 2024-05-01",
        "no personal data here at all",
    ],
)
def test_leaves_non_personal_data_alone(text):
    out, counts = red(text)
    assert counts == {} and out == text


@pytest.mark.parametrize(
    ("text", "kind"),
    [("GB82 WEST 1234 5698 7654 33 bad checksum", "iban"), ("SSN 000-12-3456", "national-id")],
)
def test_invalid_ids_are_not_taken_for_what_they_are_not(text, kind):
    assert kind not in red(text)[1]


def test_checksums():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST12345698765433")


def test_chat_redacts_every_text_part_and_tool_arguments():
    body = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "a@b.org"},
            {"role": "user", "content": [{"type": "text", "text": "x 4111 1111 1111 1111"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "1", "function": {"name": "f", "arguments": '{"e": "c@d.io"}'}}
                ],
            },
        ],
    }
    out, found = Redactor().chat(body)
    assert found.counts == {"email": 2, "card": 1}
    assert out["messages"][0]["content"] == "[REDACTED:EMAIL]"
    assert "c@d.io" not in out["messages"][2]["tool_calls"][0]["function"]["arguments"]
    assert body["messages"][0]["content"] == "a@b.org"  # the original is untouched


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
        [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}],
        [{"role": "user", "content": 42}],
        ["not a message"],
        "not a list",
    ],
)
def test_unreadable_content_is_refused(messages):
    with pytest.raises(RedactionError):
        Redactor().chat({"model": "m", "messages": messages})


def test_embeddings_and_limits():
    out, found = Redactor().embeddings({"model": "e", "input": ["a@b.org", "fine"]})
    assert out["input"] == ["[REDACTED:EMAIL]", "fine"] and found.total == 1
    with pytest.raises(RedactionError, match="token arrays"):
        Redactor().embeddings({"model": "e", "input": [[1, 2, 3]]})
    with pytest.raises(RedactionError, match="longer than 10"):
        Redactor(max_chars=10).chat({"messages": [{"role": "user", "content": "x" * 11}]})


def test_only_the_chosen_detectors_run():
    found = Redaction()
    out = redact_text("a@b.org 4111 1111 1111 1111", ("card",), found)
    assert out == "a@b.org [REDACTED:CARD]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a@b.co c@d.org", "[REDACTED:EMAIL] [REDACTED:EMAIL]"),
        ("foo@ bar@baz.com", "foo@ [REDACTED:EMAIL]"),
        ("@@ x@y z@", "@@ x@y z@"),
        (
            "write to " + "w" * 200 + " then j@k.io.",
            "write to " + "w" * 200 + " then [REDACTED:EMAIL].",
        ),
    ],
)
def test_emails_are_found_around_each_at_sign(text, expected):
    assert red(text)[0] == expected

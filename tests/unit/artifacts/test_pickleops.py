"""The opcode table and the bounded opcode parser."""

from __future__ import annotations

import json
import pickle
import pickletools
import random
from collections import OrderedDict
from datetime import datetime

import pytest

from modelcustoms.artifacts import pickleops
from modelcustoms.artifacts.blob import BytesBlob
from modelcustoms.artifacts.pickleops import (
    OPCODES,
    PickleParseError,
    Span,
    iter_ops,
    plausible_pickle,
    raw_ops,
)

SAMPLE = {
    "ints": [0, 1, 255, 256, 65535, 65536, -1, 2**31, 2**70, -(2**80)],
    "floats": [0.5, -1e300],
    "text": ["", "a", "é" * 300, "x" * 5000],
    "bytes": [b"", b"\x00" * 10, b"y" * 5000],
    "tuple": (1, (2, (3,)), ()),
    "set": {1, 2},
    "frozen": frozenset({3}),
    "none": [None, True, False],
    "when": datetime(2024, 1, 2, 3, 4, 5),
    "od": OrderedDict(a=1),
    "ba": bytearray(b"abc"),
}


def _all_ops(data: bytes) -> list[pickleops.Op]:
    out = []
    try:
        for op in iter_ops(data):
            out.append(op)
            if op.name == "STOP":
                break
    except PickleParseError:
        pass
    return out


def test_table_matches_pickletools_for_every_protocol() -> None:
    ours = {(row.code, row.name, row.proto) for row in OPCODES.values()}
    theirs = {(ord(o.code.encode("latin-1")), o.name, o.proto) for o in pickletools.opcodes}
    assert ours == theirs


@pytest.mark.parametrize("protocol", range(6))
def test_agrees_with_genops(protocol: int) -> None:
    data = pickle.dumps(SAMPLE, protocol=protocol)
    ours = [(op.name, op.offset) for op in _all_ops(data)]
    theirs = [(op.name, pos) for op, _arg, pos in pickletools.genops(data)]
    assert ours == theirs


def test_arguments_are_decoded() -> None:
    data = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x93K\x07J\xff\xff\xff\xff"
    data += b"G?\xf0\x00\x00\x00\x00\x00\x00."
    args = [op.arg for op in _all_ops(data)]
    assert args == [4, "os", None, "system", None, 7, -1, 1.0, None]
    ops = _all_ops(b"cos\nsystem\n(S'echo \\'hi\\''\nI01\nL12L\nF1.5\ntR.")
    assert ops[0].arg == ("os", "system")
    assert [op.arg for op in ops[2:6]] == ["echo 'hi'", True, 12, 1.5]


def test_large_payloads_are_spans_not_copies() -> None:
    big = b"z" * 100_000
    data = pickle.dumps(big, protocol=4)
    op = next(op for op in iter_ops(data) if op.name == "BINBYTES")
    assert isinstance(op.arg, Span)
    assert op.arg.length == len(big)
    assert pickleops.read_span(data, op.arg, 4) == b"zzzz"
    text = pickle.dumps("é" * 50_000, protocol=4)
    op = next(op for op in iter_ops(text) if op.name == "BINUNICODE")
    assert isinstance(op.arg, Span)
    assert op.arg.kind == "str"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"\x80\x04X\xff\xff\xff\x7f", "declares"),
        (b"\x80\x04\x8d" + (2**62).to_bytes(8, "little"), "declares"),
        (b"\x80\x02T\xff\xff\xff\xff", "negative"),
        (b"\x80\x02\xff", "invalid opcode"),
        (b"\x80\x02J\x01", "truncated"),
        (b"cos\nsys", "unterminated"),
        (b"S'abc\n.", "quoted"),
        (b"Ixyz\n.", "invalid argument"),
        (b"\x80\x02N", "no STOP"),
    ],
)
def test_errors_are_bounded_and_located(data: bytes, fragment: str) -> None:
    with pytest.raises(PickleParseError) as info:
        list(raw_ops(data))
    assert fragment in info.value.message
    assert 0 <= info.value.offset <= len(data)


def test_every_truncation_raises_parse_error_only() -> None:
    data = pickle.dumps(SAMPLE, protocol=4)
    for cut in range(0, len(data), 7):
        with pytest.raises(PickleParseError):
            for op in iter_ops(data[:cut]):
                assert op.offset < cut


def test_random_bytes_raise_parse_error_only() -> None:
    rnd = random.Random(1234)
    for _ in range(3000):
        data = rnd.randbytes(rnd.randrange(1, 64))
        try:
            for _op in raw_ops(data):
                pass
        except PickleParseError:
            continue


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_windowed_source_matches_bytes(monkeypatch: pytest.MonkeyPatch, protocol: int) -> None:
    # A tiny window exercises every refill path (straddling args, lines, payloads).
    monkeypatch.setattr(pickleops, "WINDOW", 16)
    data = pickle.dumps(SAMPLE, protocol=protocol)
    direct = _all_ops(data)
    windowed = []
    try:
        for op in iter_ops(BytesBlob(data)):
            windowed.append(op)
            if op.name == "STOP":
                break
    except PickleParseError:
        pass
    assert [(o.name, o.offset) for o in windowed] == [(o.name, o.offset) for o in direct]
    view = _ops_until_stop(memoryview(data))
    assert [(o.name, o.offset) for o in view] == [(o.name, o.offset) for o in direct]


def _ops_until_stop(src: memoryview) -> list[pickleops.Op]:
    out = []
    for op in iter_ops(src):
        out.append(op)
        if op.name == "STOP":
            break
    return out


def test_start_and_end_bound_the_parse() -> None:
    one = pickle.dumps([1, 2], protocol=2)
    two = pickle.dumps({"a": 1}, protocol=2)
    data = one + two
    names = [op.name for op in _all_ops(data[len(one) :])]
    assert names[0] == "PROTO"
    ops = []
    with pytest.raises(PickleParseError):
        for op in raw_ops(data, len(one), len(one) + 3):
            ops.append(op)
    assert len(ops) >= 1


@pytest.mark.parametrize(
    "data",
    [
        b"cos\nsystem\n(S'echo pwned'\ntR.",
        pickle.dumps({"a": [1, 2.5, "x"]}, protocol=0),
        pickle.dumps(SAMPLE, protocol=0),
        pickle.dumps(SAMPLE, protocol=1),
        pickle.dumps(("t", None), protocol=1),
        b"N.",
        b"I12\n.",
        b"(lp0\nI1\na.",
        # nullifAI: broken after the payload; loaders run the prefix, so it is a pickle.
        b"cos\nsystem\n(Vecho pwned\ntR\x00\xffgarbage-after-payload",
        b"(S'echo pwned'\nios\nsystem\n\x00garbage",
    ],
)
def test_plausible_accepts_protocol_0_and_1(data: bytes) -> None:
    assert plausible_pickle(data[:4096])


@pytest.mark.parametrize(
    "text",
    [
        "Sure, here is the model card for this repository.\n",
        "The quick brown fox jumps over the lazy dog.",
        "import os\nprint(os.getcwd())\n",
        "class Model(nn.Module):\n    pass\n",
        "def main():\n    return 0\n",
        "(see below) a list of things\n",
        "I think therefore I am.\n",
        "Note: this is text.\n",
        "Good morning\n",
        "Very good\nthanks\n",
        "# Title\n\nSome *markdown* here.\n",
        "a,b,c\n1,2,3\n",
        "license: apache-2.0\n",
        "cos is a function\n",
        "N/A\n",
        "STOP.",
        "0.1.0\n",
        "1\n",
        "([1, 2], 3)\n",
        "lorem ipsum dolor sit amet\n",
        "tokenizer_config\n",
        "pip install torch\n",
    ],
)
def test_plausible_rejects_text(text: str) -> None:
    assert not plausible_pickle(text.encode())


def test_plausible_rejects_json() -> None:
    doc = json.dumps({"architectures": ["LlamaForCausalLM"], "hidden_size": 4096}).encode()
    assert not plausible_pickle(doc)
    assert not plausible_pickle(b"[1, 2, 3]")


def test_plausible_accepts_long_pickle_cut_at_head() -> None:
    data = pickle.dumps([f"item{i}" for i in range(5000)], protocol=0)
    assert len(data) > 4096
    assert plausible_pickle(data[:4096])

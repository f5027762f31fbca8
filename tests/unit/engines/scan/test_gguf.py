"""GgufAnalyzer: facts of real-looking files, layout checks, templates, legacy files."""

from __future__ import annotations

import struct

from modelcustoms.artifacts.gguf import ValueType
from modelcustoms.core import Fact, Severity
from modelcustoms.engines.scan.gguf import GgufAnalyzer
from tests.conftest import ScanFiles, rule_ids
from tests.unit.artifacts.test_gguf import build_gguf
from tests.unit.engines.scan.test_templates import LLAMA3

S = ValueType.STRING
A = ValueType.ARRAY


def _scan(scan_files: ScanFiles, data: bytes, name: str = "model.gguf"):  # type: ignore[no-untyped-def]
    return scan_files({name: data}, analyzers=[GgufAnalyzer()])


def _facts(result) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {f.key: f.value for f in result.run.facts if isinstance(f, Fact)}


def _model(**kw: object) -> bytes:
    kvs = [
        ("general.architecture", S, "llama"),
        ("general.name", S, "Tiny Llama"),
        ("general.file_type", ValueType.UINT32, 15),
        ("tokenizer.ggml.tokens", A, (S, ["<unk>", "<s>", "</s>", *[f"t{i}" for i in range(200)]])),
        ("tokenizer.ggml.bos_token_id", ValueType.UINT32, 1),
        ("tokenizer.ggml.eos_token_id", ValueType.UINT32, 2),
        ("tokenizer.chat_template", S, LLAMA3),
    ]
    tensors = [
        ("token_embd.weight", (256, 8), 12),  # Q4_K
        ("blk.0.attn_q.weight", (256, 256), 14),  # Q6_K
        ("blk.0.ffn_norm.weight", (256,), 0),  # F32
        ("blk.0.x", (512, 2), 34),  # TQ1_0
        ("blk.0.y", (64,), 30),  # BF16
        ("blk.0.z", (64, 3), 23),  # IQ4_XS? 64 is not a multiple of 256 -> use IQ4_NL below
    ]
    tensors[-1] = ("blk.0.z", (64, 3), 20)  # IQ4_NL, block 32
    return build_gguf(kw.pop("kvs", kvs), kw.pop("tensors", tensors), **kw)  # type: ignore[arg-type]


def test_benign_model_has_facts_and_no_findings(scan_files: ScanFiles) -> None:
    res = _scan(scan_files, _model())
    assert res.run.findings == ()
    facts = _facts(res)
    assert facts["gguf.architecture"] == "llama" and facts["gguf.name"] == "Tiny Llama"
    assert facts["gguf.file_type"] == {"id": 15, "name": "MOSTLY_Q4_K_M"}
    assert facts["gguf.tensor_count"] == 6 and facts["gguf.chat_template_present"] is True
    assert facts["gguf.version"] == 3 and facts["gguf.byte_order"] == "little"
    assert facts["gguf.parameters"] == 256 * 8 + 256 * 256 + 256 + 1024 + 64 + 192


def test_named_templates_are_checked(scan_files: ScanFiles) -> None:
    evil = "{{ cycler.__init__.__globals__.os.popen('echo pwned').read() }}"
    data = _model(
        kvs=[("tokenizer.chat_template", S, LLAMA3), ("tokenizer.chat_template.tool_use", S, evil)]
    )
    res = _scan(scan_files, data)
    (f,) = [
        f
        for f in res.run.findings
        if f.rule_id == "template.sandbox-escape" and f.severity is Severity.CRITICAL
    ]
    assert f.evidence[0].location.pointer == "kv tokenizer.chat_template.tool_use"
    assert _facts(res)["gguf.chat_templates"] == [
        "tokenizer.chat_template",
        "tokenizer.chat_template.tool_use",
    ]


def test_template_not_a_string(scan_files: ScanFiles) -> None:
    res = _scan(scan_files, _model(kvs=[("tokenizer.chat_template", ValueType.UINT32, 7)]))
    assert "gguf.malformed" in rule_ids(res)


def test_truncated_file(scan_files: ScanFiles) -> None:
    data = _model()
    res = _scan(scan_files, data[: len(data) - 200])
    assert rule_ids(res) == {"gguf.truncated"}


def test_truncated_header(scan_files: ScanFiles) -> None:
    data = _model()
    res = _scan(scan_files, data[:100])
    assert rule_ids(res) == {"gguf.malformed"}
    assert _facts(res)["gguf.version"] == 3


def test_offset_outside_file_is_high(scan_files: ScanFiles) -> None:
    data = build_gguf(
        [], [("a", (32,), 0), ("b", (32,), 0)], offsets=[0, 1 << 40], data=b"\0" * 256
    )
    res = _scan(scan_files, data)
    assert "gguf.tensor-bounds" in rule_ids(res)
    assert "gguf.tensor-layout" in rule_ids(res)


def test_overlapping_tensors(scan_files: ScanFiles) -> None:
    data = build_gguf([], [("a", (64,), 0), ("b", (64,), 0)], offsets=[0, 64], data=b"\0" * 256)
    res = _scan(scan_files, data)
    # 64 F32 = 256 bytes; b at 64 overlaps a.
    assert "gguf.tensor-overlap" in rule_ids(res)


def test_misaligned_and_gap(scan_files: ScanFiles) -> None:
    data = build_gguf([], [("a", (8,), 0), ("b", (8,), 0)], offsets=[0, 40], data=b"\0" * 96)
    assert "gguf.tensor-layout" in rule_ids(_scan(scan_files, data))
    data = build_gguf([], [("a", (8,), 0), ("b", (8,), 0)], offsets=[0, 4096], data=b"\0" * 4128)
    ids = rule_ids(_scan(scan_files, data))
    assert {"gguf.hidden-data", "gguf.tensor-layout"} <= ids


def test_trailing_bytes(scan_files: ScanFiles) -> None:
    data = build_gguf([], [("a", (8,), 0)]) + b"PK\x03\x04 hidden payload" * 10
    res = _scan(scan_files, data)
    assert rule_ids(res) == {"gguf.hidden-data"}
    # The hidden bytes are analysed in their own right.
    assert [a.path for a in res.artifacts] == ["model.gguf", "model.gguf!trailing-data"]


def test_impossible_lengths_are_high_short_reads_medium(scan_files: ScanFiles) -> None:
    huge = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1) + b"k"
    huge += struct.pack("<IIQ", 9, 8, 10**9) + b"\0" * 64
    assert rule_ids(_scan(scan_files, huge)) == {"gguf.length-overflow"}
    assert rule_ids(_scan(scan_files, _model()[:3000])) == {"gguf.malformed"}


def test_shape_and_type_problems(scan_files: ScanFiles) -> None:
    data = build_gguf([], [("a", (32,), 0)], data=b"\0" * 128)
    raw = bytearray(data)
    # Rewrite the row length to 100 with a Q4_K type: not a whole number of 256-blocks.
    idx = raw.index(b"a") + 1
    struct.pack_into("<IQIQ", raw, idx, 1, 100, 12, 0)
    assert "gguf.tensor-shape" in rule_ids(_scan(scan_files, bytes(raw)))
    struct.pack_into("<IQIQ", raw, idx, 1, 32, 4, 0)  # Q4_2: removed before GGUF
    assert "gguf.unknown-type" in rule_ids(_scan(scan_files, bytes(raw)))
    struct.pack_into("<IQIQ", raw, idx, 1, 2**63 + 5, 0, 0)
    assert "gguf.tensor-shape" in rule_ids(_scan(scan_files, bytes(raw)))


def test_size_overflow_is_tensor_bounds(scan_files: ScanFiles) -> None:
    data = build_gguf([], [("a", (2**62, 2**62), 0)], offsets=[0], data=b"\0" * 64)
    assert "gguf.tensor-bounds" in rule_ids(_scan(scan_files, data))


def test_duplicate_keys_and_tensor_names(scan_files: ScanFiles) -> None:
    data = build_gguf(
        [("tokenizer.chat_template", S, "{{ 1 }}"), ("tokenizer.chat_template", S, "{{ 2 }}")],
        [("w", (8,), 0), ("w", (8,), 0)],
    )
    res = _scan(scan_files, data)
    dup = [f for f in res.run.findings if f.rule_id == "gguf.duplicate-key"]
    assert len(dup) == 2 and all(f.severity is Severity.HIGH for f in dup)


def test_big_endian_model(scan_files: ScanFiles) -> None:
    data = build_gguf([("general.architecture", S, "llama")], [("w", (8,), 0)], big_endian=True)
    res = _scan(scan_files, data)
    assert res.run.findings == ()
    assert _facts(res)["gguf.byte_order"] == "big"


def test_legacy_ggml_is_skipped_with_fact(scan_files: ScanFiles) -> None:
    res = _scan(scan_files, b"tjgg" + b"\0" * 64, name="old.bin")
    assert res.run.findings == ()
    assert _facts(res)["gguf.legacy_magic"] == "tjgg"
    assert [s.reason for s in res.run.skips] == ["legacy-format"]
    assert res.run.status.value == "partial"


def test_bad_version_is_malformed(scan_files: ScanFiles) -> None:
    res = _scan(scan_files, b"GGUF" + struct.pack("<IQQ", 7, 0, 0))
    assert rule_ids(res) == {"gguf.malformed"}

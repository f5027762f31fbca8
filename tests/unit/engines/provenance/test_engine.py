"""The provenance engine end to end on synthetic subjects."""

from __future__ import annotations

import hashlib
from pathlib import Path

from modelcustoms.core import ConfidenceLevel, Relation, Severity
from modelcustoms.engines.provenance import RULES, ProvenanceEngine
from modelcustoms.kb import default_kb
from tests.unit.engines.provenance.helpers import (
    FALCON3_10B,
    QWEN25_7B,
    QWEN25_TOKENS,
    facts,
    llama_config,
    run,
    write,
)

CARD_SAYS_LLAMA = b"---\nbase_model: meta-llama/Llama-3.1-8B\nlicense: apache-2.0\n---\n# Sun 10B\n"


def test_renamed_falcon3_with_a_llama_card_is_a_declared_mismatch(tmp_path: Path) -> None:
    tok = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "added_tokens_decoder": {"0": {"content": ">>TITLE<<"}, "11": {"content": "<|endoftext|>"}},
        "eos_token": "<|endoftext|>",
        "additional_special_tokens": [">>ABSTRACT<<", ">>INTRODUCTION<<"],
    }
    result = run(
        tmp_path,
        {"config.json": FALCON3_10B, "tokenizer_config.json": tok, "README.md": CARD_SAYS_LLAMA},
    )
    got = facts(result)
    assert got["identity.family"] == "falcon3" and got["identity.release"] == "Falcon3-10B"
    assert got["identity.level"] == ConfidenceLevel.SIGNATURES.value
    assert got["origin.country"] == "AE" and got["origin.publisher"] == "tii"
    mism = [f for f in result.findings if f.rule_id == "provenance.declared-mismatch"]
    assert len(mism) == 1 and mism[0].severity is Severity.HIGH
    assert "Falcon3-10B" in mism[0].message and "meta-llama/Llama-3.1-8B" in mism[0].message
    assert {r.id for r in result.rules} == {"provenance.declared-mismatch"}


def test_unknown_model_says_what_was_seen_and_claims_nothing(tmp_path: Path) -> None:
    cfg = {
        "architectures": ["TinyLM"],
        "model_type": "tiny",
        "hidden_size": 320,
        "num_hidden_layers": 5,
        "num_attention_heads": 5,
        "vocab_size": 777,
    }
    result = run(tmp_path, {"config.json": cfg, "README.md": b"# Tiny\n"})
    got = facts(result)
    assert "identity.family" not in got and "origin.country" not in got
    assert result.lineage == ()
    (unknown,) = [f for f in result.findings if f.rule_id == "provenance.unknown"]
    assert unknown.severity is Severity.INFO
    assert (
        "hidden=320" in unknown.message
        and "vocab=777" in unknown.message
        and "TinyLM" in unknown.message
    )


def test_nothing_to_read_is_unknown(tmp_path: Path) -> None:
    result = run(tmp_path, {"notes.txt": b"hello"})
    assert [f.rule_id for f in result.findings] == ["provenance.unknown"]
    assert result.analysed == 0


def test_class_names_lie_yi_deepseek_coder_kimi(tmp_path: Path) -> None:
    yi = llama_config(
        hidden_size=4096,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=4,
        intermediate_size=11008,
        vocab_size=64000,
        rope_theta=5000000.0,
    )
    assert facts(run(tmp_path / "yi", {"config.json": yi}))["identity.family"] == "yi"
    coder = llama_config(
        hidden_size=4096,
        num_hidden_layers=32,
        num_attention_heads=32,
        intermediate_size=11008,
        vocab_size=32256,
        rope_theta=100000,
    )
    got = facts(run(tmp_path / "dc", {"config.json": coder}))
    assert got["identity.family"] == "deepseek-coder" and got["origin.country"] == "CN"
    kimi = {
        "architectures": ["DeepseekV3ForCausalLM"],
        "model_type": "kimi_k2",
        "hidden_size": 7168,
        "num_hidden_layers": 61,
        "num_attention_heads": 64,
        "num_key_value_heads": 64,
        "intermediate_size": 18432,
        "vocab_size": 163840,
        "n_routed_experts": 384,
    }
    assert facts(run(tmp_path / "k", {"config.json": kimi}))["identity.family"] == "kimi"


def test_qwen2_and_qwen25_are_told_apart_by_tokens(tmp_path: Path) -> None:
    got = facts(
        run(tmp_path / "a", {"config.json": QWEN25_7B, "tokenizer_config.json": QWEN25_TOKENS})
    )
    assert got["identity.family"] == "qwen2.5" and got["identity.level"] == "signatures"
    plain = {
        "added_tokens_decoder": {
            "151643": {"content": "<|endoftext|>"},
            "151644": {"content": "<|im_start|>"},
            "151646": {"content": "<extra_0>"},
        }
    }
    got = facts(run(tmp_path / "b", {"config.json": QWEN25_7B, "tokenizer_config.json": plain}))
    assert got["identity.family"] == "qwen2"
    # Without a tokenizer the two generations cannot be told apart: never "signatures".
    got = facts(run(tmp_path / "c", {"config.json": QWEN25_7B}))
    assert got["identity.level"] == "partial-signatures" and got["origin.country"] == "CN"


def test_evidence_is_bound_to_file_digests_and_kb_rows(tmp_path: Path) -> None:
    result = run(tmp_path, {"config.json": FALCON3_10B})
    digest = hashlib.sha256((tmp_path / "config.json").read_bytes()).hexdigest()
    fam_fact = next(f for f in result.facts if f.key == "identity.family")
    locs = {e.location.artifact: e.location for e in fam_fact.evidence}
    assert locs["config.json"].sha256 == digest
    kb = default_kb()
    assert locs["kb/families.json"].sha256 == kb.digests["families.json"]
    assert locs["kb/families.json"].pointer is not None
    country = next(f for f in result.facts if f.key == "origin.country")
    assert "tii.ae" in (country.evidence[0].excerpt or "")


def test_lineage_chain_through_a_declared_intermediate_and_kb_base(tmp_path: Path) -> None:
    cfg = {
        "architectures": ["VisionWrap"],
        "language": {
            "_name_or_path": "HuggingFaceH4/zephyr-7b-beta",
            "architectures": ["MistralForCausalLM"],
            "hidden_size": 4096,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "intermediate_size": 14336,
            "vocab_size": 32000,
        },
    }
    tok = {
        "added_tokens_decoder": {
            "0": {"content": "<unk>"},
            "1": {"content": "<s>"},
            "2": {"content": "</s>"},
        }
    }
    result = run(tmp_path, {"config.json": cfg, "tokenizer_config.json": tok})
    chain = [(c.subject, c.base, c.publisher, c.country, c.level) for c in result.lineage]
    assert chain[0][:4] == ("subject", "HuggingFaceH4/zephyr-7b-beta", "hugging-face", "US")
    assert chain[0][4] is ConfidenceLevel.DECLARED
    assert chain[1][:4] == ("HuggingFaceH4/zephyr-7b-beta", "mistral", "mistral", "FR")
    assert facts(result)["origin.chain_countries"] == ["FR", "US"]


def test_derived_family_needs_its_own_markers(tmp_path: Path) -> None:
    llama3_8b = llama_config(
        hidden_size=4096,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        intermediate_size=14336,
        vocab_size=128256,
        rope_theta=500000.0,
    )
    assert facts(run(tmp_path / "a", {"config.json": llama3_8b}))["identity.family"] == "llama3"
    vlm = {
        **llama3_8b,
        "query_num": 96,
        "slice_mode": True,
        "_name_or_path": "someone/llama3-vision",
    }
    result = run(tmp_path / "b", {"config.json": vlm})
    got = facts(result)
    assert got["identity.family"] == "minicpm-v" and got["origin.country"] == "CN"
    assert [c.base for c in result.lineage] == ["minicpm-v", "llama3"]
    mism = [f for f in result.findings if f.rule_id == "provenance.declared-mismatch"]
    assert mism and mism[0].severity is Severity.HIGH and "built on" in mism[0].message


def test_declared_only_adapter(tmp_path: Path) -> None:
    result = run(tmp_path, {"adapter_config.json": {"base_model_name_or_path": "Qwen/Qwen2.5-7B"}})
    got = facts(result)
    assert got["identity.family"] == "qwen2.5" and got["identity.level"] == "declared"
    assert got["identity.relation"] == Relation.ADAPTER.value
    assert "provenance.declared-only" in {f.rule_id for f in result.findings}


def test_malformed_files_are_findings_and_the_rest_is_still_read(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "config.json": FALCON3_10B,
            "tokenizer_config.json": b"{nope",
            "model.safetensors.index.json": {"weight_map": 3},
            "special_tokens_map.json": b"[[[[" * 100_000,
        },
    )
    bad = [f for f in result.findings if f.rule_id == "provenance.malformed"]
    assert len(bad) == 3 and all(f.severity is Severity.MEDIUM for f in bad)
    assert facts(result)["identity.family"] == "falcon3"
    assert result.status.value == "partial"


def test_oversized_metadata_is_skipped(tmp_path: Path) -> None:
    openers = write(tmp_path, {"config.json": b" " * (9 * 1024 * 1024)})
    result = ProvenanceEngine().run(openers)
    assert [s.reason for s in result.skips] == ["too-large"]


def test_rule_catalog_is_well_formed() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids)) and all(i.startswith("provenance.") for i in ids)


def test_truncated_gguf_is_malformed_but_keeps_what_was_read(tmp_path: Path) -> None:
    from modelcustoms.artifacts.gguf import ValueType
    from tests.unit.artifacts.test_gguf import build_gguf

    kvs = [
        ("general.architecture", ValueType.STRING, "llama"),
        ("tokenizer.ggml.pre", ValueType.STRING, "falcon3"),
        ("general.name", ValueType.STRING, "x" * 100),
    ]
    data = build_gguf(kvs)[:-60]
    result = run(tmp_path, {"m.gguf": data})
    assert "provenance.malformed" in {f.rule_id for f in result.findings}
    fp = facts(result)["tokenizer.fingerprint"]
    assert fp["pre"] == "falcon3"


def test_title_only_disagreement_is_low(tmp_path: Path) -> None:
    card = b"# Better than Llama 3\n"
    result = run(tmp_path, {"config.json": FALCON3_10B, "README.md": card})
    (mism,) = [f for f in result.findings if f.rule_id == "provenance.declared-mismatch"]
    assert mism.severity is Severity.LOW

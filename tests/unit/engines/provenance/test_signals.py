"""Each signal on its own: card, architecture signature, tokenizer fingerprint, headers."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from modelcustoms.artifacts.blob import BytesBlob
from modelcustoms.artifacts.gguf import ValueType
from modelcustoms.artifacts.safetensors_header import read_safetensors_header
from modelcustoms.engines.provenance.architecture import extract_signature, match_release
from modelcustoms.engines.provenance.card import parse_card
from modelcustoms.engines.provenance.declared import collect_declared, family_of_name
from modelcustoms.engines.provenance.metadata import read_metadata
from modelcustoms.engines.provenance.tokenizer import fingerprint
from modelcustoms.kb import default_kb
from tests.unit.artifacts.test_gguf import build_gguf
from tests.unit.engines.provenance.helpers import FALCON3_10B, QWEN25_7B, write


def test_card_front_matter_and_title() -> None:
    text = (
        "---\nlicense: apache-2.0\nbase_model:\n- Qwen/Qwen2.5-14B\n- 'org/other'\n"
        "tags: [merge, mergekit]\nmodel-index:\n  - name: x\n---\n\n# **My Model** 7B\nbody\n"
    )
    front, title = parse_card(text)
    assert front["license"] == "apache-2.0"
    assert front["base_model"] == ["Qwen/Qwen2.5-14B", "org/other"]
    assert front["tags"] == ["merge", "mergekit"]
    assert title == "My Model 7B"
    assert parse_card("no front matter\n<h1 align=center>Pygmalion 7B</h1>") == ({}, "Pygmalion 7B")
    assert parse_card("---\nunterminated: yes\n") == ({}, None)


def test_glm_config_keys_and_nested_text_config(tmp_path: Path) -> None:
    glm = {
        "architectures": ["ChatGLMModel"],
        "num_layers": 28,
        "hidden_size": 4096,
        "num_attention_heads": 32,
        "multi_query_group_num": 2,
        "ffn_hidden_size": 13696,
        "padded_vocab_size": 65024,
    }
    sig = extract_signature(read_metadata(write(tmp_path, {"config.json": glm})))
    assert sig.dims["layers"] == 28 and sig.dims["kv_heads"] == 2 and sig.dims["vocab"] == 65024
    nested = {"architectures": ["X"], "text_config": {"hidden_size": 5376, "num_hidden_layers": 62}}
    sig = extract_signature(read_metadata(write(tmp_path / "n", {"config.json": nested})))
    assert sig.dims["hidden"] == 5376 and sig.pointer == "/text_config"


def test_params_json_and_missing_kv_heads(tmp_path: Path) -> None:
    params = {
        "dim": 5120,
        "n_layers": 40,
        "n_heads": 32,
        "n_kv_heads": 8,
        "hidden_dim": 32768,
        "vocab_size": 131072,
        "rope_theta": 1e9,
    }
    sig = extract_signature(read_metadata(write(tmp_path, {"params.json": params})))
    assert (sig.dims["hidden"], sig.dims["intermediate"], sig.dims["kv_heads"]) == (5120, 32768, 8)
    mha = {"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32}
    sig = extract_signature(read_metadata(write(tmp_path / "m", {"config.json": mha})))
    assert sig.dims["kv_heads"] == 32  # HF default: as many KV heads as heads
    mqa = {**mha, "multi_query": True}
    sig = extract_signature(read_metadata(write(tmp_path / "q", {"config.json": mqa})))
    assert sig.dims["kv_heads"] == 1


def test_release_fit_exact_partial_mismatch(tmp_path: Path) -> None:
    kb = default_kb()
    falcon3 = kb.family("falcon3")
    assert falcon3 is not None
    sig = extract_signature(read_metadata(write(tmp_path, {"config.json": FALCON3_10B})))
    fit = match_release(sig, falcon3)
    assert fit.fit == "exact" and fit.release is not None and fit.release.name == "Falcon3-10B"
    other = {**FALCON3_10B, "intermediate_size": 1234}
    sig = extract_signature(read_metadata(write(tmp_path / "p", {"config.json": other})))
    assert match_release(sig, falcon3).fit == "partial"
    llama2 = kb.family("llama2")
    assert llama2 is not None and match_release(sig, llama2).fit == "mismatch"


def test_fused_mlp_width_is_a_weaker_match(tmp_path: Path) -> None:
    kb = default_kb()
    qwen2 = kb.family("qwen2")
    assert qwen2 is not None
    fused = {**QWEN25_7B, "intermediate_size": 2 * 18944}
    sig = extract_signature(read_metadata(write(tmp_path, {"config.json": fused})))
    fit = match_release(sig, qwen2)
    assert fit.fit == "exact" and fit.fused


def test_tokenizer_ids_specials_and_config_ids(tmp_path: Path) -> None:
    files = {
        "tokenizer_config.json": {
            "tokenizer_class": "LlamaTokenizer",
            "added_tokens_decoder": {
                "32000": {"content": "<|endoftext|>"},
                "x": {"content": "ignored"},
            },
        },
        "special_tokens_map.json": {"bos_token": {"content": "<|begin_of_text|>"}},
        "config.json": {"bos_token_id": 128000},
        "chat_template.jinja": b"{{ '<|start_header_id|>' }}",
    }
    tp = fingerprint(read_metadata(write(tmp_path, files)))
    assert tp.ids[32000] == "<|endoftext|>" and tp.ids[128000] == "<|begin_of_text|>"
    assert tp.tokenizer_class == "LlamaTokenizer" and "<|start_header_id|>" in tp.chat_template


def test_vocab_hash_survives_added_tokens(tmp_path: Path) -> None:
    base = {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}
    more = {**base, "added_tokens": [{"id": 3, "content": "<|new|>"}]}
    one = fingerprint(read_metadata(write(tmp_path / "1", {"tokenizer.json": base})))
    two = fingerprint(read_metadata(write(tmp_path / "2", {"tokenizer.json": more})))
    assert one.vocab_hash == two.vocab_hash and one.merges_hash == two.merges_hash
    assert (one.vocab_len, two.vocab_len) == (3, 4) and two.ids[3] == "<|new|>"


def test_gguf_signature_and_pre(tmp_path: Path) -> None:
    kvs = [
        ("general.architecture", ValueType.STRING, "qwen2"),
        ("general.name", ValueType.STRING, "Qwen2.5 7B Instruct"),
        ("qwen2.embedding_length", ValueType.UINT32, 3584),
        ("qwen2.block_count", ValueType.UINT32, 28),
        ("qwen2.attention.head_count", ValueType.UINT32, 28),
        ("qwen2.attention.head_count_kv", ValueType.UINT32, 4),
        ("qwen2.feed_forward_length", ValueType.UINT32, 18944),
        ("tokenizer.ggml.pre", ValueType.STRING, "qwen2"),
        ("tokenizer.ggml.tokens", ValueType.ARRAY, (ValueType.STRING, ["a", "b", "<|x|>"])),
    ]
    meta = read_metadata(write(tmp_path, {"model.gguf": build_gguf(kvs)}))
    sig, tp = extract_signature(meta), fingerprint(meta)
    assert sig.model_type == "qwen2" and sig.dims["hidden"] == 3584 and sig.dims["vocab"] == 3
    assert tp.pre == "qwen2" and tp.ids[2] == "<|x|>"
    assert [d.value for d in collect_declared(meta)] == ["Qwen2.5 7B Instruct"]


def test_safetensors_header_shapes_and_bounds(tmp_path: Path) -> None:
    header = {
        "model.embed_tokens.weight": {
            "dtype": "BF16",
            "shape": [152064, 3584],
            "data_offsets": [0, 0],
        },
        "model.layers.27.mlp.up_proj.weight": {
            "dtype": "BF16",
            "shape": [1, 1],
            "data_offsets": [0, 0],
        },
        "__metadata__": {"format": "pt"},
    }
    raw = json.dumps(header).encode()
    data = struct.pack("<Q", len(raw)) + raw
    sig = extract_signature(read_metadata(write(tmp_path, {"model.safetensors": data})))
    assert (sig.dims["vocab"], sig.dims["hidden"], sig.dims["layers"]) == (152064, 3584, 28)
    lying = struct.pack("<Q", 10**12) + b"{}"
    assert "remain" in (read_safetensors_header(BytesBlob(lying)).error or "")
    assert read_safetensors_header(BytesBlob(b"\x02\x00\x00\x00\x00\x00\x00\x00[]")).error


def test_declared_names_resolve_by_repo_and_pattern() -> None:
    kb = default_kb()
    fam, rel = family_of_name(kb, "mistralai/Mistral-Small-24B-Base-2501")
    assert fam is not None and fam.id == "mistral-tekken" and rel is not None
    assert rel.version == "small-3"

    def fid(name: str) -> str | None:
        found = family_of_name(kb, name)[0]
        return found.id if found else None

    assert fid("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B") == "deepseek-r1-distill"
    assert fid("Llama 2 13b Chat Norwegian") == "llama2"
    assert fid("my-own-model") is None


def test_local_path_declared_base_keeps_its_last_part(tmp_path: Path) -> None:
    files = {"adapter_config.json": {"base_model_name_or_path": "/root/models/glm-4-9b-chat"}}
    declared = collect_declared(read_metadata(write(tmp_path, files)))
    assert declared[0].value == "glm-4-9b-chat" and "local path" in declared[0].source

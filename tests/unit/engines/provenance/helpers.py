"""Build subjects from {relpath: bytes | dict} and run the provenance engine over them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelcustoms.artifacts.blob import Opener
from modelcustoms.core import EngineRun
from modelcustoms.engines.provenance import ProvenanceEngine


def write(tmp: Path, files: dict[str, Any]) -> list[Opener]:
    """Write the files and return their openers (dicts are written as JSON)."""
    out = []
    for rel, content in files.items():
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(content).encode() if isinstance(content, dict | list) else content
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        out.append(Opener.local(rel, p))
    return out


def run(tmp: Path, files: dict[str, Any]) -> EngineRun:
    """Run the engine over the files."""
    return ProvenanceEngine().run(write(tmp, files), subject="subject")


def facts(result: EngineRun) -> dict[str, Any]:
    """The facts of a run by key."""
    return {f.key: f.value for f in result.facts}


def llama_config(**over: Any) -> dict[str, Any]:
    """A config.json with Llama-style keys."""
    cfg: dict[str, Any] = {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}
    cfg.update(over)
    return cfg


FALCON3_10B = llama_config(
    hidden_size=3072,
    num_hidden_layers=40,
    num_attention_heads=12,
    num_key_value_heads=4,
    intermediate_size=23040,
    vocab_size=131072,
    rope_theta=1000042.0,
    eos_token_id=11,
)
QWEN25_7B = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "hidden_size": 3584,
    "num_hidden_layers": 28,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "intermediate_size": 18944,
    "vocab_size": 152064,
    "rope_theta": 1000000.0,
}
QWEN25_TOKENS = {
    "tokenizer_class": "Qwen2Tokenizer",
    "added_tokens_decoder": {
        str(i): {"content": c}
        for i, c in {
            151643: "<|endoftext|>",
            151644: "<|im_start|>",
            151645: "<|im_end|>",
            151646: "<|object_ref_start|>",
            151657: "<tool_call>",
            151659: "<|fim_prefix|>",
        }.items()
    },
}

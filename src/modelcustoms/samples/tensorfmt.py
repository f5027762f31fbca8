"""Writers for GGUF (v3) and safetensors, including the malformed variants attackers use."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

# GGUF metadata value types.
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
GGML_F32, GGML_F16 = 0, 1


def gguf_str(s: str | bytes) -> bytes:
    """A GGUF string: u64 length, bytes."""
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def _gguf_value(v: Any) -> tuple[int, bytes]:
    if isinstance(v, bool):
        return BOOL, bytes([v])
    if isinstance(v, int):
        return (U32, struct.pack("<I", v)) if 0 <= v < 2**32 else (I64, struct.pack("<q", v))
    if isinstance(v, float):
        return F32, struct.pack("<f", v)
    if isinstance(v, str):
        return STRING, gguf_str(v)
    if isinstance(v, RawValue):
        return v.vtype, v.data
    assert isinstance(v, list)
    if not v:
        return ARRAY, struct.pack("<IQ", STRING, 0)
    etype = _gguf_value(v[0])[0]
    return ARRAY, struct.pack("<IQ", etype, len(v)) + b"".join(_gguf_value(x)[1] for x in v)


@dataclass
class RawValue:
    """A metadata value written verbatim (for lying length fields)."""

    vtype: int
    data: bytes


@dataclass
class GGUFTensor:
    """A tensor info record and its data."""

    name: str
    dims: tuple[int, ...]
    data: bytes
    ggml_type: int = GGML_F32
    offset: int | None = None
    """Offset written in the header (None: the real one)."""


@dataclass
class GGUF:
    """A GGUF file: ordered metadata and tensors."""

    metadata: dict[str, Any]
    tensors: list[GGUFTensor] = field(default_factory=list)
    alignment: int = 32

    def build(self) -> bytes:
        """Header, metadata, tensor infos, padding, tensor data."""
        out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), len(self.metadata)))
        for k, v in self.metadata.items():
            vtype, data = _gguf_value(v)
            out += gguf_str(k) + struct.pack("<I", vtype) + data
        offsets, pos = [], 0
        for t in self.tensors:
            offsets.append(pos)
            pos += len(t.data) + (-len(t.data)) % self.alignment
        for t, off in zip(self.tensors, offsets, strict=True):
            out += gguf_str(t.name) + struct.pack("<I", len(t.dims))
            out += b"".join(struct.pack("<Q", d) for d in t.dims)
            out += struct.pack("<IQ", t.ggml_type, off if t.offset is None else t.offset)
        out += b"\0" * ((-len(out)) % self.alignment)
        for t in self.tensors:
            out += t.data + b"\0" * ((-len(t.data)) % self.alignment)
        return bytes(out)


def llama_metadata(arch: str, name: str, template: str, tokens: list[str]) -> dict[str, Any]:
    """The metadata llama.cpp's convert script writes for a small model."""
    return {
        "general.architecture": arch,
        "general.type": "model",
        "general.name": name,
        "general.file_type": 1,
        "general.quantization_version": 2,
        f"{arch}.block_count": 2,
        f"{arch}.context_length": 4096,
        f"{arch}.embedding_length": 8,
        f"{arch}.feed_forward_length": 16,
        f"{arch}.attention.head_count": 2,
        f"{arch}.attention.head_count_kv": 2,
        f"{arch}.rope.freq_base": 10000.0,
        f"{arch}.attention.layer_norm_rms_epsilon": 1e-05,
        "tokenizer.ggml.model": "gpt2" if arch == "qwen2" else "llama",
        "tokenizer.ggml.pre": "qwen2" if arch == "qwen2" else "llama-bpe",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": [1] * len(tokens),
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
        "tokenizer.chat_template": template,
    }


# -- safetensors -------------------------------------------------------------------------

_ST_SIZE = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1, "BOOL": 1, "F64": 8}


def safetensors(
    tensors: dict[str, tuple[str, tuple[int, ...], bytes]],
    metadata: dict[str, str] | None = None,
    *,
    header_override: bytes | None = None,
    trailing: bytes = b"",
    declared_len: int | None = None,
) -> bytes:
    """A safetensors file (header padded with spaces to 8 bytes, like the reference writer)."""
    header: dict[str, Any] = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = bytearray()
    # The reference writer orders tensors by dtype size (largest first), then by name.
    order = sorted(tensors, key=lambda n: (-_ST_SIZE[tensors[n][0]], n))
    for name in order:
        dt, shape, raw = tensors[name]
        n = 1
        for d in shape:
            n *= d
        assert len(raw) == n * _ST_SIZE[dt], name
        header[name] = {
            "dtype": dt,
            "shape": list(shape),
            "data_offsets": [len(data), len(data) + len(raw)],
        }
        data += raw
    hb = (
        header_override
        if header_override is not None
        else json.dumps(header, separators=(",", ":")).encode()
    )
    hb += b" " * ((-len(hb)) % 8)
    length = len(hb) if declared_len is None else declared_len
    return struct.pack("<Q", length) + hb + bytes(data) + trailing

"""GGUF and safetensors samples, benign and hostile."""

from __future__ import annotations

import struct
from collections.abc import Iterator

from modelcustoms.samples import templates
from modelcustoms.samples.hostile_pickles import PICKLE_TECHNIQUES
from modelcustoms.samples.items import Item, Plan, one
from modelcustoms.samples.libs import array
from modelcustoms.samples.tensorfmt import GGUF, STRING, U8, GGUFTensor, RawValue, llama_metadata
from modelcustoms.samples.tensorfmt import safetensors as st_file


def _f32(plan: Plan, *shape: int) -> bytes:
    return array("f4", tuple(shape), plan.rng).data


def _tokens(plan: Plan, n: int) -> list[str]:
    alphabet = "abcdefghijklmnopqrstuvwxyzĠĊ0123456789"
    base = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    return base + [
        "".join(plan.rng.choice(alphabet) for _ in range(plan.rng.randrange(1, 7)))
        for _ in range(n)
    ]


def _gguf(plan: Plan, template: str) -> GGUF:
    arch = plan.rng.choice(["llama", "qwen2"])
    meta = llama_metadata(
        arch, f"zoo-{arch}-tiny", template, _tokens(plan, plan.rng.randrange(20, 200))
    )
    tensors = [
        GGUFTensor("token_embd.weight", (8, 16), _f32(plan, 16, 8)),
        GGUFTensor("output_norm.weight", (8,), _f32(plan, 8)),
    ]
    return GGUF(meta, tensors)


def gguf(plan: Plan) -> Iterator[Item]:
    """GGUF files with real-world chat templates; hostile templates and lying headers."""
    for i in range(plan.n(2, 14)):
        name = list(templates.BENIGN)[i % len(templates.BENIGN)]
        yield one(
            "model.gguf",
            _gguf(plan, templates.BENIGN[name]).build(),
            "benign",
            "benign.gguf",
            "gguf",
        )
    for tmpl in [templates.SSTI, templates.SSTI_CYCLER][: plan.n(1, 2)]:
        yield one(
            "model.gguf",
            _gguf(plan, tmpl).build(),
            "hostile",
            "gguf.template-ssti",
            "gguf",
            templates.SSTI_REF,
        )
    yield one(
        "model.gguf",
        _gguf(plan, templates.BACKDOOR).build(),
        "hostile",
        "gguf.template-backdoor",
        "gguf",
        templates.BACKDOOR_REF,
    )
    ref = "https://github.com/ggml-org/llama.cpp/security/advisories"
    g = _gguf(plan, templates.CHATML)
    g.metadata["tokenizer.ggml.merges"] = RawValue(
        9, struct.pack("<IQ", STRING, 1_000_000_000) + b"\0" * 64
    )
    yield one("model.gguf", g.build(), "hostile", "gguf.huge-array", "gguf", ref)
    if plan.full:
        g = _gguf(plan, templates.CHATML)
        g.metadata["general.description"] = RawValue(
            STRING, struct.pack("<Q", 20 * 1024**3) + b"x" * 64
        )
        yield one("model.gguf", g.build(), "hostile", "gguf.huge-string", "gguf", ref)
        g = _gguf(plan, templates.CHATML)
        g.metadata["general.flags"] = RawValue(9, struct.pack("<IQ", U8, 2**40))
        yield one("model.gguf", g.build(), "hostile", "gguf.huge-array", "gguf", ref)
    g = _gguf(plan, templates.CHATML)
    g.tensors[1].offset = 1 << 40
    yield one("model.gguf", g.build(), "hostile", "gguf.tensor-offset-oob", "gguf", ref)


def _entry(n: int, begin: int, end: int) -> bytes:
    return f'{{"dtype":"F32","shape":[{n}],"data_offsets":[{begin},{end}]}}'.encode()


def safetensors(plan: Plan) -> Iterator[Item]:
    """safetensors with several dtypes and metadata; hostile headers and hidden data."""

    def tensors() -> dict[str, tuple[str, tuple[int, ...], bytes]]:
        r = plan.rng
        out: dict[str, tuple[str, tuple[int, ...], bytes]] = {}
        for i in range(r.randrange(1, 5)):
            dt = r.choice(["F32", "F16", "BF16", "I64", "U8"])
            shape = (r.randrange(1, 6), r.randrange(1, 6))
            size = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "U8": 1}[dt] * shape[0] * shape[1]
            out[f"model.layers.{i}.weight"] = (
                dt,
                shape,
                bytes(r.randrange(256) for _ in range(size)),
            )
        return out

    for i in range(plan.n(2, 16)):
        meta = {"format": "pt"} if i % 3 else None
        yield one(
            "model.safetensors",
            st_file(tensors(), meta),
            "benign",
            "benign.safetensors",
            "safetensors",
        )
    ref = "https://github.com/huggingface/safetensors/security/advisories"
    t = tensors()
    yield one(
        "model.safetensors",
        st_file(t, declared_len=1 << 40),
        "hostile",
        "safetensors.header-overflow",
        "safetensors",
        ref,
    )
    # json.dumps cannot repeat a key, so the header text is written by hand.
    dup = b'{"a":' + _entry(1, 0, 4) + b',"a":' + _entry(2, 0, 8) + b"}"
    yield one(
        "model.safetensors",
        struct.pack("<Q", len(dup)) + dup + bytes(8),
        "hostile",
        "safetensors.duplicate-keys",
        "safetensors",
        ref,
    )
    ov = b'{"a":' + _entry(4, 0, 16) + b',"b":' + _entry(4, 8, 24) + b"}"
    yield one(
        "model.safetensors",
        struct.pack("<Q", len(ov)) + ov + bytes(24),
        "hostile",
        "safetensors.overlap",
        "safetensors",
        ref,
    )
    for _ in range(plan.n(1, 2)):
        yield one(
            "model.safetensors",
            st_file(tensors(), {"format": "pt"}, trailing=PICKLE_TECHNIQUES["pickle.os-system"](2)),
            "hostile",
            "safetensors.trailing-data",
            "safetensors",
            ref,
        )


FAMILIES = (gguf, safetensors)

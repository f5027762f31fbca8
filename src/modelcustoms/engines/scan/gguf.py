"""GGUF (llama.cpp, Ollama, LM Studio): header sanity, tensor layout, and chat templates.

The header is read with the bounded reader of :mod:`modelcustoms.artifacts.gguf`; tensor data
is never read. The tensor table is checked the way llama.cpp's loader checks it (aligned,
contiguous, sizes from the ggml block sizes, inside the file) because other loaders are less
strict, and a table they disagree on is where parser bugs live. Every chat template stored in
the metadata goes through :mod:`modelcustoms.engines.scan.templates`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from modelcustoms.artifacts.gguf import (
    GGML_TYPES,
    GGUFArray,
    GGUFFile,
    TensorInfo,
    read_gguf,
    tensor_nbytes,
)
from modelcustoms.core import Format, Rule, Severity
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext
from modelcustoms.engines.scan.templates import TEMPLATE_RULES, check_template, issue_findings

_INT64_MAX = (1 << 63) - 1
# A length claim beyond the file and beyond this is no truncated download (headers are MBs).
_HOSTILE_CLAIM = 64 * 1024**2
_MAX_HIDDEN_MEMBER = 64 * 1024**2
_REF_SPEC = "https://github.com/ggml-org/ggml/blob/master/docs/gguf.md"
# Integer overflows in llama.cpp's gguf.cpp size arithmetic (GHSA-vgg9-87g3-85w8,
# GHSA-96jg-mvhq-q7q7, both listed in llama.cpp PR #24759) and Ollama's out-of-file tensor read.
_REF_GHSA = "https://github.com/ggml-org/llama.cpp/security/advisories/GHSA-vgg9-87g3-85w8"
_REF_GHSA_NBYTES = "https://github.com/ggml-org/llama.cpp/security/advisories/GHSA-96jg-mvhq-q7q7"
_REF_OLLAMA = "https://github.com/advisories/GHSA-x8qc-fggm-mpqg"

# llama.cpp ``enum llama_ftype`` (general.file_type), for the facts.
_FILE_TYPES = {
    0: "ALL_F32", 1: "MOSTLY_F16", 2: "MOSTLY_Q4_0", 3: "MOSTLY_Q4_1", 7: "MOSTLY_Q8_0",
    8: "MOSTLY_Q5_0", 9: "MOSTLY_Q5_1", 10: "MOSTLY_Q2_K", 11: "MOSTLY_Q3_K_S",
    12: "MOSTLY_Q3_K_M", 13: "MOSTLY_Q3_K_L", 14: "MOSTLY_Q4_K_S", 15: "MOSTLY_Q4_K_M",
    16: "MOSTLY_Q5_K_S", 17: "MOSTLY_Q5_K_M", 18: "MOSTLY_Q6_K", 19: "MOSTLY_IQ2_XXS",
    20: "MOSTLY_IQ2_XS", 21: "MOSTLY_Q2_K_S", 22: "MOSTLY_IQ3_XS", 23: "MOSTLY_IQ3_XXS",
    24: "MOSTLY_IQ1_S", 25: "MOSTLY_IQ4_NL", 26: "MOSTLY_IQ3_S", 27: "MOSTLY_IQ3_M",
    28: "MOSTLY_IQ2_S", 29: "MOSTLY_IQ2_M", 30: "MOSTLY_IQ4_XS", 31: "MOSTLY_IQ1_M",
    32: "MOSTLY_BF16", 36: "MOSTLY_TQ1_0", 37: "MOSTLY_TQ2_0", 38: "MOSTLY_MXFP4_MOE",
}  # fmt: skip

GGUF_RULES: tuple[Rule, ...] = (
    Rule(
        id="gguf.malformed",
        title="GGUF header is malformed",
        severity=Severity.MEDIUM,
        help="The header could not be read completely (bad lengths, counts or types, or a "
        "reader limit was hit), so the file is not verified. Loaders with weaker checks have "
        "had memory-safety bugs on such headers.",
        references=(_REF_SPEC, _REF_GHSA),
    ),
    Rule(
        id="gguf.length-overflow",
        title="GGUF length or count field claims impossible sizes",
        severity=Severity.HIGH,
        help="A string length, array count or entry count claims more data than the whole file "
        "holds (or more than any real model uses). This is the shape of the integer-overflow and "
        "heap-overflow exploits against GGUF loaders, not of a short download.",
        references=(_REF_GHSA, _REF_GHSA_NBYTES),
    ),
    Rule(
        id="gguf.duplicate-key",
        title="GGUF metadata key or tensor name repeated",
        severity=Severity.HIGH,
        help="A key or tensor name appears twice. Loaders disagree on which copy wins (llama.cpp "
        "refuses the file), so a scanner may check one chat template while a runtime uses the "
        "other.",
    ),
    Rule(
        id="gguf.tensor-bounds",
        title="GGUF tensor data outside the file or size overflow",
        severity=Severity.HIGH,
        help="A tensor's data range lies outside the file, or its size overflows 64-bit "
        "arithmetic: the shape of integer-overflow and out-of-bounds read exploits in GGUF "
        "loaders.",
        references=(_REF_GHSA, _REF_GHSA_NBYTES, _REF_OLLAMA),
    ),
    Rule(
        id="gguf.tensor-overlap",
        title="GGUF tensors share bytes",
        severity=Severity.HIGH,
        help="Two tensors' data ranges overlap. No writer produces this; it aliases weights and "
        "confuses loaders that validate differently.",
    ),
    Rule(
        id="gguf.tensor-layout",
        title="GGUF tensor table is not laid out as llama.cpp requires",
        severity=Severity.MEDIUM,
        help="Offsets are misaligned or not contiguous in table order. llama.cpp refuses such "
        "files; other loaders may accept them differently.",
    ),
    Rule(
        id="gguf.tensor-shape",
        title="GGUF tensor shape inconsistent with its type",
        severity=Severity.MEDIUM,
        help="A dimension is negative as int64 or the row length is not a whole number of "
        "quantization blocks, so the data size cannot be computed as ggml computes it.",
    ),
    Rule(
        id="gguf.unknown-type",
        title="GGUF tensor of unknown ggml type",
        severity=Severity.MEDIUM,
        help="The tensor type is not one this scanner knows, so its size and bounds were not "
        "verified (it may be newer than this tool, or bogus).",
    ),
    Rule(
        id="gguf.truncated",
        title="GGUF file is truncated",
        severity=Severity.MEDIUM,
        help="The tensor data ends past the end of the file (an incomplete download, or a "
        "damaged file). It was not verified.",
    ),
    Rule(
        id="gguf.hidden-data",
        title="GGUF file has bytes no tensor uses",
        severity=Severity.MEDIUM,
        help="Bytes between tensors (beyond alignment padding) or after the last tensor are not "
        "part of the model; they can carry a hidden payload.",
    ),
)


class GgufAnalyzer(Analyzer):
    """GGUF header, metadata and tensor table; legacy GGML/GGJT files are skipped with a fact."""

    name = "gguf"
    formats = frozenset({Format.GGUF, Format.GGML_LEGACY})
    rules = GGUF_RULES + TEMPLATE_RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        if ctx.artifact.format is Format.GGML_LEGACY:
            magic = ctx.blob.head(4).decode("latin-1")
            yield ctx.fact("gguf.legacy_magic", magic)
            yield ctx.skip("legacy-format", f"pre-GGUF GGML file ({magic!r}): not verified")
            return
        g = read_gguf(ctx.blob)
        if g.header is not None:
            yield ctx.fact("gguf.version", g.header.version)
            yield ctx.fact("gguf.byte_order", g.header.byte_order)
            yield ctx.fact("gguf.tensor_count", g.header.tensor_count)
            yield ctx.fact("gguf.kv_count", g.header.kv_count)
        if g.error is not None:
            claimed = g.error.declared or 0
            hostile = g.error.kind == "limit" or claimed > max(ctx.blob.size, _HOSTILE_CLAIM)
            yield ctx.finding(
                "gguf.length-overflow" if hostile else "gguf.malformed",
                f"GGUF header unreadable ({g.error.kind}): {g.error.message}",
                offset=g.error.offset,
            )
        yield from _metadata_facts(ctx, g)
        yield from _duplicates(ctx, g)
        yield from _templates(ctx, g)
        if g.complete:
            yield from _layout(ctx, g)


def _metadata_facts(ctx: ScanContext, g: GGUFFile) -> Iterator[Result]:
    for key, fact in (("general.architecture", "gguf.architecture"), ("general.name", "gguf.name")):
        value = g.get(key)
        if isinstance(value, str):
            yield ctx.fact(fact, value[:200], pointer=f"kv {key}")
    ftype = g.get("general.file_type")
    if isinstance(ftype, int) and not isinstance(ftype, bool):
        yield ctx.fact(
            "gguf.file_type",
            {"id": ftype, "name": _FILE_TYPES.get(ftype, "unknown")},
            pointer="kv general.file_type",
        )
    keys = [kv.key for kv in g.kvs if _is_template_key(kv.key)]
    yield ctx.fact("gguf.chat_template_present", bool(keys))
    if keys:
        yield ctx.fact("gguf.chat_templates", keys)


def _duplicates(ctx: ScanContext, g: GGUFFile) -> Iterator[Result]:
    for what, names in (
        ("metadata key", [kv.key for kv in g.kvs]),
        ("tensor name", [t.name for t in g.tensors]),
    ):
        repeated = [n for n, c in Counter(names).items() if c > 1]
        if repeated:
            yield ctx.finding(
                "gguf.duplicate-key",
                f"{len(repeated)} {what}(s) repeated, e.g. {repeated[0]!r}",
                pointer=f"{what} {repeated[0]}",
                excerpt=", ".join(repeated[:10]),
            )


def _is_template_key(key: str) -> bool:
    return key == "tokenizer.chat_template" or key.startswith("tokenizer.chat_template.")


def _templates(ctx: ScanContext, g: GGUFFile) -> Iterator[Result]:
    tokens = _special_tokens(g)
    for kv in g.kvs:
        if not _is_template_key(kv.key):
            continue
        pointer = f"kv {kv.key}"
        if not isinstance(kv.value, str):
            msg = f"{kv.key} is a {kv.type.name}, not a string"
            yield ctx.finding("gguf.malformed", msg, pointer=pointer, offset=kv.offset)
            continue
        issues = check_template(
            kv.value,
            render=ctx.options.render_templates,
            timeout_s=ctx.options.template_timeout_s,
            special_tokens=tokens,
        )
        yield from issue_findings(ctx, issues, pointer, offset=kv.offset)


def _special_tokens(g: GGUFFile) -> dict[str, str]:
    """bos/eos token strings, when their ids fall inside the kept part of the vocabulary."""
    vocab = g.get("tokenizer.ggml.tokens")
    out: dict[str, str] = {}
    if not isinstance(vocab, GGUFArray):
        return out
    for name in ("bos", "eos", "unk", "pad"):
        tid = g.get(f"tokenizer.ggml.{name}_token_id")
        if isinstance(tid, int) and 0 <= tid < len(vocab.items):
            tok = vocab.items[tid]
            if isinstance(tok, str):
                out[f"{name}_token"] = tok
    return out


def _layout(ctx: ScanContext, g: GGUFFile) -> Iterator[Result]:
    """Check the tensor table the way llama.cpp's loader does, and then some."""
    assert g.data_start is not None
    size, align = ctx.blob.size, g.alignment
    problems: dict[str, list[str]] = {}
    spans: list[tuple[int, int, str]] = []
    expected = 0
    contiguous = True
    for t in g.tensors:
        nbytes = _size(t, problems)
        if t.offset % align:
            problems.setdefault("gguf.tensor-layout", []).append(f"{t.name}: offset misaligned")
        if t.offset != expected:
            contiguous = False
        if nbytes is None:
            contiguous = False
            continue
        start = g.data_start + t.offset
        if start + nbytes > _INT64_MAX:
            problems.setdefault("gguf.tensor-bounds", []).append(f"{t.name}: end overflows int64")
            continue
        spans.append((start, start + nbytes, t.name))
        expected = t.offset + -(-nbytes // align) * align
    if not contiguous and "gguf.tensor-layout" not in problems:
        problems["gguf.tensor-layout"] = ["offsets are not contiguous in table order"]
    spans.sort()
    end = g.data_start
    for start, stop, name in spans:
        if start < end:
            problems.setdefault("gguf.tensor-overlap", []).append(f"{name} starts inside another")
        elif start - end >= align and end > g.data_start and start <= size:
            problems.setdefault("gguf.hidden-data", []).append(
                f"{start - end} unused bytes before {name}"
            )
        end = max(end, stop)
    beyond = [n for _, stop, n in spans if stop > size]
    if beyond:
        rule = "gguf.truncated" if contiguous else "gguf.tensor-bounds"
        problems.setdefault(rule, []).append(
            f"{len(beyond)} tensor(s) end past the file's {size} bytes, e.g. {beyond[0]}"
        )
    padded_end = -(-end // align) * align
    trailing = size > padded_end and bool(spans)
    if trailing:
        problems.setdefault("gguf.hidden-data", []).append(
            f"{size - padded_end} bytes after the last tensor"
        )
    for rule, items in problems.items():
        yield ctx.finding(
            rule, f"{len(items)} problem(s): {items[0]}", excerpt="; ".join(items[:10])
        )
    if trailing and size - padded_end <= _MAX_HIDDEN_MEMBER:
        # What hides there is analysed for what it is (a pickle, an archive ...).
        yield from ctx.member("trailing-data", ctx.blob.chunks(padded_end, size))
    if not problems:
        total = sum(t.n_elements for t in g.tensors)
        yield ctx.fact("gguf.parameters", total)


def _size(t: TensorInfo, problems: dict[str, list[str]]) -> int | None:
    if any(d > _INT64_MAX for d in t.dims):
        problems.setdefault("gguf.tensor-shape", []).append(f"{t.name}: negative dimension")
        return None
    gt = GGML_TYPES.get(t.ggml_type)
    if gt is None:
        problems.setdefault("gguf.unknown-type", []).append(f"{t.name}: type {t.ggml_type}")
        return None
    nbytes = tensor_nbytes(t)
    if nbytes is None:
        problems.setdefault("gguf.tensor-shape", []).append(
            f"{t.name}: row of {t.dims[0] if t.dims else 0} is not a multiple of {gt.name} "
            f"blocks of {gt.block_size}"
        )
        return None
    if t.n_elements > _INT64_MAX or nbytes > _INT64_MAX:
        problems.setdefault("gguf.tensor-bounds", []).append(f"{t.name}: size overflows int64")
        return None
    return nbytes

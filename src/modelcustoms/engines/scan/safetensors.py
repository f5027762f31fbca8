"""safetensors: header validation as strict as the reference loader, without reading tensors.

The format is ``u64 N`` (little-endian), ``N`` bytes of JSON, then the data section. The
reference Rust loader refuses duplicate-free-but-inconsistent headers (gaps, overlaps,
trailing bytes, sizes that do not match shapes); other readers are laxer, and a header two
readers understand differently is how scanners are evaded. Tensor data is never read.

Spec: https://github.com/huggingface/safetensors#format
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from modelcustoms.core import Format, Rule, Severity
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext

MAX_HEADER = 100 * 1000 * 1000
"""The reference loader's limit (``MAX_HEADER_SIZE``)."""

# Bits per element, as the reference implementation defines them (sub-byte types included).
DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "I16": 16,
    "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "F64": 64, "I64": 64,
    "U64": 64, "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}  # fmt: skip

_REF = "https://github.com/huggingface/safetensors#format"
_MAX_HIDDEN_MEMBER = 64 * 1024**2

SAFETENSORS_RULES: tuple[Rule, ...] = (
    Rule(
        id="safetensors.malformed",
        title="safetensors header is malformed",
        severity=Severity.MEDIUM,
        help="The header is not what the format requires (size, UTF-8 JSON object, dtypes, "
        "shapes, offsets, string-only metadata); the reference loader refuses it and the file "
        "is not verified.",
        references=(_REF,),
    ),
    Rule(
        id="safetensors.header-length",
        title="safetensors header length is impossible",
        severity=Severity.HIGH,
        help="The declared header length exceeds the file or the reference loader's 100 MB "
        "limit: readers that allocate or read it before checking exhaust memory, and the file "
        "was not verified.",
        references=(_REF,),
    ),
    Rule(
        id="safetensors.duplicate-key",
        title="safetensors header repeats a key",
        severity=Severity.HIGH,
        help="A JSON key appears twice. JSON parsers disagree on which copy wins, so a scanner "
        "and a loader can see different tensors: parser confusion built to evade checks.",
    ),
    Rule(
        id="safetensors.tensor-overlap",
        title="safetensors tensors share bytes",
        severity=Severity.HIGH,
        help="Two tensors' byte ranges overlap. No writer produces this; the reference loader "
        "refuses it while lax readers alias the data.",
    ),
    Rule(
        id="safetensors.tensor-bounds",
        title="safetensors tensor outside the data section",
        severity=Severity.HIGH,
        help="A tensor's byte range is reversed or lies outside the data section: readers that "
        "trust offsets read out of bounds.",
    ),
    Rule(
        id="safetensors.size-mismatch",
        title="safetensors tensor size does not match its shape",
        severity=Severity.MEDIUM,
        help="end - begin differs from the element count times the dtype size; readers that "
        "trust the shape read beyond the tensor's bytes.",
    ),
    Rule(
        id="safetensors.truncated",
        title="safetensors file is truncated",
        severity=Severity.MEDIUM,
        help="The data section ends before the last tensor (an incomplete download?).",
    ),
    Rule(
        id="safetensors.hidden-data",
        title="safetensors file has bytes no tensor uses",
        severity=Severity.MEDIUM,
        help="Bytes between tensors or after the last one are not part of any tensor; they can "
        "carry a hidden payload. The reference loader refuses such files.",
    ),
)


class SafetensorsAnalyzer(Analyzer):
    """safetensors header: length, JSON, duplicate keys, dtypes, shapes, offsets, metadata."""

    name = "safetensors"
    formats = frozenset({Format.SAFETENSORS})
    rules = SAFETENSORS_RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        size = ctx.blob.size
        head = ctx.blob.head(8)
        if len(head) < 8:
            yield ctx.finding("safetensors.malformed", "shorter than the 8-byte header length")
            return
        n = int.from_bytes(head, "little")
        if n > MAX_HEADER or n > size - 8:
            msg = f"header length {n} exceeds {'the file' if n > size - 8 else '100 MB'}"
            yield ctx.finding("safetensors.header-length", msg, offset=0)
            return
        header, problem = _parse(ctx.blob.read(8, n))
        for key in problem.duplicates:
            yield ctx.finding(
                "safetensors.duplicate-key",
                f"key {key!r} appears more than once in the header",
                pointer=f"/{key}",
            )
        if problem.error or header is None:
            yield ctx.finding("safetensors.malformed", problem.error or "no header", offset=8)
            return
        yield from _check(ctx, header, data_start=8 + n)


class _Problem:
    def __init__(self) -> None:
        self.error: str | None = None
        self.duplicates: list[str] = []


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, _Problem]:
    problem = _Problem()

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        counts = Counter(k for k, _ in items)
        problem.duplicates.extend(k for k, c in counts.items() if c > 1)
        return dict(items)

    def no_constant(name: str) -> None:
        msg = f"non-standard JSON constant {name}"
        raise ValueError(msg)

    try:
        text = raw.decode("utf-8")
        value = json.loads(text, object_pairs_hook=pairs, parse_constant=no_constant)
    except UnicodeDecodeError as exc:
        problem.error = f"header is not valid UTF-8 ({exc.reason} at byte {exc.start})"
        return None, problem
    except RecursionError:
        problem.error = "header JSON nests too deeply"
        return None, problem
    except ValueError as exc:
        problem.error = f"header is not valid JSON: {exc}"
        return None, problem
    if not isinstance(value, dict):
        problem.error = f"header is a JSON {type(value).__name__}, not an object"
        return None, problem
    return value, problem


def _check(ctx: ScanContext, header: dict[str, Any], data_start: int) -> Iterator[Result]:
    data_size = ctx.blob.size - data_start
    bad: list[str] = []
    meta = header.get("__metadata__")
    if meta is not None:
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            bad.append("__metadata__ must map strings to strings")
        else:
            yield ctx.fact("safetensors.metadata_keys", sorted(meta)[:100])
            if isinstance(meta.get("format"), str):
                yield ctx.fact("safetensors.format", meta["format"][:50])
    spans: list[tuple[int, int, str]] = []
    mismatch: list[str] = []
    reversed_: list[str] = []
    params = 0
    dtypes: Counter[str] = Counter()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        parsed = _tensor(name, info, bad)
        if parsed is None:
            continue
        dtype, numel, begin, end = parsed
        dtypes[dtype] += 1
        params += numel
        if end < begin:
            reversed_.append(name)
            continue
        nbits = numel * DTYPE_BITS[dtype]
        if nbits % 8:
            bad.append(f"{name}: {numel} x {dtype} is not a whole number of bytes")
        elif end - begin != nbits // 8:
            mismatch.append(f"{name}: {end - begin} bytes for {nbits // 8}")
        spans.append((begin, end, name))
    for text in bad[:1]:
        yield ctx.finding(
            "safetensors.malformed", f"{len(bad)} problem(s): {text}", excerpt="; ".join(bad[:10])
        )
    if mismatch:
        yield ctx.finding(
            "safetensors.size-mismatch",
            f"{len(mismatch)} tensor(s) whose byte range does not match dtype and shape: "
            f"{mismatch[0]}",
            pointer=f"/{mismatch[0].split(':', 1)[0]}",
            excerpt="; ".join(mismatch[:10]),
        )
    if reversed_:
        yield ctx.finding(
            "safetensors.tensor-bounds",
            f"{len(reversed_)} tensor(s) end before they begin, e.g. {reversed_[0]!r}",
            pointer=f"/{reversed_[0]}",
        )
    yield from _layout(ctx, spans, data_size)
    yield ctx.fact("safetensors.tensor_count", len(header) - (1 if "__metadata__" in header else 0))
    yield ctx.fact("safetensors.parameters", params)
    yield ctx.fact("safetensors.dtypes", dict(sorted(dtypes.items())))


def _tensor(name: str, info: Any, bad: list[str]) -> tuple[str, int, int, int] | None:
    if not isinstance(info, dict):
        bad.append(f"{name}: entry is not an object")
        return None
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in DTYPE_BITS:
        bad.append(f"{name}: unknown dtype {str(dtype)[:40]!r}")
        return None
    if not isinstance(shape, list) or not all(_uint(d) for d in shape):
        bad.append(f"{name}: shape must be a list of non-negative integers")
        return None
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_uint(o) for o in offsets)):
        bad.append(f"{name}: data_offsets must be two non-negative integers")
        return None
    numel = 1
    for d in shape:
        numel *= d
    assert isinstance(dtype, str)
    return dtype, numel, offsets[0], offsets[1]


def _uint(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 64


def _layout(
    ctx: ScanContext, spans: list[tuple[int, int, str]], data_size: int
) -> Iterator[Result]:
    spans.sort()
    pos = 0
    gaps = overlaps = 0
    first_gap = first_overlap = ""
    for begin, end, name in spans:
        if begin < pos:
            overlaps += 1
            first_overlap = first_overlap or name
        elif begin > pos:
            gaps += begin - pos
            first_gap = first_gap or name
        pos = max(pos, end)
    if overlaps:
        yield ctx.finding(
            "safetensors.tensor-overlap",
            f"{overlaps} tensor(s) overlap another, e.g. {first_overlap!r}",
            pointer=f"/{first_overlap}",
        )
    outside = [name for _, end, name in spans if end > data_size]
    if outside:
        # A tail that simply stops early is a truncated download; anything else is hostile.
        contiguous = not gaps and not overlaps
        rule = "safetensors.truncated" if contiguous else "safetensors.tensor-bounds"
        yield ctx.finding(
            rule,
            f"{len(outside)} tensor(s) end past the {data_size}-byte data section, "
            f"e.g. {outside[0]!r}",
            pointer=f"/{outside[0]}",
        )
    if gaps:
        yield ctx.finding(
            "safetensors.hidden-data",
            f"{gaps} byte(s) between tensors belong to no tensor (first before {first_gap!r})",
            pointer=f"/{first_gap}",
        )
    if pos < data_size:
        start = ctx.blob.size - (data_size - pos)
        yield ctx.finding(
            "safetensors.hidden-data",
            f"{data_size - pos} byte(s) after the last tensor belong to no tensor",
            offset=start,
        )
        if data_size - pos <= _MAX_HIDDEN_MEMBER:
            # What hides there is analysed for what it is (a pickle, an archive ...).
            yield from ctx.member("trailing-data", ctx.blob.chunks(start, ctx.blob.size))

"""Opcode-level analysis of pickle streams (plain, legacy torch.save, joblib). Never unpickles.

A symbolic stack machine follows every opcode of every pickle in the stream: imports
(GLOBAL, STACK_GLOBAL, INST) are resolved through the memo and judged by
:mod:`~modelcustoms.engines.scan.pickle_globals`; calls (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST)
mark what is invoked; constants passed to deserialisers are handed back to the engine as
nested artifacts. After a malformed region the stream is resynchronised on the next PROTO
opcode, and the unparseable bytes are swept for import text so that a payload hidden behind
a broken opcode (nullifAI) is still reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from modelcustoms.artifacts.pickleops import Source, Span, read_span
from modelcustoms.core import Format, Rule, Severity
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext
from modelcustoms.engines.scan.pickle_globals import Tier
from modelcustoms.engines.scan.pickle_streams import MAX_EVENTS, Stream
from modelcustoms.engines.scan.pickle_values import Import

_REFS = (
    "https://docs.python.org/3/library/pickle.html#restricting-globals",
    "https://github.com/trailofbits/fickling",
)

RULES: tuple[Rule, ...] = (
    Rule(
        id="pickle.dangerous-import",
        title="Pickle imports a dangerous callable",
        severity=Severity.CRITICAL,
        help="Loading this pickle imports a function that runs code, spawns processes, touches "
        "files or the network, or loads another payload. Do not load it; use safetensors.",
        references=_REFS,
    ),
    Rule(
        id="pickle.dynamic-import",
        title="Pickle computes the name it imports",
        severity=Severity.CRITICAL,
        help="STACK_GLOBAL receives a module or name that is not a constant string (built by "
        "calls on the stack). No legitimate pickler emits this; it hides the real import.",
        references=_REFS,
    ),
    Rule(
        id="pickle.dynamic-call",
        title="Pickle calls a computed value",
        severity=Severity.HIGH,
        help="A call opcode invokes the result of another call rather than an imported global: "
        "an indirection that legitimate pickles do not use.",
    ),
    Rule(
        id="pickle.global-mutation",
        title="Pickle mutates an imported object",
        severity=Severity.HIGH,
        help="BUILD, APPEND(S), SETITEM(S) or ADDITEMS is applied to an imported module, class or "
        "function instead of a fresh instance: attributes of live code are overwritten or its "
        "methods (extend, __setitem__, __setstate__) called.",
    ),
    Rule(
        id="pickle.nested-pickle",
        title="Pickle deserialises a nested payload",
        severity=Severity.HIGH,
        help="A constant is passed to a deserialiser (pickle.loads, torch.storage._load_from_"
        "bytes...). The payload was extracted and scanned as its own artifact; see its findings.",
        references=_REFS,
    ),
    Rule(
        id="pickle.unknown-import",
        title="Pickle imports a global outside the allow-list",
        severity=Severity.MEDIUM,
        help="Loading needs code that is not part of ordinary checkpoints: a custom class "
        "(medium), or an unknown function that the pickle calls (high). Review the code it "
        "imports before loading, or convert the model to safetensors.",
    ),
    Rule(
        id="pickle.extension-code",
        title="Pickle uses the copyreg extension registry",
        severity=Severity.HIGH,
        help="EXT1/EXT2/EXT4 import whatever the loading process registered under a number: the "
        "import cannot be resolved statically.",
    ),
    Rule(
        id="pickle.malformed",
        title="Pickle stream is malformed",
        severity=Severity.MEDIUM,
        help="The stream does not parse to its end. Loaders execute opcodes as they read, so "
        "everything before the break runs; scanners that stop at the break miss it (nullifAI). "
        "High when a dangerous import precedes the break.",
        references=(
            "https://www.reversinglabs.com/blog/rl-identifies-malware-ml-model-hosted-on-hugging-face",
        ),
    ),
    Rule(
        id="pickle.limits",
        title="Pickle analysis stopped at a limit",
        severity=Severity.MEDIUM,
        help="The opcode, memo, stack or resynchronisation limit was reached; the rest was only "
        "swept for import text, not verified. Raise ScanOptions.max_pickle_ops to go further.",
    ),
)

MAX_NESTED = 32


class PickleAnalyzer(Analyzer):
    """Opcode-level analysis of pickle streams: plain pickles, legacy torch.save and joblib files.

    Interprets every opcode symbolically (never executing anything), resolves imports through
    the memo, judges them against an allow-list and a deny model, follows every pickle in the
    stream and keeps going after malformed regions.
    """

    name: ClassVar[str] = "pickle"
    formats: ClassVar[frozenset[Format]] = frozenset({Format.PICKLE, Format.PYTORCH_LEGACY})
    rules: ClassVar[tuple[Rule, ...]] = RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        """Yield findings and facts for one pickle artifact, then scan its nested payloads."""
        stream = Stream(ctx)
        stream.run()
        yield from _findings(ctx, stream)
        yield from _facts(ctx, stream)
        for n, nested in enumerate(stream.total.nested):
            if n >= MAX_NESTED or nested.payload is None:
                continue
            yield from ctx.member(f"pickle@{nested.offset}", _payload(stream.src, nested.payload))


def _payload(src: Source, payload: Span | bytes) -> Iterator[bytes] | bytes:
    if isinstance(payload, bytes):
        return payload
    span = payload

    def chunks() -> Iterator[bytes]:
        step = 8 << 20
        for start in range(span.offset, span.offset + span.length, step):
            yield read_span(src, Span(start, min(step, span.offset + span.length - start), "bytes"))

    return chunks()


def _findings(ctx: ScanContext, s: Stream) -> Iterator[Result]:
    total = s.total
    for imp in sorted(total.imports.values(), key=lambda i: i.offset):
        yield from _import_finding(ctx, imp)
    counts: dict[str, int] = {}
    seen = {i.full for i in total.imports.values() if i.judgement.tier is Tier.DANGEROUS}
    hits = [h for h in s.sweep_hits if h.excerpt not in seen]
    for ev in [*total.events, *hits]:
        counts[ev.rule] = counts.get(ev.rule, 0) + 1
        if counts[ev.rule] > MAX_EVENTS:
            continue
        yield ctx.finding(
            ev.rule,
            ev.message,
            pointer=ev.pointer,
            offset=ev.offset,
            excerpt=ev.excerpt,
            severity=ev.severity,
        )
    for rule, n in counts.items():
        if n > MAX_EVENTS:
            yield ctx.finding(rule, f"{n - MAX_EVENTS} more occurrences not listed")
    for i, nested in enumerate(total.nested):
        if i >= MAX_NESTED:
            yield ctx.finding(
                "pickle.limits",
                f"{len(total.nested) - MAX_NESTED} more nested payloads not scanned",
            )
            break
        where = f"pickle@{nested.offset}"
        msg = (
            f"{nested.loader} deserialises a constant payload, scanned as member {where}"
            if nested.payload is not None
            else f"{nested.loader} deserialises a value that is not a constant; it was not scanned"
        )
        yield ctx.finding(
            "pickle.nested-pickle",
            msg,
            pointer=f"opcode @{nested.offset}",
            offset=nested.offset,
            excerpt=nested.loader,
        )
    for off, message, sev in s.malformed:
        extra = " after a dangerous import" if sev is Severity.HIGH else ""
        yield ctx.finding(
            "pickle.malformed",
            f"stream breaks{extra}: {message}; what precedes the break runs when loaded",
            pointer=f"offset {off}",
            offset=off,
            severity=sev,
        )
    for what in sorted(total.limits):
        yield ctx.finding(
            "pickle.limits",
            f"{what} limit reached after {total.ops} opcodes; the rest was only swept for imports",
        )


def _import_finding(ctx: ScanContext, imp: Import) -> Iterator[Result]:
    j = imp.judgement
    called = f", called by {imp.invoke_op} @{imp.invoke_offset}" if imp.invoked else ""
    rule = "pickle.unknown-import"
    severity: Severity | None = None
    if j.tier is Tier.DANGEROUS:
        rule, message = "pickle.dangerous-import", f"imports {imp.full}{called}: {j.reason}"
    elif j.tier is Tier.LOADER and not imp.invoked:
        rule, message = "pickle.nested-pickle", f"imports {imp.full}: {j.reason}"
    elif j.tier is Tier.UNKNOWN_CLASS:
        message = f"imports {imp.full}{called}: {j.reason} (custom code needed)"
    elif j.tier is Tier.UNKNOWN_CALLABLE:
        message = f"imports {imp.full}{called}: {j.reason}"
        severity = Severity.HIGH if imp.invoked else Severity.MEDIUM
    elif j.tier is Tier.IO_ON_CALL and imp.executed:
        rule = "pickle.dangerous-import"
        message = (
            f"imports {imp.full}, called by {imp.execute_op} @{imp.execute_offset}: "
            f"{j.reason}; does file or network I/O when loaded"
        )
        severity = Severity.HIGH
    elif j.tier is Tier.IO_ON_CALL:
        # Referenced only (torch.save(model) rebuilds such classes without __init__).
        message = f"imports {imp.full}{called}: {j.reason}; not called here"
        capitalised = imp.name.rsplit(".", 1)[-1].lstrip("_")[:1].isupper()
        severity = Severity.LOW if capitalised else Severity.MEDIUM
    else:
        return
    yield ctx.finding(
        rule,
        message,
        pointer=f"opcode {imp.opcode} @{imp.offset}",
        offset=imp.offset,
        excerpt=imp.full,
        severity=severity,
    )


def _facts(ctx: ScanContext, s: Stream) -> Iterator[Result]:
    total = s.total
    yield ctx.fact("pickle.streams", s.pickles)
    yield ctx.fact("pickle.protocols", sorted(total.protocols))
    yield ctx.fact("pickle.opcodes", total.ops)
    yield ctx.fact("pickle.globals", sorted(i.full for i in total.imports.values())[:256])
    if total.persistent_ids:
        yield ctx.fact("pickle.persistent_ids", total.persistent_ids)
    if total.joblib_arrays:
        yield ctx.fact(
            "pickle.joblib_arrays", {"count": total.joblib_arrays, "bytes": total.joblib_bytes}
        )
    if s.payload is not None:
        yield ctx.fact(
            "pickle.legacy_torch_payload",
            {"offset": s.payload[0], "length": s.payload[1], "analysed": False},
            pointer=f"offset {s.payload[0]}",
        )
    if s.trailing is not None:
        yield ctx.fact(
            "pickle.trailing_bytes",
            {"offset": s.trailing[0], "length": s.trailing[1]},
            pointer=f"offset {s.trailing[0]}",
        )

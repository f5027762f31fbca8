"""Drives the pickle machine over a whole stream: every pickle, resynchronisation, sweeps.

After a malformed region the stream is resynchronised on the next PROTO opcode, and the
unparseable bytes are swept for import text so that a payload hidden behind a broken opcode
(nullifAI) is still reported. Legacy ``torch.save`` files are five pickles followed by raw
storage bytes, which are never parsed.
"""

from __future__ import annotations

import re

from modelcustoms.artifacts.blob import BytesBlob
from modelcustoms.artifacts.pickleops import (
    HIGHEST_PROTOCOL,
    Source,
    Span,
    plausible_pickle,
    read_span,
)
from modelcustoms.core import Format, Severity
from modelcustoms.engines.scan.base import ScanContext
from modelcustoms.engines.scan.pickle_globals import Tier, judge
from modelcustoms.engines.scan.pickle_machine import Machine
from modelcustoms.engines.scan.pickle_values import Budget, Event, Import, Recorder

MAX_RESYNC = 1000
MAX_EVENTS = 20
SWEEP_LIMIT = 256 << 20

_SWEEP_GLOBAL = re.compile(rb"[ci]([A-Za-z_][\w.]{0,127})\n([A-Za-z_][\w.]{0,127})\n")
_SWEEP_STACK = re.compile(
    rb"[\x8cU]([\x01-\x80])([A-Za-z_][\w.]{0,127})(?:\x94|q[\x00-\xff])?"
    rb"[\x8cU]([\x01-\x80])([A-Za-z_][\w.]{0,127})(?:\x94|q[\x00-\xff])?\x93"
)


class Stream:
    """Drives the machine over every pickle of an artifact and gathers what it saw."""

    def __init__(self, ctx: ScanContext) -> None:
        self.ctx = ctx
        blob = ctx.blob
        self.src: Source = blob.data if isinstance(blob, BytesBlob) else blob
        self.size = blob.size
        self.budget = Budget(ctx.options.max_pickle_ops)
        self.total = Recorder()
        self.pickles = 0
        self.malformed: list[tuple[int, str, Severity]] = []
        self.sweep_hits: list[Event] = []
        self.swept = 0
        self.trailing: tuple[int, int] | None = None
        self.payload: tuple[int, int] | None = None

    def run(self) -> None:
        """Analyse the whole stream."""
        legacy = self.ctx.artifact.format is Format.PYTORCH_LEGACY
        pos = 0
        trusted = True
        resyncs = 0
        while pos < self.size:
            rec = Recorder()
            out = Machine(self.src, self.size, self.budget, rec).run(pos)
            if out.ok:
                self._commit(rec, full=True)
                self.pickles += 1
                pos = out.offset
                if legacy and self.pickles == 5:
                    # torch/serialization.py _legacy_save: raw storage bytes follow; never parsed.
                    self.payload = (pos, self.size - pos)
                    return
                trusted = pos < self.size and self._starts_pickle(pos)
                continue
            if out.limit is not None:
                self._commit(rec, full=True)
                self.total.limits.add(out.limit)
                self._sweep(out.offset, self.size)
                return
            if trusted:
                self._commit(rec, full=True)
                sev = Severity.HIGH if rec.has_dangerous() else Severity.MEDIUM
                self.malformed.append((out.offset, out.message, sev))
                sweep_from, search_from = out.offset, out.offset + 1
            else:
                self._commit(rec, full=False)
                if self.trailing is None:
                    self.trailing = (pos, self.size - pos)
                sweep_from, search_from = pos, pos + 1
            nxt = self._find_proto(search_from)
            self._sweep(sweep_from, self.size if nxt is None else nxt)
            if nxt is None:
                break
            resyncs += 1
            if resyncs > MAX_RESYNC:
                self.total.limits.add("resynchronisation")
                self._sweep(nxt, self.size)
                break
            pos, trusted = nxt, False
        if legacy and self.pickles < 5 and not self.malformed:
            self.malformed.append(
                (
                    self.size,
                    f"legacy torch file ends after {self.pickles} of 5 pickles",
                    Severity.MEDIUM,
                )
            )

    def _starts_pickle(self, pos: int) -> bool:
        head = read_span(self.src, Span(pos, 4096, "bytes"))
        if head[:1] == b"\x80":
            return len(head) > 1 and head[1] <= HIGHEST_PROTOCOL
        return plausible_pickle(head)

    def _find_proto(self, start: int) -> int | None:
        """Offset of the next ``PROTO 2..5`` at or after ``start``."""
        chunk = 8 << 20
        pos = start
        while pos < self.size - 1:
            data = read_span(self.src, Span(pos, chunk + 1, "bytes"))
            i = data.find(b"\x80")
            while 0 <= i < len(data) - 1:
                if 2 <= data[i + 1] <= HIGHEST_PROTOCOL:
                    return pos + i
                i = data.find(b"\x80", i + 1)
            pos += chunk
        return None

    def _commit(self, rec: Recorder, *, full: bool) -> None:
        total = self.total
        total.ops += rec.ops
        if not full:
            # Bytes that are not a pickle: keep only what cannot be noise, a dangerous import
            # spelled with valid names.
            for key, imp in rec.imports.items():
                if imp.judgement.tier is Tier.DANGEROUS and _valid(imp.module, imp.name):
                    self._merge(key, imp)
            return
        for key, imp in rec.imports.items():
            self._merge(key, imp)
        total.events.extend(rec.events)
        total.nested.extend(rec.nested)
        total.protocols |= rec.protocols
        total.limits |= rec.limits
        total.joblib_arrays += rec.joblib_arrays
        total.joblib_bytes += rec.joblib_bytes
        total.persistent_ids += rec.persistent_ids

    def _merge(self, key: tuple[str, str], imp: Import) -> None:
        have = self.total.imports.get(key)
        if have is None:
            self.total.imports[key] = imp
            return
        have.count += imp.count
        if imp.invoked and not have.invoked:
            have.invoked, have.invoke_offset, have.invoke_op = (
                True,
                imp.invoke_offset,
                imp.invoke_op,
            )
        if imp.executed and not have.executed:
            have.executed, have.execute_offset, have.execute_op = (
                True,
                imp.execute_offset,
                imp.execute_op,
            )

    def _sweep(self, start: int, end: int) -> None:
        """Look for import text in bytes that did not parse (a payload behind a break)."""
        step = 16 << 20
        pos = start
        while pos < end and self.swept < SWEEP_LIMIT:
            n = min(step, end - pos)
            data = read_span(self.src, Span(pos, n + 512, "bytes"))[: n + 512]
            self.swept += n
            for m in _SWEEP_GLOBAL.finditer(data, 0, n + 512):
                if m.start() < n:
                    self._sweep_hit(m.group(1), m.group(2), pos + m.start())
            for m in _SWEEP_STACK.finditer(data):
                mod, name = m.group(2), m.group(4)
                if m.start() < n and len(mod) == m.group(1)[0] and len(name) == m.group(3)[0]:
                    self._sweep_hit(mod, name, pos + m.start())
            pos += n

    def _sweep_hit(self, module: bytes, name: bytes, off: int) -> None:
        mod, nm = module.decode("ascii"), name.decode("ascii")
        j = judge(mod, nm)
        if j.tier is not Tier.DANGEROUS or len(self.sweep_hits) >= MAX_EVENTS:
            return
        if any(h.excerpt == f"{mod}.{nm}" for h in self.sweep_hits):
            return
        self.sweep_hits.append(
            Event(
                "pickle.dangerous-import",
                f"bytes that do not parse as a pickle spell an import of {mod}.{nm} "
                f"({j.reason}); a lenient or differently-framed loader may run it",
                off,
                f"bytes @{off}",
                f"{mod}.{nm}",
            )
        )


def _valid(module: str, name: str) -> bool:
    return all(p.isidentifier() for p in (*module.split("."), *name.split(".")))

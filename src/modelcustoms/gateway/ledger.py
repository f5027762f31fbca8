"""The tamper-evident audit log: one JSON line per decision, each carrying the previous hash.

``hash = sha256(canonical JSON of the entry without "hash")`` and the entry holds ``seq`` and
``prev`` (the hash of entry ``seq - 1``; 64 zeros for the first). Editing any line breaks its
own hash; re-hashing an edited line breaks the next line's ``prev``. Cutting lines off the end
is only visible against a head recorded elsewhere (``verify-log --head``), as with any chain.

Two writers: :class:`FileLedger` (one process; an exclusive ``flock`` refuses a second one,
because two processes appending to one file cannot keep one chain) and, for several gateway
processes, ``PostgresLedger`` in :mod:`.shared`, which appends under a transaction-level
advisory lock so all processes extend one chain.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from modelcustoms.gateway.errors import GatewayError

GENESIS = "0" * 64


def canonical(entry: dict[str, Any]) -> bytes:
    """The bytes that are hashed: compact JSON, sorted keys, UTF-8."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal(fields: dict[str, Any], seq: int, prev: str) -> tuple[str, str]:
    """The line for ``fields`` at position ``seq`` after ``prev``, and its hash."""
    body = canonical({**fields, "seq": seq, "prev": prev})
    digest = hashlib.sha256(body).hexdigest()
    # NOTE: "hash" is appended last rather than sorted in; verification parses the line and
    # re-canonicalises it without "hash", so the key's position does not matter.
    return body[:-1].decode() + f',"hash":"{digest}"}}', digest


class Ledger(Protocol):
    """Appends audit entries; ``append`` never waits on I/O for long."""

    def append(self, fields: dict[str, Any]) -> str | None:
        """Add one entry (its ``seq``, ``prev`` and ``hash`` are filled in here); return its
        line when it is written at once (None when it is queued)."""
        ...

    async def aclose(self) -> None:
        """Write what is pending and release the log."""
        ...


class FileLedger:
    """An append-only JSON-lines file owned by this process."""

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        self.path = path
        self.fsync = fsync
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh: IO[str] = path.open("a+", encoding="utf-8")
        except OSError as exc:
            msg = f"cannot open the audit log {path}: {exc.strerror or exc}"
            raise GatewayError(msg) from exc
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._fh.close()
            msg = f"the audit log {path} is held by another gateway process"
            raise GatewayError(
                msg, hint="several processes share one chain through audit.postgres: true"
            ) from exc
        try:
            self.seq, self.head = _tail(path)
        except GatewayError:
            self._fh.close()
            raise

    def append(self, fields: dict[str, Any]) -> str | None:
        line, digest = seal(fields, self.seq + 1, self.head)
        self._fh.write(line + "\n")
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self.seq += 1
        self.head = digest
        return line

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        """Release the file and its lock."""
        if not self._fh.closed:
            self._fh.close()


def _tail(path: Path) -> tuple[int, str]:
    """The last seq and hash, after verifying the whole file (never extend a broken chain)."""
    with path.open("rb") as fh:
        result = verify_lines(fh)
    if result.problems:
        msg = f"the audit log {path} does not verify: {result.problems[0]}"
        raise GatewayError(msg, hint="keep the broken log as evidence and start a new file")
    return result.count, result.head


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The outcome of checking a chain."""

    count: int
    head: str
    problems: tuple[str, ...]


def verify_lines(lines: Iterable[bytes | str]) -> ChainCheck:
    """Check every line's hash and link; name each broken line (1-based)."""
    problems: list[str] = []
    prev, seq = GENESIS, 0
    for n, raw in enumerate(lines, start=1):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if not text.strip():
            problems.append(f"line {n}: empty line")
            continue
        try:
            entry = json.loads(text)
        except ValueError:
            problems.append(f"line {n}: not JSON")
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("hash"), str):
            problems.append(f"line {n}: not an audit entry")
            continue
        claimed = entry.pop("hash")
        actual = hashlib.sha256(canonical(entry)).hexdigest()
        if actual != claimed:
            problems.append(f"line {n}: content does not match its hash (the line was edited)")
        if entry.get("prev") != prev:
            problems.append(
                f"line {n}: does not link to line {n - 1} (a line was changed, "
                "removed or inserted before it)"
            )
        if entry.get("seq") != seq + 1:
            problems.append(f"line {n}: sequence {entry.get('seq')} where {seq + 1} was due")
        prev = claimed
        seq = entry["seq"] if isinstance(entry.get("seq"), int) else seq + 1
    return ChainCheck(seq, prev, tuple(problems))


def verify_file(path: Path, head: str | None = None) -> ChainCheck:
    """Verify a log file; with ``head``, also that the chain ends at that recorded hash."""
    try:
        with path.open("rb") as fh:
            result = verify_lines(fh)
    except OSError as exc:
        msg = f"cannot read the audit log {path}: {exc.strerror or exc}"
        raise GatewayError(msg) from exc
    if head is not None and result.head != head:
        extra = f"the chain ends at {result.head[:16]}…, not at the recorded head {head[:16]}…"
        return ChainCheck(result.count, result.head, (*result.problems, extra))
    return result

"""Keras models: ``.keras`` (v3 zip) archives and legacy HDF5 files.

Both formats carry the model as a JSON *config* that Keras rebuilds by importing the ``module``
and looking up the ``class_name`` each object names. That is where the attacks are: ``Lambda``
layers carry marshalled Python bytecode (refused by ``safe_mode`` in v3 archives, but never in
legacy HDF5: CVE-2025-9905), and any importable callable can be named (CVE-2025-1550), including
Keras' own gadgets that download files (CVE-2025-8747), read local files as vocabularies
(CVE-2025-12058), load a SavedModel graph (TFSMLayer) or switch ``safe_mode`` off
(CVE-2025-9906). :func:`check_config` judges one decoded config (it is shared with the
SavedModel analyzer, whose Keras metadata holds the same JSON).

There is no HDF5 library here: the ``model_config`` attribute of a legacy file is plain JSON in
the file's bytes, found by a bounded search for ``"class_name"`` and decoded from the start of
the text run around it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from modelcustoms.artifacts import zipfmt
from modelcustoms.artifacts.blob import Blob
from modelcustoms.core import Format, Rule
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext
from modelcustoms.engines.scan.keras_config import check_config, config_rules, load_json

MAX_CONFIG_BYTES = 64 * 1024**2
H5_SCAN_ALL = 1024**3
"""HDF5 files up to this size are searched whole; larger ones at both ends only."""
H5_SCAN_EDGE = 512 * 1024**2
MAX_H5_CANDIDATES = 2_000
"""Most places a config is decoded from (hits inside an already decoded config are free)."""
MAX_H5_DECODE_BYTES = 512 * 1024**2
_CHUNK = 8 * 1024**2
_BACK = 1024**2
_STEP = 64 * 1024
_PATTERN = b'"class_name"'
_NON_TEXT = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

CONFIG_RULES = config_rules("keras.")

RULES: tuple[Rule, ...] = CONFIG_RULES


class KerasAnalyzer(Analyzer):
    """Keras v3 archives and legacy HDF5 models: Lambda layers, module references, gadgets."""

    name = "keras"
    formats = frozenset({Format.KERAS_V3, Format.HDF5})
    rules = RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        if ctx.artifact.format is Format.KERAS_V3:
            yield from _analyze_archive(ctx)
        else:
            yield from _analyze_h5(ctx)


# -- .keras archives ---------------------------------------------------------------------------


def _analyze_archive(ctx: ScanContext) -> Iterator[Result]:
    # NOTE: the zip analyzer also reads .keras files: it reports structural anomalies and hands
    # every member (weights, assets) to the engine. This analyzer judges the model config only.
    try:
        listing = zipfmt.read_zip(ctx.blob)
    except zipfmt.ZipFormatError as exc:
        yield ctx.finding("keras.malformed", f"the .keras archive cannot be listed: {exc}")
        return
    configs = [e for e in listing.entries if e.name == "config.json"]
    if not configs:
        yield ctx.finding("keras.malformed", "the .keras archive has no config.json")
    # Python's zipfile loads the last of duplicate names, other readers the first: check all.
    for entry in configs:
        data = _member_bytes(ctx, entry)
        if isinstance(data, bytes):
            yield from _check_json(ctx, data, source="config.json", legacy=False)
        else:
            yield data
    for entry in listing.entries:
        if entry.name == "metadata.json":
            yield from _metadata_facts(ctx, entry)


def _member_bytes(ctx: ScanContext, entry: zipfmt.ZipEntry) -> bytes | Result:
    try:
        return zipfmt.read_member(ctx.blob, entry, max_bytes=MAX_CONFIG_BYTES)
    except zipfmt.ZipFormatError as exc:
        return ctx.finding(
            "keras.malformed",
            f"{entry.name} cannot be read, so the model config is not verified: {exc}",
            pointer=f"member {entry.name}",
        )


def _metadata_facts(ctx: ScanContext, entry: zipfmt.ZipEntry) -> Iterator[Result]:
    try:
        meta = json.loads(zipfmt.read_member(ctx.blob, entry, max_bytes=1024**2))
    except (zipfmt.ZipFormatError, ValueError, RecursionError):
        return
    if isinstance(meta, dict) and isinstance(meta.get("keras_version"), str):
        yield ctx.fact("keras.version", meta["keras_version"], pointer="member metadata.json")


def _check_json(ctx: ScanContext, data: bytes, *, source: str, legacy: bool) -> Iterator[Result]:
    try:
        config = load_json(data)
    except ValueError as exc:
        yield ctx.finding(
            "keras.malformed",
            f"{source} is not valid JSON, so the model config is not verified: {exc}",
            pointer=source,
        )
        return
    yield from check_config(ctx, config, source=source, legacy=legacy)


# -- legacy HDF5 -------------------------------------------------------------------------------


def _analyze_h5(ctx: ScanContext) -> Iterator[Result]:
    blob = ctx.blob
    search = _Search(blob)
    if search.partial:
        yield ctx.skip(
            "too-large",
            f"HDF5 file of {blob.size} bytes: only the first and last {H5_SCAN_EDGE} bytes "
            "were searched for Keras configs",
        )
    spans: list[tuple[int, int]] = []
    configs: list[tuple[int, object]] = []
    failed = attempts = work = 0
    exhausted = False
    for pos in search.hits():
        if any(a <= pos < b for a, b in spans):
            continue
        attempts += 1
        if attempts > MAX_H5_CANDIDATES or work > MAX_H5_DECODE_BYTES:
            exhausted = True
            break
        decoded, cost = _decode_around(blob, pos)
        work += cost
        if decoded is None:
            failed += 1
            continue
        start, end, obj = decoded
        spans.append((start, end))
        configs.append((start, obj))
    if not configs:
        if search.saw_model_config or failed or exhausted:
            yield ctx.finding(
                "keras.malformed",
                "the file names a Keras model_config but no readable JSON config was found; the "
                "model could not be verified",
            )
        else:
            yield ctx.fact("keras.h5_model_config", False)
        return
    yield ctx.fact("keras.h5_model_config", True)
    if failed or exhausted:
        yield ctx.finding(
            "keras.malformed",
            f"{failed} config fragment(s) could not be decoded"
            + (" and the search stopped at its limits" if exhausted else "")
            + "; they were not verified",
        )
    for start, obj in configs:
        yield from check_config(ctx, obj, source=f"hdf5@{start}", legacy=True, offset=start)


class _Search:
    """Offsets of ``"class_name"`` in the file (lazily), and whether ``model_config`` occurs."""

    def __init__(self, blob: Blob) -> None:
        self.blob = blob
        if blob.size <= H5_SCAN_ALL:
            self.ranges = [(0, blob.size)]
        else:
            self.ranges = [(0, H5_SCAN_EDGE), (blob.size - H5_SCAN_EDGE, blob.size)]
        self.partial = len(self.ranges) > 1
        self.saw_model_config = False

    def hits(self) -> Iterator[int]:
        overlap = len(_PATTERN) - 1
        for lo, hi in self.ranges:
            pos = lo
            while pos < hi:
                limit = min(_CHUNK, hi - pos)
                data = self.blob.read(pos, limit + overlap)
                if not data:
                    break
                if b"model_config" in data:
                    self.saw_model_config = True
                i = data.find(_PATTERN)
                while 0 <= i < limit:
                    yield pos + i
                    i = data.find(_PATTERN, i + 1)
                pos += limit


def _decode_around(blob: Blob, pos: int) -> tuple[tuple[int, int, object] | None, int]:
    """Decode the JSON object in the text run around ``pos``: ((start, end, object), cost).

    The cost (bytes read, plus bytes handed to the decoder) is charged against a budget so that
    a file full of near-JSON cannot keep the scan busy.
    """
    start, cost = _run_start(blob, pos)
    data = _run_from(blob, start)
    cost += len(data)
    text = data.decode("utf-8", "replace")
    hit = len(data[: pos - start].decode("utf-8", "replace"))
    decoder = json.JSONDecoder()
    idx = text.find("{")
    tries = 0
    while 0 <= idx <= hit and tries < 8:
        tries += 1
        cost += len(data)
        try:
            obj, end = decoder.raw_decode(text, idx)
        except (ValueError, RecursionError):
            idx = text.find("{", idx + 1)
            continue
        if isinstance(obj, dict) and end > hit:
            return (start, start + len(text[:end].encode("utf-8")), obj), cost
        idx = text.find("{", idx + 1)
    return None, cost


def _run_start(blob: Blob, pos: int) -> tuple[int, int]:
    """Start of the run of text bytes that ends at ``pos`` (searched back a bounded way)."""
    lo = pos
    step = _STEP
    while lo > 0 and pos - lo < MAX_CONFIG_BYTES:
        begin = max(0, lo - step)
        window = blob.read(begin, lo - begin)
        m = _NON_TEXT.search(window[::-1])
        if m is not None:
            return lo - m.start(), pos - begin
        lo = begin
        step = min(step * 2, _BACK)
    return lo, pos - lo


def _run_from(blob: Blob, start: int) -> bytes:
    """The text run from ``start`` (at most ``MAX_CONFIG_BYTES``), read in growing steps."""
    out = bytearray()
    step = _STEP
    while len(out) < MAX_CONFIG_BYTES:
        chunk = blob.read(start + len(out), min(step, MAX_CONFIG_BYTES - len(out)))
        if not chunk:
            break
        m = _NON_TEXT.search(chunk)
        if m is not None:
            out += chunk[: m.start()]
            break
        out += chunk
        step = min(step * 2, _BACK)
    return bytes(out)

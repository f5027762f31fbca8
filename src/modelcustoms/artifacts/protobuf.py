"""A bounded, lazy reader of the protobuf wire format, and detection of ONNX and SavedModel files.

ONNX models and TensorFlow SavedModels are protobuf messages that can be gigabytes long (tensors
are embedded as ``bytes`` fields). :class:`WireReader` therefore never materialises a message:
it yields :class:`Field` records whose length-delimited payloads are *offsets* into the blob, so a
caller descends into the submessages it cares about and skips a 2 GiB ``raw_data`` by adding
its length. Every length is checked against the end of the enclosing message before use.

:func:`classify` is called by the sniffer for every binary that matched no magic number, so it
gives up at the first field that cannot be protobuf, and reads at most a few thousand fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from modelcustoms.artifacts.blob import Blob, BytesBlob
from modelcustoms.core import Format

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
MAX_FIELD_NUMBER = (1 << 29) - 1
_WINDOW = 1 << 16
_MAX_GROUP_DEPTH = 32
_U64 = (1 << 64) - 1


class ProtobufError(ValueError):
    """The bytes are not a well-formed protobuf message (or break a reader limit)."""


class Field(NamedTuple):
    """One field of a message; length-delimited payloads are left in the blob.

    A named tuple rather than a dataclass: large graphs produce millions of these.
    """

    number: int
    wire: int
    value: int
    """The value of a varint or fixed field; the payload length of a LEN field or group."""
    offset: int
    """Where the value (or the LEN payload) starts in the blob."""
    tag_offset: int
    """Where the field's tag starts (for evidence)."""

    @property
    def end(self) -> int:
        """Offset just past a LEN payload or a group (meaningless for scalar fields)."""
        return self.offset + self.value


class WireReader:
    """Reads protobuf fields out of a blob through one cached window."""

    def __init__(self, blob: Blob, *, window: int = _WINDOW) -> None:
        self.blob = blob
        self.size = blob.size
        self._window = window
        # In-memory blobs are read in place: no window refills, no copies.
        self._whole = isinstance(blob, BytesBlob)
        self._buf = blob.data if isinstance(blob, BytesBlob) else b""
        self._base = 0

    def _at(self, pos: int, n: int) -> tuple[bytes, int]:
        """The buffer holding ``[pos, pos + n)`` (as far as the blob goes), and pos's index."""
        if not self._whole and not (self._base <= pos and pos + n <= self._base + len(self._buf)):
            self._buf = self.blob.read(pos, max(n, self._window))
            self._base = pos
        return self._buf, pos - self._base

    def varint(self, pos: int, end: int) -> tuple[int, int]:
        """The varint at ``pos`` (which must end before ``end``) and the offset after it."""
        buf, i = self._at(pos, 10)
        result = 0
        for k in range(10):
            if pos + k >= end:
                msg = f"varint at offset {pos} runs past the end of its message"
                raise ProtobufError(msg)
            b = buf[i + k]
            result |= (b & 0x7F) << (7 * k)
            if b < 0x80:
                return result & _U64, pos + k + 1
        msg = f"varint at offset {pos} is longer than 10 bytes"
        raise ProtobufError(msg)

    def fields(self, start: int, end: int, *, groups: bool = True) -> Iterator[Field]:
        """The fields of the message in ``[start, end)``.

        Groups (a deprecated encoding none of our formats use) are skipped and yielded as
        ``SGROUP`` fields, as real parsers keep them as unknown fields; ``groups=False`` refuses
        them instead.
        """
        if start < 0 or end > self.size or start > end:
            msg = f"message [{start}, {end}) lies outside the {self.size}-byte blob"
            raise ProtobufError(msg)
        pos = start
        whole = self._whole
        buf = self._buf
        while pos < end:
            if whole:
                i = pos
            else:
                buf, i = self._at(pos, 24)
            # One-byte tags and lengths are the common case; longer ones take the general path.
            tag = buf[i]
            if tag < 0x80:
                p = pos + 1
            else:
                tag, p = self.varint(pos, end)
            number, wire = tag >> 3, tag & 7
            if number == 0 or number > MAX_FIELD_NUMBER:
                msg = f"invalid field number {number} at offset {pos}"
                raise ProtobufError(msg)
            if wire == LEN:
                j = i + (p - pos)
                if p < end and j < len(buf) and buf[j] < 0x80:
                    length, q = buf[j], p + 1
                else:
                    length, q = self.varint(p, end)
                if length > end - q:
                    msg = f"field {number} at offset {pos} claims {length} bytes, past its message"
                    raise ProtobufError(msg)
                nxt = q + length
                yield Field(number, wire, length, q, pos)
            elif wire == VARINT:
                j = i + (p - pos)
                if p < end and j < len(buf) and buf[j] < 0x80:
                    value, nxt = buf[j], p + 1
                else:
                    value, nxt = self.varint(p, end)
                yield Field(number, wire, value, p, pos)
            elif wire in (I64, I32):
                width = 8 if wire == I64 else 4
                if p + width > end:
                    msg = f"fixed-width field at offset {pos} runs past its message"
                    raise ProtobufError(msg)
                buf, i = self._at(p, width)
                value = int.from_bytes(buf[i : i + width], "little")
                nxt = p + width
                yield Field(number, wire, value, p, pos)
            elif wire == SGROUP and groups:
                nxt = self._skip_group(number, p, end)
                yield Field(number, wire, nxt - p, p, pos)
            else:
                msg = f"unexpected wire type {wire} (field {number}) at offset {pos}"
                raise ProtobufError(msg)
            pos = nxt

    def _skip_group(self, number: int, pos: int, end: int) -> int:
        """Offset after the end-group tag matching ``number`` (deprecated groups, skipped)."""
        open_groups = [number]
        while pos < end:
            tag, pos = self.varint(pos, end)
            num, wire = tag >> 3, tag & 7
            if num == 0:
                break
            if wire == VARINT:
                _, pos = self.varint(pos, end)
            elif wire in (I64, I32):
                pos += 8 if wire == I64 else 4
            elif wire == LEN:
                length, pos = self.varint(pos, end)
                pos += length
            elif wire == SGROUP:
                open_groups.append(num)
                if len(open_groups) > _MAX_GROUP_DEPTH:
                    break
            elif wire == EGROUP:
                if open_groups.pop() != num:
                    break
                if not open_groups:
                    return pos
            else:
                break
        msg = f"group {number} is malformed or unterminated"
        raise ProtobufError(msg)

    def payload(self, field: Field, limit: int) -> bytes:
        """The first ``limit`` bytes of a LEN field's payload (never more)."""
        n = min(field.value, limit)
        if self._whole:
            return self._buf[field.offset : field.offset + n]
        return self.blob.read(field.offset, n)

    def string(self, field: Field, limit: int = 4096) -> str:
        """A LEN field as text (undecodable bytes replaced), cut at ``limit`` bytes."""
        if field.wire != LEN:
            msg = f"field {field.number} at offset {field.tag_offset} is not a string"
            raise ProtobufError(msg)
        return self.payload(field, limit).decode("utf-8", "replace")


# -- detection -------------------------------------------------------------------------------

_MAX_TOP_FIELDS = 4096
_HEAD_FIELDS = 8

# field number -> wire type, for the messages whose shape identifies a format.
_ONNX_MODEL = {
    1: VARINT,
    2: LEN,
    3: LEN,
    4: LEN,
    5: VARINT,
    6: LEN,
    7: LEN,
    8: LEN,
    14: LEN,
    20: LEN,
    25: LEN,
    26: LEN,
}
_ONNX_GRAPH = {
    1: LEN,
    2: LEN,
    5: LEN,
    10: LEN,
    11: LEN,
    12: LEN,
    13: LEN,
    14: LEN,
    15: LEN,
    16: LEN,
}
_ONNX_OPSET = {1: LEN, 2: VARINT}
_SAVED_MODEL = {1: VARINT, 2: LEN}
_META_GRAPH = {1: LEN, 2: LEN, 3: LEN, 4: LEN, 5: LEN, 6: LEN, 7: LEN}
_GRAPH_DEF = {1: LEN, 2: LEN, 3: VARINT, 4: LEN, 5: LEN}
_NODE_DEF = {1: LEN, 2: LEN, 3: LEN, 4: LEN, 5: LEN, 6: LEN, 7: LEN}
_SAVED_OBJECT = {2: VARINT, 3: LEN, 4: LEN, 5: LEN, 100: LEN}


def _top(reader: WireReader) -> tuple[list[Field], bool] | None:
    """Up to ``_MAX_TOP_FIELDS`` top-level fields, and whether they reach the end exactly."""
    out: list[Field] = []
    try:
        for f in reader.fields(0, reader.size):
            out.append(f)
            if len(out) >= _MAX_TOP_FIELDS:
                return out, False
    except ProtobufError:
        return None
    return out, True


def _shaped(fields: list[Field], shape: dict[int, int]) -> bool:
    """Some field is one of ``shape`` and none of ``shape``'s numbers has another wire type.

    Unknown field numbers are allowed: protobuf parsers keep them without complaint, so a
    hostile file could otherwise add one to stop being recognised.
    """
    known = False
    for f in fields:
        wire = shape.get(f.number)
        if wire is None:
            continue
        if wire != f.wire:
            return False
        known = True
    return known


def _head(reader: WireReader, field: Field, shape: dict[int, int]) -> list[Field] | None:
    """The first few fields of a submessage, or None when they do not have ``shape``."""
    out: list[Field] = []
    try:
        for f in reader.fields(field.offset, field.end):
            out.append(f)
            if len(out) >= _HEAD_FIELDS:
                break
    except ProtobufError:
        return None
    return out if _shaped(out, shape) else None


def _first(fields: list[Field], number: int) -> Field | None:
    return next((f for f in fields if f.number == number), None)


def _onnx_score(reader: WireReader, fields: list[Field]) -> int:
    """2: structurally an ONNX ModelProto; 1: compatible with one; 0: not one."""
    if not _shaped(fields, _ONNX_MODEL):
        return 0
    graph = _first(fields, 7)
    opset = _first(fields, 8)
    version = _first(fields, 1)
    graph_ok = graph is not None and _head(reader, graph, _ONNX_GRAPH) is not None
    opset_ok = opset is not None and _head(reader, opset, _ONNX_OPSET) is not None
    if graph_ok and (version is not None or opset_ok):
        return 2
    return 1 if graph is not None or opset is not None else 0


def _tf_score(reader: WireReader, fields: list[Field]) -> int:
    """2: structurally a SavedModel, a GraphDef or a Keras SavedMetadata; 1: compatible; 0: not."""
    if _shaped(fields, _SAVED_MODEL):
        meta = _first(fields, 2)
        if meta is not None:
            return 2 if _head(reader, meta, _META_GRAPH) is not None else 1
    if _shaped(fields, {1: LEN}):
        # keras_metadata.pb: SavedMetadata{repeated SavedObject nodes = 1}.
        head = _head(reader, fields[0], _SAVED_OBJECT)
        ident = _first(head, 4) if head else None
        if ident is not None and reader.string(ident, 64).startswith("_tf_keras"):
            return 2
    if _shaped(fields, _GRAPH_DEF):
        node = _first(fields, 1)
        if node is None:
            return 1 if _first(fields, 2) is not None else 0
        head = _head(reader, node, _NODE_DEF)
        if head is None:
            return 0
        op = _first(head, 2)
        name = _first(head, 1)
        if op is not None and name is not None and reader.string(op, 128).isidentifier():
            return 2
        return 1
    return 0


def classify(blob: Blob, head: bytes, hint: str | None) -> Format | None:
    """ONNX or SAVEDMODEL when ``blob`` parses as one of their messages, else None.

    Content decides; the name ``hint`` only breaks ties between weak structural matches.
    """
    if not head or not _plausible_first_tag(head):
        return None
    reader = WireReader(blob)
    top = _top(reader)
    if top is None:
        return None
    fields, _ = top
    try:
        onnx = _onnx_score(reader, fields)
        tf = _tf_score(reader, fields)
    except ProtobufError:
        return None
    name = (hint or "").lower()
    if onnx == 2 and tf == 2:
        # Both shapes at once only happens on purpose. TensorFlow only loads a SavedModel from
        # a file named saved_model.pb, while onnx loads any name: the name decides.
        return Format.SAVEDMODEL if name == ".pb" else Format.ONNX
    if onnx == 2:
        return Format.ONNX
    if tf == 2:
        return Format.SAVEDMODEL
    if onnx and name in (".onnx", ".ort"):
        return Format.ONNX
    if tf and name == ".pb":
        return Format.SAVEDMODEL
    return None


def _plausible_first_tag(head: bytes) -> bool:
    first = head[0]
    if first & 0x80 == 0 and first >> 3 == 0:
        return False
    return first & 7 in (VARINT, I64, LEN, I32)

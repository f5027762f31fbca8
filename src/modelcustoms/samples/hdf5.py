"""A minimal HDF5 writer in the layout h5py writes by default (the one legacy Keras files have).

Superblock version 0, version 1 object headers, groups as symbol tables (v1 B-tree + local heap
+ symbol table nodes), attributes as version 1 attribute messages, contiguous float32 datasets.
Written from the HDF5 File Format Specification, version 2 ("disk format level 0-2").
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

UNDEF = 0xFFFFFFFFFFFFFFFF
_LEAF_K = 4
_INTERNAL_K = 16
AttrValue = str | bytes | list[bytes] | int


@dataclass
class Dataset:
    """A float32 dataset."""

    shape: tuple[int, ...]
    data: bytes
    attrs: dict[str, AttrValue] = field(default_factory=dict)


@dataclass
class Group:
    """A group with attributes and named children."""

    attrs: dict[str, AttrValue] = field(default_factory=dict)
    children: dict[str, Group | Dataset] = field(default_factory=dict)


def _pad8(b: bytes) -> bytes:
    return b + b"\0" * ((-len(b)) % 8)


def _message(mtype: int, body: bytes, flags: int = 0) -> bytes:
    body = _pad8(body)
    return struct.pack("<HHB3x", mtype, len(body), flags) + body


def _string_type(size: int, utf8: bool = False) -> bytes:
    # class 3 (string), version 1; padding 1 = null pad; charset 0 ascii / 1 utf-8
    bits = 1 | ((1 if utf8 else 0) << 4)
    return struct.pack("<B3sI", 0x13, bytes([bits, 0, 0]), size)


def _int_type() -> bytes:
    # class 0 (fixed point), version 1, little endian, signed; 64-bit.
    return struct.pack("<B3sIHH", 0x10, bytes([0x08, 0, 0]), 8, 0, 64)


_F32_TYPE = struct.pack("<B3sIHHBBBBI", 0x11, bytes([0x20, 31, 0]), 4, 0, 32, 23, 8, 0, 23, 127)


def _dataspace(dims: tuple[int, ...]) -> bytes:
    # Version 1; a rank-0 dataspace is a scalar.
    return struct.pack("<BBB5x", 1, len(dims), 0) + b"".join(struct.pack("<Q", d) for d in dims)


def _attribute(name: str, value: AttrValue) -> bytes:
    if isinstance(value, int):
        dtype, space, data = _int_type(), _dataspace(()), struct.pack("<q", value)
    elif isinstance(value, list):
        width = max((len(v) for v in value), default=1) or 1
        dtype, space = _string_type(width), _dataspace((len(value),))
        data = b"".join(v.ljust(width, b"\0") for v in value)
    else:
        raw = value.encode() if isinstance(value, str) else value
        dtype, space, data = (
            _string_type(max(1, len(raw)), isinstance(value, str)),
            _dataspace(()),
            raw,
        )
    nm = name.encode() + b"\0"
    head = struct.pack("<BxHHH", 1, len(nm), len(dtype), len(space))
    return _message(0x0C, head + _pad8(nm) + _pad8(dtype) + _pad8(space) + data)


class _Writer:
    def __init__(self) -> None:
        self.buf = bytearray(96)

    def alloc(self, data: bytes) -> int:
        addr = len(self.buf)
        self.buf += _pad8(data)
        return addr

    def object_header(self, messages: list[bytes]) -> int:
        body = b"".join(messages)
        return self.alloc(struct.pack("<BxHII4x", 1, len(messages), 1, len(body)) + body)

    def dataset(self, ds: Dataset) -> int:
        data_addr = self.alloc(ds.data)
        msgs = [
            _message(0x01, _dataspace(ds.shape)),
            _message(0x03, _F32_TYPE, flags=1),
            _message(0x05, bytes([2, 2, 2, 0])),
            _message(0x08, struct.pack("<BBQQ", 3, 1, data_addr, len(ds.data))),
        ]
        msgs += [_attribute(k, v) for k, v in ds.attrs.items()]
        return self.object_header(msgs)

    def group(self, g: Group) -> tuple[int, int, int]:
        """Write a group; returns (object header, B-tree, local heap) addresses."""
        children = {
            name: self.dataset(c) if isinstance(c, Dataset) else self.group(c)[0]
            for name, c in g.children.items()
        }
        heap = bytearray(b"\0" * 8)
        offsets: dict[str, int] = {}
        for name in sorted(children):
            offsets[name] = len(heap)
            heap += _pad8(name.encode() + b"\0")
        # One free block closes the heap; its "next" offset 1 is the library's end-of-list mark.
        free_at = len(heap)
        heap += struct.pack("<QQ", 1, 16)
        heap_data = self.alloc(bytes(heap))
        heap_addr = self.alloc(struct.pack("<4sB3xQQQ", b"HEAP", 0, len(heap), free_at, heap_data))
        names = sorted(children)
        chunks = [names[i : i + 2 * _LEAF_K] for i in range(0, len(names), 2 * _LEAF_K)] or [[]]
        snods: list[int] = []
        for chunk in chunks:
            node = bytearray(struct.pack("<4sBxH", b"SNOD", 1, len(chunk)))
            for name in chunk:
                node += struct.pack("<QQI4x16x", offsets[name], children[name], 0)
            node += b"\0" * (8 + 2 * _LEAF_K * 40 - len(node))
            snods.append(self.alloc(bytes(node)))
        tree = bytearray(struct.pack("<4sBBHQQ", b"TREE", 0, 0, len(snods), UNDEF, UNDEF))
        tree += struct.pack("<Q", 0)
        for chunk, snod in zip(chunks, snods, strict=True):
            tree += struct.pack("<QQ", snod, offsets[chunk[-1]] if chunk else 0)
        tree += b"\0" * (24 + (2 * _INTERNAL_K + 1) * 8 + 2 * _INTERNAL_K * 8 - len(tree))
        tree_addr = self.alloc(bytes(tree))
        msgs = [_message(0x11, struct.pack("<QQ", tree_addr, heap_addr))]
        msgs += [_attribute(k, v) for k, v in g.attrs.items()]
        return self.object_header(msgs), tree_addr, heap_addr


def build_hdf5(root: Group) -> bytes:
    """Serialise ``root`` (and everything below it) into an HDF5 file."""
    w = _Writer()
    header, tree, heap = w.group(root)
    eof = len(w.buf)
    sb = b"\x89HDF\r\n\x1a\n" + bytes([0, 0, 0, 0, 0, 8, 8, 0])
    sb += struct.pack("<HHI", _LEAF_K, _INTERNAL_K, 0)
    sb += struct.pack("<QQQQ", 0, UNDEF, eof, UNDEF)
    sb += struct.pack("<QQI4xQQ", 0, header, 1, tree, heap)
    w.buf[: len(sb)] = sb
    return bytes(w.buf)

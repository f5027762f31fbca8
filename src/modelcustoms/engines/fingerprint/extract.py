"""Locate tensors in safetensors and GGUF files and read selected rows by offset.

Only headers are parsed in full; tensor data is read row by row (a row is ``dims[0]`` weights
in GGUF, the last dimension in safetensors, so a row is always contiguous bytes). Every read
is bounded by :data:`MAX_TENSOR_BYTES` and checked against the file size first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from modelcustoms.artifacts.blob import Blob
from modelcustoms.artifacts.gguf import GGML_TYPES, GGUFArray, read_gguf
from modelcustoms.artifacts.safetensors_header import (
    MAX_HEADER_BYTES,
    HeaderError,
    read_header_document,
)
from modelcustoms.engines.fingerprint.dequant import (
    F32,
    SAFETENSORS_DTYPES,
    UnsupportedType,
    dequantize,
)

MAX_TENSOR_BYTES = 64 * 1024**2
"""Largest single tensor read whole (a 0.5B model's projections are a few MB)."""
MAX_VOCAB = 1_000_000
MAX_PREFIX_BYTES = 128 * 1024**2
"""Largest header kept in memory (a 262k-token GGUF vocabulary and its merges is ~7 MB)."""
PREFIX_STEP = 1024 * 1024
STRING_CHUNK = 64 * 1024
"""Read size while walking a string array: small, so the walk never reads far past it."""


class ExtractError(Exception):
    """The model cannot be read for fingerprinting (format, type or bounds)."""


@dataclass(frozen=True, slots=True)
class TensorRef:
    """Where one 2-D tensor's data lies and how it is encoded."""

    name: str
    """Canonical name (GGUF style: ``token_embd``, ``blk.3.attn_q``)."""
    stored_name: str
    rows: int
    cols: int
    ggml_type: int
    offset: int
    """Absolute file offset of the first row."""
    row_bytes: int

    @property
    def nbytes(self) -> int:
        """Bytes of the whole tensor."""
        return self.rows * self.row_bytes


class Reader(Blob):
    """The model file as the extractor reads it: every byte asked of it is counted.

    Headers are walked sequentially and some parts twice (GGUF's token list), so the file's
    leading bytes are kept in memory as one growing prefix, fetched in chunks no larger than
    :data:`PREFIX_STEP` beyond what the parser asks for (a remote header costs a few requests
    and overshoots its end by at most one step or one parser window). Once :meth:`seal` is
    called, reads past the prefix are exact reads (rows scattered over the file) through
    :meth:`Blob.read_exact`, so a remote blob fetches only those bytes.
    """

    def __init__(self, inner: Blob) -> None:
        self.inner = inner
        self.size = inner.size
        self.bytes_read = 0
        self._prefix = bytearray()
        self._sealed = False

    def seal(self) -> None:
        """The header is parsed: stop growing the prefix."""
        self._sealed = True

    def read(self, offset: int, length: int) -> bytes:
        end = min(self.size, offset + length)
        if offset < 0 or offset >= end:
            return b""
        have = len(self._prefix)
        if end <= have:
            return bytes(self._prefix[offset:end])
        # NOTE: parsers skip short spans without reading them, so a read a little past the
        # prefix still extends it (the gap included) instead of starting a scattered read.
        if not self._sealed and offset <= have + PREFIX_STEP and end <= MAX_PREFIX_BYTES:
            step = min(max(have, 64 * 1024), PREFIX_STEP)
            stop = min(self.size, MAX_PREFIX_BYTES, max(end, have + step))
            self._prefix += self._fetch(have, stop - have)
            return bytes(self._prefix[offset:end])
        return self._fetch(offset, end - offset)

    def read_many(self, spans: Sequence[tuple[int, int]]) -> list[bytes]:
        """Scattered reads (rows): from the prefix when held, else together from the file."""
        out: list[bytes | None] = [None] * len(spans)
        wanted: list[int] = []
        for i, (offset, length) in enumerate(spans):
            if self._sealed and offset >= 0 and offset + length <= len(self._prefix):
                out[i] = bytes(self._prefix[offset : offset + length])
            else:
                wanted.append(i)
        if self._sealed and wanted:
            got = self.inner.read_many([spans[i] for i in wanted])
            self.bytes_read += sum(len(g) for g in got)
            for i, data in zip(wanted, got, strict=True):
                out[i] = data
        else:
            for i in wanted:
                out[i] = self.read(*spans[i])
        return [b if b is not None else b"" for b in out]

    def _fetch(self, offset: int, length: int) -> bytes:
        data = self.inner.read_exact(offset, length)
        self.bytes_read += len(data)
        return data


@dataclass(slots=True)
class ModelView:
    """The tensors and vocabulary of one model file, and what was read from it."""

    blob: Reader
    format: str
    tensors: dict[str, TensorRef] = field(default_factory=dict)
    vocab: list[str] | None = None
    """Token strings by id (GGUF ``tokenizer.ggml.tokens``), when the file carries them."""
    # NOTE: references in one library share layers and many probe tokens; what was decoded
    # for one is kept for the next, so matching a whole library reads each byte once.
    _rows: dict[tuple[str, int], F32] = field(default_factory=dict)
    _whole: dict[str, F32] = field(default_factory=dict)

    @property
    def bytes_read(self) -> int:
        """Bytes read from the file so far, headers included."""
        return self.blob.bytes_read

    def token_keys(self, n_rows: int) -> list[str]:
        """Alignment keys per embedding row: the token string, else ``#id``.

        Rows past the vocabulary (padding to a multiple of 64 or 128) keep ``#id`` keys.
        """
        vocab = self.vocab or []
        return [vocab[i] if i < len(vocab) else f"#{i}" for i in range(n_rows)]

    def read_rows(self, ref: TensorRef, rows: list[int]) -> F32:
        """Dequantized rows (in the order given) as a (len(rows), cols) float32 array."""
        if any(r < 0 or r >= ref.rows for r in rows):
            msg = f"row index out of range for {ref.stored_name}"
            raise ExtractError(msg)
        missing = sorted({r for r in rows if (ref.name, r) not in self._rows})
        spans = [(ref.offset + r * ref.row_bytes, ref.row_bytes) for r in missing]
        for r, raw in zip(missing, self._read_many(spans), strict=True):
            self._rows[(ref.name, r)] = self._decode(ref, raw)
        out = np.empty((len(rows), ref.cols), dtype=np.float32)
        for i, r in enumerate(rows):
            out[i] = self._rows[(ref.name, r)]
        return out

    def read_all(self, ref: TensorRef) -> F32:
        """The whole tensor as (rows, cols) float32."""
        if ref.nbytes > MAX_TENSOR_BYTES:
            msg = f"{ref.stored_name} is {ref.nbytes} bytes (limit {MAX_TENSOR_BYTES})"
            raise ExtractError(msg)
        whole = self._whole.get(ref.name)
        if whole is None:
            raw = self._read(ref.offset, ref.nbytes)
            whole = self._whole[ref.name] = self._decode(ref, raw).reshape(ref.rows, ref.cols)
        return whole

    def _read_many(self, spans: list[tuple[int, int]]) -> list[bytes]:
        for offset, length in spans:
            if offset < 0 or offset + length > self.blob.size:
                msg = f"tensor data [{offset}, {offset + length}) lies outside the file"
                raise ExtractError(msg)
        got = self.blob.read_many(spans)
        for (offset, length), data in zip(spans, got, strict=True):
            if len(data) != length:
                msg = f"short read at {offset}"
                raise ExtractError(msg)
        return got

    def _read(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset + length > self.blob.size:
            msg = f"tensor data [{offset}, {offset + length}) lies outside the file"
            raise ExtractError(msg)
        data = self.blob.read(offset, length)
        if len(data) != length:
            msg = f"short read at {offset}"
            raise ExtractError(msg)
        return data

    @staticmethod
    def _decode(ref: TensorRef, raw: bytes) -> F32:
        try:
            out = dequantize(ref.ggml_type, raw)
        except (ValueError, UnsupportedType) as exc:
            raise ExtractError(f"{ref.stored_name}: {exc}") from exc
        # NOTE: NaN or inf weights would turn every correlation into NaN (a silent non-answer).
        if not np.isfinite(out).all():
            msg = f"{ref.stored_name} holds NaN or infinite weights"
            raise ExtractError(msg)
        return out


_ST_LAYER = re.compile(
    r"^(?:model\.|transformer\.|language_model\.model\.)?(?:layers|h|blocks)\.(\d+)\.(.+)\.weight$"
)
_ST_ROLES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "mlp.up_proj": "ffn_up",
    "mlp.gate_proj": "ffn_gate",
}
_ST_EMBED = {
    "model.embed_tokens.weight",
    "embed_tokens.weight",
    "transformer.wte.weight",
    "language_model.model.embed_tokens.weight",
    "embeddings.word_embeddings.weight",
    "bert.embeddings.word_embeddings.weight",
}


_BERT_LAYER = re.compile(
    r"^(?:bert\.)?encoder\.layer\.(\d+)\.attention\.self\.(query|key|value)\.weight$"
)
_BERT_ROLES = {"query": "attn_q", "key": "attn_k", "value": "attn_v"}


def canonical_name(stored: str) -> str | None:
    """GGUF-style name for a tensor we may fingerprint, or None."""
    bert = _BERT_LAYER.match(stored)
    if bert:
        return f"blk.{bert.group(1)}.{_BERT_ROLES[bert.group(2)]}"
    if stored.endswith(".weight") and stored.startswith(("token_embd.", "blk.")):
        return stored[: -len(".weight")]
    if stored in _ST_EMBED:
        return "token_embd"
    m = _ST_LAYER.match(stored)
    if m and m.group(2) in _ST_ROLES:
        return f"blk.{m.group(1)}.{_ST_ROLES[m.group(2)]}"
    return None


def open_model(blob: Blob, vocab: list[str] | None = None) -> ModelView:
    """Index the fingerprintable tensors of a GGUF or safetensors file.

    ``vocab`` (token strings by id, e.g. from :func:`vocab_from_tokenizer_json`) is used when
    the file itself carries none, so safetensors embeddings align by string too.
    """
    reader = Reader(blob)
    head = reader.head(8)
    if head[:4] == b"GGUF":
        view = _open_gguf(reader)
    elif len(head) == 8 and 2 <= int.from_bytes(head, "little") <= min(blob.size, MAX_HEADER_BYTES):
        view = _open_safetensors(reader)
    else:
        msg = "neither GGUF nor safetensors"
        raise ExtractError(msg)
    reader.seal()
    if view.vocab is None:
        view.vocab = vocab
    return view


def vocab_from_tokenizer_json(data: bytes) -> list[str] | None:
    """Token strings by id from a Hugging Face ``tokenizer.json`` (BPE/WordPiece/Unigram)."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    model = doc.get("model") if isinstance(doc, dict) else None
    raw = model.get("vocab") if isinstance(model, dict) else None
    by_id: dict[int, str] = {}
    if isinstance(raw, dict):
        by_id = {i: str(t) for t, i in raw.items() if isinstance(i, int) and 0 <= i < MAX_VOCAB}
    elif isinstance(raw, list):
        by_id = {i: str(e[0]) for i, e in enumerate(raw[:MAX_VOCAB]) if isinstance(e, list) and e}
    added = doc.get("added_tokens") if isinstance(doc, dict) else None
    for t in added if isinstance(added, list) else []:
        if isinstance(t, dict) and isinstance(t.get("id"), int) and 0 <= t["id"] < MAX_VOCAB:
            by_id.setdefault(t["id"], str(t.get("content", "")))
    if not by_id:
        return None
    return [by_id.get(i, "") for i in range(max(by_id) + 1)]


def _open_gguf(blob: Reader) -> ModelView:
    gf = read_gguf(blob)
    if not gf.complete or gf.data_start is None:
        why = gf.error.message if gf.error else "incomplete header"
        raise ExtractError(f"GGUF header: {why}")
    view = ModelView(blob, "gguf")
    kv = next((kv for kv in gf.kvs if kv.key == "tokenizer.ggml.tokens"), None)
    little = gf.header is not None and gf.header.byte_order == "little"
    if kv is not None and isinstance(kv.value, GGUFArray) and little and gf.header:
        # NOTE: re-read only this array with every item kept; keeping every item of every
        # array (merges, scores, ...) would cost memory out of proportion to the file.
        view.vocab = _gguf_strings(blob, kv.offset, gf.header.version >= 2)
    for t in gf.tensors:
        name = canonical_name(t.name)
        gt = GGML_TYPES.get(t.ggml_type)
        if name is None or gt is None or len(t.dims) != 2 or t.dims[0] % gt.block_size:
            continue
        row_bytes = t.dims[0] // gt.block_size * gt.type_size
        ref = TensorRef(
            name, t.name, t.dims[1], t.dims[0], t.ggml_type, gf.data_start + t.offset, row_bytes
        )
        if ref.offset + ref.nbytes <= blob.size:
            view.tensors[name] = ref
    return view


def _gguf_strings(blob: Blob, offset: int, wide: bool) -> list[str] | None:
    """The string array of the metadata entry at ``offset`` (None when it is not one)."""
    lw = 8 if wide else 4
    pos = offset
    key_len = int.from_bytes(blob.read(pos, lw), "little")
    pos += lw + key_len
    head = blob.read(pos, 8 + lw)
    if len(head) < 8 + lw or head[:8] != b"\x09\0\0\0\x08\0\0\0":  # ARRAY of STRING
        return None
    count = int.from_bytes(head[8:], "little")
    pos += 8 + lw
    if count > MAX_VOCAB or count * lw > blob.size - pos:
        return None
    out: list[str] = []
    buf, start = b"", pos
    for _ in range(count):
        if pos + lw > start + len(buf):
            buf, start = blob.read(pos, STRING_CHUNK), pos
        n = int.from_bytes(buf[pos - start : pos - start + lw], "little")
        if n > 65_536 or pos + lw + n > blob.size:
            return None
        pos += lw
        if pos + n > start + len(buf):
            buf, start = blob.read(pos, max(n, STRING_CHUNK)), pos
        out.append(buf[pos - start : pos - start + n].decode("utf-8", "replace"))
        pos += n
    return out


def _open_safetensors(blob: Reader) -> ModelView:
    try:
        n, doc = read_header_document(blob)
    except HeaderError as exc:
        raise ExtractError(f"safetensors {exc}") from exc
    view = ModelView(blob, "safetensors")
    base = 8 + n
    for stored, info in doc.items():
        name = canonical_name(stored)
        if name is None or not isinstance(info, dict):
            continue
        enc = SAFETENSORS_DTYPES.get(str(info.get("dtype")))
        shape, offs = info.get("shape"), info.get("data_offsets")
        if enc is None or not _ints(shape, 2) or not _ints(offs, 2):
            continue
        assert isinstance(shape, list) and isinstance(offs, list)
        rows, cols = shape
        gtype, width = enc
        if offs[1] - offs[0] != rows * cols * width or base + offs[1] > blob.size:
            continue
        view.tensors[name] = TensorRef(
            name, stored, rows, cols, gtype, base + offs[0], cols * width
        )
    return view


def _ints(v: object, n: int) -> bool:
    return (
        isinstance(v, list)
        and len(v) == n
        and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v)
    )

"""An artifact is one byte sequence that was inspected, bound to its sha256."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Format(StrEnum):
    """A file format, detected from content (magic bytes and structure), never from the name."""

    PICKLE = "pickle"
    PYTORCH_ZIP = "pytorch-zip"
    PYTORCH_LEGACY = "pytorch-legacy"
    TORCHSCRIPT = "torchscript"
    NUMPY = "numpy-npy"
    NUMPY_NPZ = "numpy-npz"
    KERAS_V3 = "keras-v3"
    HDF5 = "hdf5"
    SAVEDMODEL = "tf-savedmodel"
    ONNX = "onnx"
    GGUF = "gguf"
    GGML_LEGACY = "ggml-legacy"
    SAFETENSORS = "safetensors"
    ZIP = "zip"
    TAR = "tar"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"
    LZMA = "lzma"
    ZLIB = "zlib"
    LZ4 = "lz4"
    ZSTD = "zstd"
    SEVENZIP = "7z"
    PYTHON = "python"
    JSON = "json"
    TEXT = "text"
    UNKNOWN = "unknown"


class Artifact(BaseModel):
    """One inspected byte sequence: a file, or a member inside a container."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    """Path relative to the subject root; members of containers are written ``outer!inner``."""
    size: int = Field(ge=0)
    """Size in bytes of the content that was hashed and analysed."""
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    """Digest of exactly the bytes that were analysed."""
    format: Format
    """Format detected from content."""
    format_hint: str | None = None
    """What the name suggested (an extension), recorded only as a hint."""
    parent: str | None = None
    """Path of the container this artifact was read from, if any."""

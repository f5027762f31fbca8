"""A model reference: one place where software names a model or a model service."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ReferenceKind(StrEnum):
    """What the reference names."""

    HF_MODEL = "hf-model"
    """A hub repo id (``org/name``) loaded or served."""
    OLLAMA = "ollama"
    """An Ollama tag (``qwen2.5:7b``)."""
    GGUF_FILE = "gguf-file"
    """A GGUF file on disk (identity read from its header)."""
    MODEL_FILE = "model-file"
    """A safetensors or ONNX file on disk (identity from its metadata, the config.json beside
    it, or its folder name)."""
    API_ENDPOINT = "api-endpoint"
    """A model service named by its URL (an OpenAI-compatible base URL)."""
    SDK_CLASS = "sdk-class"
    """A provider's client class (``ChatTongyi``) without an explicit model."""
    MODEL_STRING = "model-string"
    """A model name sent to an API or router (``deepseek-chat``, ``deepseek/deepseek-chat``)."""


class Via(StrEnum):
    """How the value reached the place that uses it."""

    LITERAL = "literal"
    CONSTANT = "constant"
    """Through a named constant, attribute or f-string."""
    ENV_DEFAULT = "env-default"
    """The default of an environment lookup (``os.getenv("X", "default")``, ``${X:-default}``)."""
    DICT = "dict"
    """A value of a dict literal, looked up by a constant key."""
    CONFIG_KEY = "config-key"
    """A configuration key whose name says it holds a model (``LLM_MODEL=...``)."""
    FILE_HEADER = "file-header"
    """Metadata of a model file (GGUF ``general.*`` keys)."""
    FILE_NAME = "file-name"
    """Only the model file's name or folder names it (a weak identity)."""


class ModelReference(BaseModel):
    """One model or model service that software uses, with where it comes from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ReferenceKind
    model: str | None = None
    endpoint: str | None = None
    file: str
    line: int | None = Field(default=None, ge=1)
    cell: int | None = Field(default=None, ge=0)
    """Notebook cell index (``line`` is then the line inside the cell)."""
    publisher: str | None = None
    """Knowledge-base publisher id (or the operator's name for a provider's own models)."""
    publisher_country: str | None = None
    host_operator: str | None = None
    """Who serves the model; None when it runs locally (hub weights, Ollama, a GGUF file)."""
    host_country: str | None = None
    lineage: tuple[str, ...] = ()
    """Family chain, nearest first: ``deepseek-r1-distill (deepseek, CN)``, ``qwen2.5 (...)``."""
    confidence: float = Field(ge=0.0, le=1.0)
    via: Via
    unresolved: str | None = None
    """Why publisher or country is unknown, when it is."""

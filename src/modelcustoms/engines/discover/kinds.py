"""The discover engine's enumerations, without the report model.

They carry the same values as :mod:`modelcustoms.core.references` (a test keeps them equal):
the scanners import these so that ``customs discover -f json`` never loads the validated
report model (its import alone costs more than a whole scan of a small repository).
"""

from __future__ import annotations

from enum import StrEnum


class ReferenceKind(StrEnum):
    """What kind of reference (values of ``core.references.ReferenceKind``)."""

    HF_MODEL = "hf-model"
    OLLAMA = "ollama"
    GGUF_FILE = "gguf-file"
    MODEL_FILE = "model-file"
    API_ENDPOINT = "api-endpoint"
    SDK_CLASS = "sdk-class"
    MODEL_STRING = "model-string"


class Via(StrEnum):
    """How the value reached the place that uses it (values of ``core.references.Via``)."""

    LITERAL = "literal"
    CONSTANT = "constant"
    ENV_DEFAULT = "env-default"
    DICT = "dict"
    CONFIG_KEY = "config-key"
    FILE_HEADER = "file-header"
    FILE_NAME = "file-name"


SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
"""Order of ``core.Severity`` values (for ``--fail-on`` on the fast path)."""

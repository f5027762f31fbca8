"""Target specs → targets: ``openai:URL#MODEL`` (or a bare ``http(s)://…#MODEL``),
``gguf:PATH``, ``transformers:PATH``, ``fake:echo|refuse|lipsum|fixed:TEXT``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import assert_never

import httpx

from modelcustoms.engines.audit.interface import Target, TargetSpecError
from modelcustoms.engines.audit.targets.fake import FakeKind, FakeTarget
from modelcustoms.engines.audit.targets.openai import HttpOptions, OpenAITarget

__all__ = [
    "FakeKind",
    "FakeTarget",
    "HttpOptions",
    "OpenAITarget",
    "TargetKind",
    "TargetOptions",
    "open_target",
    "target_kind",
]


class TargetKind(StrEnum):
    """How a target is reached."""

    OPENAI = "openai"
    GGUF = "gguf"
    TRANSFORMERS = "transformers"
    FAKE = "fake"


@dataclass(frozen=True, slots=True)
class TargetOptions:
    """Options for opening a target."""

    http: HttpOptions = field(default_factory=HttpOptions)
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable holding the endpoint's key (never a command-line argument)."""
    threads: int = 1
    family: str | None = None
    transport: httpx.AsyncBaseTransport | None = None
    """Injected HTTP transport (tests)."""


def target_kind(spec: str) -> tuple[TargetKind, str]:
    """Split a spec into its kind and the rest."""
    if spec.startswith(("http://", "https://")):
        return TargetKind.OPENAI, spec
    kind, sep, rest = spec.partition(":")
    if not sep or not rest:
        msg = f"cannot read target {spec!r}"
        raise TargetSpecError(
            msg, hint="use openai:URL#MODEL, gguf:PATH, transformers:PATH or fake:KIND"
        )
    try:
        return TargetKind(kind), rest
    except ValueError:
        msg = f"unknown target kind {kind!r} in {spec!r}"
        raise TargetSpecError(
            msg, hint="kinds: " + ", ".join(k.value for k in TargetKind)
        ) from None


def open_target(spec: str, options: TargetOptions | None = None) -> Target:
    """Open the target a spec names (HTTP targets connect lazily)."""
    opts = options or TargetOptions()
    kind, rest = target_kind(spec)
    if kind is TargetKind.OPENAI:
        base, _, model = rest.partition("#")
        if not base.startswith(("http://", "https://")) or not model:
            msg = f"an OpenAI-compatible target is URL#MODEL, got {rest!r}"
            raise TargetSpecError(msg, hint="e.g. openai:http://127.0.0.1:8080/v1#qwen")
        return OpenAITarget(
            base,
            model,
            api_key=os.environ.get(opts.api_key_env),
            options=opts.http,
            transport=opts.transport,
            family=opts.family,
        )
    if kind is TargetKind.GGUF:
        from modelcustoms.engines.audit.targets.local import LlamaCppTarget

        return LlamaCppTarget(Path(rest), n_threads=opts.threads)
    if kind is TargetKind.TRANSFORMERS:
        from modelcustoms.engines.audit.targets.local import TransformersTarget

        return TransformersTarget(Path(rest))
    if kind is TargetKind.FAKE:
        name, _, text = rest.partition(":")
        try:
            fake = FakeKind(name)
        except ValueError:
            msg = f"unknown fake target {name!r}"
            raise TargetSpecError(
                msg, hint="fakes: " + ", ".join(k.value for k in FakeKind)
            ) from None
        return FakeTarget(fake, text)
    assert_never(kind)

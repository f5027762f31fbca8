"""The gateway configuration file (YAML): upstreams, public models, data rules, keys, audit.

Parsed in two steps (YAML → raw mapping → validated models, ``extra="forbid"``), and every
error is reported at once with its location, so a typo in a rule fails loudly at start-up or
at reload instead of silently admitting traffic.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from modelcustoms.gateway.errors import GatewayError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
DataClass = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Detector = Literal["email", "phone", "card", "iban", "national-id"]
ALL_DETECTORS: tuple[Detector, ...] = ("email", "phone", "card", "iban", "national-id")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Price(_Strict):
    """USD per million tokens, as provider price lists state them."""

    input_per_mtok: Decimal = Decimal(0)
    output_per_mtok: Decimal = Decimal(0)


class Hosted(_Strict):
    """A hosted model: its id at the operator, and the operator (a knowledge-base provider)."""

    model: str
    operator: str
    """Knowledge-base provider id (``kb/data/providers.json``), e.g. ``mistral-api``."""


class Upstream(_Strict):
    """One OpenAI-compatible server and the model it serves."""

    id: str
    url: str
    """Base URL up to (not including) ``/v1``, e.g. ``http://127.0.0.1:8080`` or
    ``https://api.mistral.ai`` (TLS verified against the system's or ``ca_file``'s CAs)."""
    model: str
    """The model name the upstream expects in the request body."""
    weights_sha256: str | None = None
    """sha256 of the served weights file: its passport must bind this digest."""
    hosted: Hosted | None = None
    operator_country: Country | None = None
    """Country of whoever operates this server (self-hosted); hosted: from the kb provider."""
    quality: float = Field(default=1.0, ge=0, le=1)
    price: Price = Price()
    redact: tuple[Detector, ...] | bool = False
    """Redact these kinds of personal data from prompts sent here (``true``: all of them)."""
    api_key_env: str | None = None
    """Environment variable holding the upstream's own API key (sent as a bearer token)."""
    timeout_s: float = Field(default=60.0, gt=0)
    """Longest silence from the upstream: before the first byte, and between stream chunks."""
    connect_timeout_s: float = Field(default=2.0, gt=0)

    ca_file: Path | None = None
    """PEM bundle that signs an ``https://`` upstream's certificate (default: the system's)."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/:\s]+(:\d+)?/?$", value):
            msg = "write http://HOST:PORT or https://HOST[:PORT] (no path)"
            raise ValueError(msg)
        return value.rstrip("/")

    @field_validator("weights_sha256")
    @classmethod
    def _digest(cls, value: str | None) -> str | None:
        if value is not None and not _SHA256.match(value):
            msg = "a sha256 is 64 lowercase hex digits"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _bound(self) -> Upstream:
        if (self.weights_sha256 is None) == (self.hosted is None):
            msg = "give exactly one of weights_sha256 (self-hosted) or hosted (an API model)"
            raise ValueError(msg)
        return self

    def detectors(self) -> tuple[Detector, ...]:
        """The redaction detectors on this route."""
        if self.redact is True:
            return ALL_DETECTORS
        if self.redact is False:
            return ()
        return self.redact


class Model(_Strict):
    """A public model name and the upstreams that may serve it (cheapest eligible first)."""

    name: str
    routes: tuple[str, ...] = Field(min_length=1)
    quality_floor: float = Field(default=0.0, ge=0, le=1)
    kind: Literal["chat", "embeddings"] = "chat"


class Rule(_Strict):
    """Prompts carrying any of ``data_classes`` never reach the listed countries."""

    id: str
    data_classes: tuple[DataClass, ...] = Field(min_length=1)
    deny_operator_countries: tuple[Country, ...] = ()
    """Where the model is hosted: the operator's country."""
    deny_origin_countries: tuple[Country, ...] = ()
    """Where the model comes from: publisher and lineage countries in its passported report."""

    @model_validator(mode="after")
    def _something(self) -> Rule:
        if not self.deny_operator_countries and not self.deny_origin_countries:
            msg = "a rule must deny at least one operator or origin country"
            raise ValueError(msg)
        return self


class Key(_Strict):
    """A virtual API key, stored as the sha256 of the key (see ``customs gateway keys new``)."""

    id: str
    sha256: str
    models: tuple[str, ...] = ("*",)
    budget_usd: Decimal | None = None
    rpm: int | None = Field(default=None, gt=0)

    @field_validator("sha256")
    @classmethod
    def _digest(cls, value: str) -> str:
        if not _SHA256.match(value):
            msg = "a sha256 is 64 lowercase hex digits"
            raise ValueError(msg)
        return value


class Passports(_Strict):
    """Where verified passports come from: a folder of envelopes + reports, or the registry."""

    folder: Path | None = None
    public_keys: tuple[Path, ...] = ()
    registry: str | None = None
    """A registry database URL (``sqlite:///…`` or ``postgresql://…``)."""
    refresh_s: float = Field(default=30.0, gt=0)
    """How often registry passports are looked up again (a folder reloads when it changes)."""

    @model_validator(mode="after")
    def _one(self) -> Passports:
        if (self.folder is None) == (self.registry is None):
            msg = "give exactly one of folder (with public_keys) or registry"
            raise ValueError(msg)
        if not self.public_keys:
            msg = "public_keys: the keys whose passports you trust"
            raise ValueError(msg)
        return self


class Audit(_Strict):
    """The hash-chained audit log: a file (one process) or the shared PostgreSQL database."""

    path: Path | None = None
    postgres: bool = False
    """Append to the ``gateway_audit`` table of ``shared.postgres_url`` (several processes)."""
    prompts: bool = False
    """Also record prompt text (off: only its sha256)."""
    fsync: bool = False


class Shared(_Strict):
    """State shared by several gateway processes."""

    postgres_url: str | None = None


class Listen(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8400, ge=0, le=65535)


class GatewayConfig(_Strict):
    """The whole file."""

    listen: Listen = Listen()
    passports: Passports
    upstreams: tuple[Upstream, ...] = Field(min_length=1)
    models: tuple[Model, ...] = Field(min_length=1)
    rules: tuple[Rule, ...] = ()
    keys: tuple[Key, ...] = ()
    audit: Audit = Audit()
    shared: Shared = Shared()
    max_prompt_chars: int = Field(default=200_000, gt=0)
    """Longer prompts are refused on redacting routes rather than sent unredacted."""

    @model_validator(mode="after")
    def _references(self) -> GatewayConfig:
        problems: list[str] = []
        ups = [u.id for u in self.upstreams]
        for kind, names in (("upstream", ups), ("model", [m.name for m in self.models])):
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                problems.append(f"{kind} ids repeated: {', '.join(dup)}")
        problems += [
            f"model {m.name}: route {r!r} is not an upstream id"
            for m in self.models
            for r in m.routes
            if r not in ups
        ]
        problems += [
            f"key {k.id}: model {n!r} is not a model name"
            for k in self.keys
            for n in k.models
            if n != "*" and n not in {m.name for m in self.models}
        ]
        if self.audit.postgres and not self.shared.postgres_url:
            problems.append("audit.postgres needs shared.postgres_url")
        if not self.audit.postgres and self.audit.path is None:
            problems.append("audit: give a path or postgres: true (the audit log is not optional)")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def parse_config(text: str, *, base: Path | None = None, where: str = "config") -> GatewayConfig:
    """Validate a configuration; relative paths are taken from ``base``."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"{where}: not valid YAML: {exc}"
        raise GatewayError(msg) from exc
    if not isinstance(raw, dict):
        msg = f"{where}: the gateway configuration is a mapping"
        raise GatewayError(msg)
    try:
        cfg = GatewayConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        ]
        msg = f"{where}: invalid gateway configuration:\n  " + "\n  ".join(lines)
        raise GatewayError(msg) from exc
    return _rebase(cfg, base) if base is not None else cfg


def load_config(path: Path) -> GatewayConfig:
    """Read and validate the configuration file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read the gateway configuration {path}: {exc.strerror or exc}"
        raise GatewayError(msg) from exc
    return parse_config(text, base=path.parent, where=str(path))


def _rebase(cfg: GatewayConfig, base: Path) -> GatewayConfig:
    def fix(p: Path | None) -> Path | None:
        return None if p is None or p.is_absolute() else base / p

    passports = cfg.passports.model_copy(
        update={
            "folder": fix(cfg.passports.folder) or cfg.passports.folder,
            "public_keys": tuple(fix(k) or k for k in cfg.passports.public_keys),
        }
    )
    audit = cfg.audit.model_copy(update={"path": fix(cfg.audit.path) or cfg.audit.path})
    ups = tuple(
        u.model_copy(update={"ca_file": fix(u.ca_file) or u.ca_file}) for u in cfg.upstreams
    )
    return cfg.model_copy(update={"passports": passports, "audit": audit, "upstreams": ups})

"""Row models of the knowledge base: publishers, families (with releases), licences, the
llama.cpp pre-tokenizer table, and API/model providers (hosts, SDK classes, model names).

Every row names the public source(s) it was taken from and says whether it was checked
(``verified``) and how (``verification``). Rows reject unknown fields, so a typo in a data file
is an error instead of a silently ignored fact.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from modelcustoms.core import Relation

_SOURCE = re.compile(r"^(https?://\S+|pkg:\S+)$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_ID = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _source(value: str) -> str:
    if not _SOURCE.match(value):
        msg = f"not a source URL (http(s):// or pkg:): {value!r}"
        raise ValueError(msg)
    return value


def _country(value: str) -> str:
    if not _COUNTRY.match(value):
        msg = f"not an ISO 3166-1 alpha-2 code: {value!r}"
        raise ValueError(msg)
    return value


def _row_id(value: str) -> str:
    if not _ID.match(value):
        msg = f"ids are lowercase letters, digits, '.' and '-': {value!r}"
        raise ValueError(msg)
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        msg = f"invalid regular expression {value!r}: {exc}"
        raise ValueError(msg) from None
    return value


def _sha256(value: str) -> str:
    if not _SHA256.match(value):
        msg = f"not a sha256 hex digest: {value!r}"
        raise ValueError(msg)
    return value


SourceUrl = Annotated[str, AfterValidator(_source)]
Country = Annotated[str, AfterValidator(_country)]
RowId = Annotated[str, AfterValidator(_row_id)]
Pattern = Annotated[str, AfterValidator(_regex)]
Sha256 = Annotated[str, AfterValidator(_sha256)]
Sources = Annotated[tuple[SourceUrl, ...], Field(min_length=1)]


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WatchListing(_Row):
    """One appearance of a publisher (or its parent) on a government list, as of a date."""

    name: str
    """The list, e.g. ``BIS Entity List (15 CFR 744 Supp. 4)``, ``DoD 1260H``, ``OFAC SDN``."""
    status: Literal["listed", "named", "recommended", "reported", "delisted", "parent-listed"]
    date: str | None = Field(default=None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")
    detail: str = ""
    verified: bool = False
    source: SourceUrl


class Publisher(_Row):
    """An organisation that releases models, with its jurisdiction."""

    id: RowId
    name: str
    legal_entity: str
    hf_namespaces: tuple[str, ...] = ()
    """Hub namespaces (case-insensitive) whose repos this publisher releases."""
    hq_country: Country
    incorporation_country: Country | None = None
    """Where the top holding entity is incorporated when it differs (e.g. KY)."""
    parent: str = ""
    ultimate_parent_country: Country
    """What a policy should key on: a subsidiary abroad does not change who controls it."""
    org_type: str = ""
    watchlists: tuple[WatchListing, ...] = ()
    foreign_adversary_nexus: bool = False
    """Ultimate parent in a country named by 15 CFR 791.4 (see the list in the data file)."""
    verified: bool
    verification: str
    sources: Sources
    notes: str = ""


class Release(_Row):
    """One released checkpoint shape of a family: the numbers that make its config signature."""

    name: str
    repo: str | None = None
    """Reference repo id of the release, e.g. ``Qwen/Qwen2.5-7B``."""
    version: str | None = None
    size: str | None = None
    hidden: int | None = Field(default=None, gt=0)
    layers: int | None = Field(default=None, gt=0)
    heads: int | None = Field(default=None, gt=0)
    kv_heads: int | None = Field(default=None, gt=0)
    intermediate: int | None = Field(default=None, gt=0)
    vocab: int | None = Field(default=None, gt=0)
    rope_theta: float | None = Field(default=None, gt=0)
    max_position: int | None = Field(default=None, gt=0)
    experts: int | None = Field(default=None, gt=0)
    rope_scaling_factor: float | None = Field(default=None, gt=0)
    base_family: RowId | None = None
    """Overrides the family's ``base_family`` for this release (e.g. R1 distills)."""
    verified: bool = True
    notes: str = ""

    @property
    def source(self) -> str | None:
        """Where the release's config can be read."""
        return f"https://huggingface.co/{self.repo}/blob/main/config.json" if self.repo else None


class Family(_Row):
    """A model family: its public signatures (architecture, dimensions, tokenizer, names)."""

    id: RowId
    name: str
    line: str
    """Coarse lineage line shared by generations (``qwen``, ``llama``)."""
    publisher: RowId
    base_family: RowId | None = None
    """The family this one was built on (a multimodal model on an LLM, a distillation)."""
    base_relation: Relation | None = None
    architectures: tuple[str, ...] = ()
    model_types: tuple[str, ...] = ()
    tokenizer_classes: tuple[str, ...] = ()
    vocab_sizes: tuple[int, ...] = ()
    """``vocab_size`` values in released configs (embedding rows, often padded)."""
    tokenizer_lens: tuple[int, ...] = ()
    """Number of tokens the released tokenizers define."""
    special_tokens: tuple[str, ...] = ()
    """Token strings characteristic of the family's tokenizer."""
    anchor_tokens: dict[int, str] = Field(default_factory=dict)
    """Token id → content pairs the family's tokenizer always has."""
    chat_markers: tuple[str, ...] = ()
    """Strings the family's chat template emits."""
    config_markers: tuple[str, ...] = ()
    """Config keys characteristic of the family's model code."""
    tensor_markers: tuple[str, ...] = ()
    """Substrings of tensor names characteristic of the family's model code."""
    rope_thetas: tuple[float, ...] = ()
    llamacpp_pre: tuple[str, ...] = ()
    chkhsh: tuple[Sha256, ...] = ()
    vocab_hashes: tuple[Sha256, ...] = ()
    """Fingerprints of the base vocabulary (see ``engines.provenance.tokenizer``)."""
    name_patterns: tuple[Pattern, ...] = ()
    """Regexes (lowercase) that a declared model name of this family matches."""
    reference_repos: tuple[str, ...] = ()
    licenses: tuple[RowId, ...] = ()
    releases: tuple[Release, ...] = ()
    verified: bool
    verification: str
    sources: Sources
    notes: str = ""

    @field_validator("name_patterns")
    @classmethod
    def _lowercase(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for p in value:
            if p != p.lower():
                msg = f"name patterns match lowercased names; write {p.lower()!r}"
                raise ValueError(msg)
        return value


class License(_Row):
    """A model licence and the fields a policy can test."""

    id: RowId
    name: str
    hf_license_id: str | None = None
    families: tuple[RowId, ...] = ()
    applies_to: str = ""
    commercial_use: Literal["yes", "no", "conditional"]
    commercial_detail: str = ""
    user_threshold: str | None = None
    revenue_threshold: str | None = None
    attribution: str | None = None
    naming_requirement: str | None = None
    use_restrictions: str | None = None
    territorial_restriction: str | None = None
    governing_law: str | None = None
    forum: str | None = None
    flow_down: str | None = None
    outputs_for_training_other_models: str | None = None
    registration_required: str | None = None
    remote_restriction_clause: str | None = None
    other: str | None = None
    redistribution: Literal["yes", "conditional", "no"] | None = None
    """May the weights be passed on to others (with what ``redistribution_terms``)?"""
    redistribution_terms: str | None = None
    internal_mirroring: Literal["yes", "conditional", "no"] | None = None
    """May a company keep its own copy (a vault, a registry mirror) for its permitted use?"""
    termination: str | None = None
    """When the licence ends or may be ended by the licensor (None: no termination clause)."""
    remote_restriction: bool | None = None
    """The licensor reserves the right to restrict use remotely (see the clause)."""
    terms_verification: str | None = None
    """How the four fields above were established (same vocabulary as ``verification``)."""
    verified: bool
    verification: str
    sources: Sources


class RuntimeSupport(_Row):
    """Whether one inference runtime loads an architecture with its own code."""

    status: Literal["native", "remote-code", "none"]
    """``native``: the runtime ships the model code; ``remote-code``: only with the repo's own
    Python (``trust_remote_code``); ``none``: not loadable."""
    since: str | None = None
    """First runtime version with native support, when known."""
    source: SourceUrl
    notes: str = ""


class Architecture(_Row):
    """A model architecture and the runtimes that can load it without the repo's code."""

    id: RowId
    classes: tuple[str, ...] = Field(min_length=1)
    """``architectures`` values of config.json (transformers class names)."""
    model_types: tuple[str, ...] = ()
    gguf_architectures: tuple[str, ...] = ()
    """``general.architecture`` values llama.cpp writes for it."""
    transformers: RuntimeSupport
    vllm: RuntimeSupport
    llama_cpp: RuntimeSupport
    verified: bool
    verification: str
    sources: Sources
    notes: str = ""


class PreTokenizer(_Row):
    """A row of llama.cpp's pre-tokenizer table: ``chkhsh`` → ``pre`` name → reference repo."""

    chkhsh: Sha256
    pre: str
    ref: SourceUrl
    family: RowId | None = None
    """The knowledge-base family whose tokenizer this is, when it is one of ours."""


class Provider(_Row):
    """Something that serves or fetches models: an API host, a model hub, a local runtime.

    ``discover`` builds its whole vocabulary from these rows: hostnames, SDK classes and loader
    functions, LiteLLM-style prefixes and the model-name patterns of a provider's own models.
    """

    id: RowId
    name: str
    kind: Literal["api", "hub", "runtime", "ollama"]
    """``api``: a remote service; ``hub``: weights are downloaded by repo id; ``runtime``: a
    local server of hub weights (vLLM); ``ollama``: a local runtime of Ollama tags."""
    operator: str
    """Legal entity operating the hosts."""
    country: Country | None = None
    """Country of the operator (None for local runtimes)."""
    publisher: RowId | None = None
    """Knowledge-base publisher of the models the provider serves natively, if any."""
    hosts: tuple[str, ...] = ()
    """Hostnames (lowercase); a subdomain of a listed host matches."""
    sdk_classes: tuple[str, ...] = ()
    """Classes and functions whose call names this provider (LangChain, LlamaIndex, SDKs)."""
    litellm_prefixes: tuple[str, ...] = ()
    """``prefix/model`` strings routed to this provider (LiteLLM and similar routers)."""
    model_patterns: tuple[Pattern, ...] = ()
    """Regexes (lowercase, searched) matching the names of this provider's own models."""
    verified: bool
    verification: str
    sources: Sources
    notes: str = ""

    @field_validator("hosts", "model_patterns", "litellm_prefixes")
    @classmethod
    def _lowercase(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for v in value:
            if v != v.lower():
                msg = f"write lowercase: {v.lower()!r}"
                raise ValueError(msg)
        return value

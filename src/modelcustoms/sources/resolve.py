"""A model reference as the user typed it → a :class:`~modelcustoms.sources.base.Source`.

Accepted forms, tried in this order:

- ``hf:org/name[@revision]``: a Hugging Face repo;
- ``ollama:name[:tag]`` (also ``ns/name``, ``registry/ns/name``): a local Ollama store;
- ``http(s)://host/…[#model]``: an OpenAI-compatible endpoint, a behaviour-only subject;
- an existing local path: a file or folder;
- a bare ``org/name[@revision]`` that is not a local path: a Hugging Face repo;
- anything else: a local path (which then fails as "no such file").

Parsing does no I/O apart from checking whether a bare name exists as a local path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, assert_never

from modelcustoms.artifacts.blob import Opener
from modelcustoms.artifacts.remote import HttpSettings
from modelcustoms.core import Skip, Subject, SubjectKind
from modelcustoms.sources.base import InvalidReference, Source
from modelcustoms.sources.hfrepo import check_repo_id, check_revision
from modelcustoms.sources.local import LocalInputs, local_inputs
from modelcustoms.sources.ollama import OllamaName, OllamaSource, store_root

if TYPE_CHECKING:
    import httpx

HF_PREFIX = "hf:"
OLLAMA_PREFIX = "ollama:"


@dataclass(frozen=True, slots=True)
class SubjectRef:
    """A parsed model reference."""

    kind: SubjectKind
    text: str
    """The reference exactly as given."""
    target: str
    """The path, repo id, Ollama name or URL the reference names."""
    revision: str | None = None
    """A Hugging Face revision (branch, tag or commit) when one was given."""


def parse_ref(ref: str, *, exists: Callable[[Path], bool] | None = None) -> SubjectRef:
    """Classify and validate a reference; ``exists`` decides whether a bare name is a path."""
    is_path = exists or (lambda p: p.exists() or p.is_symlink())
    text = ref.strip()
    if not text:
        raise InvalidReference(
            "empty model reference", hint="give a path, hf:org/name or ollama:name"
        )
    if text.startswith(HF_PREFIX):
        return _hf(ref, text.removeprefix(HF_PREFIX))
    if text.startswith(OLLAMA_PREFIX):
        name = OllamaName.parse(text.removeprefix(OLLAMA_PREFIX))
        return SubjectRef(SubjectKind.OLLAMA, ref, str(name))
    if text.lower().startswith(("http://", "https://")):
        return _endpoint(ref, text)
    if not is_path(Path(ref)) and text.count("/") == 1 and not text.startswith(("/", ".", "~")):
        try:
            return _hf(ref, text)
        except InvalidReference:
            pass  # not a repo id either: report it as a missing path below
    return SubjectRef(SubjectKind.PATH, ref, ref)


def _hf(ref: str, body: str) -> SubjectRef:
    repo, at, rev = body.partition("@")
    if at and not rev:
        msg = f"empty revision in {ref[:200]!r}"
        raise InvalidReference(msg, hint="write org/name@revision, or drop the @")
    return SubjectRef(
        SubjectKind.HUGGINGFACE, ref, check_repo_id(repo), check_revision(rev) if rev else None
    )


def _endpoint(ref: str, text: str) -> SubjectRef:
    import httpx  # NOTE: imported on use: local scans should not pay for an HTTP stack

    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        msg = f"not a valid URL: {text[:200]!r}"
        raise InvalidReference(msg) from exc
    if not url.host:
        msg = f"URL without a host: {text[:200]!r}"
        raise InvalidReference(msg)
    if url.userinfo:
        # NOTE: the reference is copied into reports; credentials in it would leak there.
        msg = "credentials in the endpoint URL would be copied into the report"
        raise InvalidReference(msg, hint="remove user:password@ and pass the key through the env")
    return SubjectRef(SubjectKind.ENDPOINT, ref, str(url))


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """How remote sources connect, and where settings come from."""

    env: Mapping[str, str] | None = None
    """Environment to read (``HF_*``, ``OLLAMA_MODELS``); ``None`` reads ``os.environ`` once."""
    http: HttpSettings = field(default_factory=HttpSettings)
    transport: httpx.BaseTransport | None = None
    """An httpx transport to use instead of the network (tests, custom TLS)."""
    full_download: bool = False
    """Let remote files be read whole (lifts the per-file byte cap)."""


def resolve(ref: str, options: SourceOptions | None = None) -> Source:
    """The source a reference names. Raises :class:`InvalidReference` for a malformed one."""
    opts = options or SourceOptions()
    env = dict(os.environ) if opts.env is None else opts.env
    parsed = parse_ref(ref)
    match parsed.kind:
        case SubjectKind.PATH:
            return LocalSource([Path(parsed.target)])
        case SubjectKind.HUGGINGFACE:
            from modelcustoms.sources.huggingface import HubSettings, HuggingFaceSource

            return HuggingFaceSource(
                ref,
                parsed.target,
                parsed.revision,
                HubSettings.from_env(env),
                http=opts.http,
                transport=opts.transport,
                full_download=opts.full_download,
            )
        case SubjectKind.OLLAMA:
            return OllamaSource(ref, OllamaName.parse(parsed.target), store_root(env))
        case SubjectKind.ENDPOINT:
            return EndpointSource(ref, parsed.target)
        case _:
            assert_never(parsed.kind)


class LocalSource:
    """Local files and folders (see :mod:`~modelcustoms.sources.local`), walked on first use."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(paths)
        self._inputs: LocalInputs | None = None

    def _load(self) -> LocalInputs:
        if self._inputs is None:
            self._inputs = local_inputs(self.paths)
        return self._inputs

    def subject(self) -> Subject:
        """The path subject."""
        return self._load().subject

    def openers(self) -> Sequence[Opener]:
        """Regular files under the paths."""
        return self._load().openers

    @property
    def skips(self) -> Sequence[Skip]:
        """Version-control folders, non-regular files, unreadable entries."""
        return self._load().skips

    def close(self) -> None:
        """Nothing to release."""


class EndpointSource:
    """An OpenAI-compatible endpoint: a subject for behaviour audits, with no artifacts.

    The URL fragment, if any, names the model (``https://host/v1#model-name``).
    """

    def __init__(self, ref: str, url: str) -> None:
        import httpx

        parsed = httpx.URL(url)
        self.base_url = str(parsed.copy_with(fragment=None))
        self.model = parsed.fragment or None
        self._subject = Subject(kind=SubjectKind.ENDPOINT, ref=ref, name=self.model or parsed.host)

    def subject(self) -> Subject:
        """The endpoint subject."""
        return self._subject

    def openers(self) -> Sequence[Opener]:
        """None: an endpoint has behaviour, not files."""
        return ()

    @property
    def skips(self) -> Sequence[Skip]:
        """None."""
        return ()

    def close(self) -> None:
        """Nothing to release."""

"""Hugging Face repo names, repo info and cache layout: validation and parsing, no network.

Everything here treats its input as hostile: repo ids, revisions and file names are checked
before they reach a URL or a cache path, and the Hub's JSON is validated with strict types.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from modelcustoms.artifacts.remote import RemoteProtocolError
from modelcustoms.sources.base import InvalidReference

_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?")
_REVISION = re.compile(r"[A-Za-z0-9_.\-/]{1,255}")
_SHA1 = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_FILES = 100_000


def check_repo_id(repo_id: str) -> str:
    """Validate ``org/name`` (or a legacy ``name``) as the Hub spells it; return it."""
    parts = repo_id.split("/")
    if len(parts) > 2 or not all(
        _NAME.fullmatch(p) and ".." not in p and "--" not in p for p in parts
    ):
        msg = f"not a Hugging Face repo id: {repo_id[:200]!r}"
        raise InvalidReference(msg, hint="use org/name, e.g. hf:Qwen/Qwen2.5-7B-Instruct@main")
    return repo_id


def check_revision(revision: str) -> str:
    """Validate a branch, tag or commit (``refs/pr/1`` allowed; no ``..`` or empty segments)."""
    segments = revision.split("/")
    if not _REVISION.fullmatch(revision) or any(s in ("", ".", "..") for s in segments):
        msg = f"not a usable revision: {revision[:200]!r}"
        raise InvalidReference(msg, hint="a branch, a tag or a 40-character commit sha")
    return revision


def safe_relpath(name: str) -> str | None:
    """``name`` if it is a plain relative path inside the repo, else ``None``."""
    if not name or len(name) > 1024 or "\\" in name or not name.isprintable():
        return None
    parts = PurePosixPath(name).parts
    if name.startswith("/") or any(p in ("..", ".") for p in parts) or "//" in name:
        return None
    return name


class _Lfs(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    sha256: str | None = None
    size: int | None = None


class _Sibling(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    rfilename: str
    size: int | None = None
    blobId: str | None = None
    lfs: _Lfs | None = None


class _RawInfo(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    id: str | None = None
    sha: str | None = None
    author: str | None = None
    private: bool = False
    gated: bool | str = False
    tags: list[str] = []
    pipeline_tag: str | None = None
    library_name: str | None = None
    cardData: dict[str, JsonValue] | None = None
    siblings: list[_Sibling] = []
    # NOTE: loosely typed on purpose: an odd date must cost the date facts, not the repo info.
    createdAt: JsonValue = None
    lastModified: JsonValue = None


@dataclass(frozen=True, slots=True)
class HubFile:
    """One file of a repo as the repo info lists it."""

    path: str
    size: int | None
    sha256: str | None
    """LFS oid (sha256 of the content), when the file is stored in LFS."""
    blob_id: str | None


@dataclass(frozen=True, slots=True)
class HubRepoInfo:
    """What the Hub says about a repo at one commit (fields provenance reads)."""

    repo_id: str
    commit: str
    files: tuple[HubFile, ...]
    unsafe_names: tuple[str, ...]
    author: str | None = None
    private: bool = False
    gated: bool | str = False
    tags: tuple[str, ...] = ()
    pipeline_tag: str | None = None
    library_name: str | None = None
    card_data: Mapping[str, JsonValue] = field(default_factory=dict)
    created_at: datetime | None = None
    """When the repo was created (the Hub's ``createdAt``), if given and well-formed."""
    last_modified: datetime | None = None
    """The last commit's date (the Hub's ``lastModified``), if given and well-formed."""
    digest: str = ""
    """sha256 of the canonical JSON of the answer: evidence can name what was read."""
    url: str = ""
    """The request that returned it (set by the source)."""


def hub_time(value: object) -> datetime | None:
    """An ISO-8601 timestamp from the Hub (``2024-04-17T23:33:47.000Z``) in UTC, or ``None``."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # NOTE: a timestamp without a zone is taken as UTC, as the Hub writes them.
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def json_digest(raw: object) -> str:
    """sha256 of a JSON document in canonical form (sorted keys, no spaces)."""
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def parse_repo_info(raw: object, repo_id: str, revision: str) -> HubRepoInfo:
    """Validate the Hub's JSON (hostile input: typed, bounded, paths checked)."""
    try:
        info = _RawInfo.model_validate(raw)
    except ValidationError as exc:
        msg = f"{repo_id}: the repo info from the Hub is malformed ({exc.error_count()} errors)"
        raise RemoteProtocolError(msg) from exc
    if len(info.siblings) > MAX_FILES:
        msg = f"{repo_id}: the repo lists {len(info.siblings)} files (limit {MAX_FILES})"
        raise RemoteProtocolError(msg)
    commit = info.sha if info.sha and _SHA1.fullmatch(info.sha) else revision
    files: list[HubFile] = []
    unsafe: list[str] = []
    seen: set[str] = set()
    for s in info.siblings:
        path = safe_relpath(s.rfilename)
        if path is None or path in seen:
            unsafe.append(s.rfilename[:200])
            continue
        seen.add(path)
        lfs = s.lfs
        sha = lfs.sha256.lower() if lfs and lfs.sha256 else None
        size = s.size if s.size is not None else (lfs.size if lfs else None)
        files.append(
            HubFile(
                path=path,
                size=size if size is not None and size >= 0 else None,
                sha256=sha if sha and _SHA256.fullmatch(sha) else None,
                blob_id=s.blobId if s.blobId and _SHA1.fullmatch(s.blobId) else None,
            )
        )
    return HubRepoInfo(
        repo_id=repo_id,
        commit=commit,
        files=tuple(files),
        unsafe_names=tuple(unsafe),
        author=info.author,
        private=info.private,
        gated=info.gated,
        tags=tuple(info.tags),
        pipeline_tag=info.pipeline_tag,
        library_name=info.library_name,
        card_data=info.cardData or {},
        created_at=hub_time(info.createdAt),
        last_modified=hub_time(info.lastModified),
        digest=json_digest(raw),
    )


class _Listed(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    id: str


MAX_LISTED = 1000


@dataclass(frozen=True, slots=True)
class HubListing:
    """Repos the Hub lists under one filter (``/api/models?filter=…&limit=…``)."""

    filter: str
    url: str
    """The request, query included (no credentials: the filter and the limit only)."""
    ids: tuple[str, ...]
    limit: int
    digest: str

    @property
    def complete(self) -> bool:
        """False when the list may have been cut at ``limit``."""
        return len(self.ids) < self.limit


def parse_model_list(raw: object, what: str) -> tuple[str, ...]:
    """The repo ids of a ``/api/models`` answer; malformed or foreign ids are dropped."""
    if not isinstance(raw, list):
        msg = f"{what}: the Hub's answer is not a list"
        raise RemoteProtocolError(msg)
    ids: list[str] = []
    for item in raw[:MAX_LISTED]:
        try:
            listed = _Listed.model_validate(item)
        except ValidationError:
            continue
        try:
            ids.append(check_repo_id(listed.id))
        except InvalidReference:
            continue
    return tuple(dict.fromkeys(ids))


class HubCache:
    """The huggingface_hub cache layout: ``models--org--name/{refs,snapshots}``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def repo_dir(self, repo_id: str) -> Path:
        """The cache folder of a model repo."""
        return self.root / ("models--" + repo_id.replace("/", "--"))

    def commit_for(self, repo_id: str, revision: str) -> str | None:
        """The commit a revision points to in the cache, if its snapshot exists."""
        repo = self.repo_dir(repo_id)
        commit: str | None = revision if _SHA1.fullmatch(revision) else None
        if commit is None:
            try:
                with (repo / "refs" / revision).open("rb") as fh:
                    text = fh.read(128).decode("ascii", "replace").strip()
            except OSError:
                return None
            commit = text if _SHA1.fullmatch(text) else None
        if commit is None or not (repo / "snapshots" / commit).is_dir():
            return None
        return commit

    def file(self, repo_id: str, commit: str, path: str) -> Path | None:
        """A cached file of a commit, if present as a regular file (symlinks to blobs followed)."""
        p = self.repo_dir(repo_id) / "snapshots" / commit / path
        return p if p.is_file() else None

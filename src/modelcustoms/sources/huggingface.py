"""Hugging Face repos, read remotely by byte ranges or from the local hub cache.

Online: one request for the repo info (``/api/models/{repo}/revision/{rev}?blobs=true``: the
commit, every file with its size and, for LFS files, its sha256), then files are opened lazily
as :class:`~modelcustoms.artifacts.http.RemoteBlob` on ``/{repo}/resolve/{commit}/{path}``,
pinned to the commit the info named so all files come from one version. Files already in the
local cache for that commit are read from disk.

Offline (``HF_HUB_OFFLINE=1``): only the cache (``models--org--name/refs/<rev>`` →
``snapshots/<commit>/…``), no network at all.

Environment: ``HF_ENDPOINT``, ``HF_TOKEN`` (sent as a bearer token to the endpoint only, never
logged or shown), ``HF_HUB_OFFLINE``, ``HF_HUB_CACHE`` / ``HF_HOME``.
See: https://huggingface.co/docs/huggingface_hub/package_reference/environment_variables
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

from modelcustoms.artifacts.blob import FileBlob, Opener
from modelcustoms.artifacts.http import (
    HttpSession,
    HttpSettings,
    RemoteAccessDenied,
    RemoteBlob,
    RemoteNotFound,
    TransferStats,
)
from modelcustoms.core import Skip, Subject, SubjectKind
from modelcustoms.sources.base import ArtifactInfo, InfoOpener, InvalidReference, NotInCache
from modelcustoms.sources.hfrepo import (
    HubCache,
    HubFile,
    HubRepoInfo,
    check_repo_id,
    check_revision,
    parse_repo_info,
)
from modelcustoms.sources.local import local_inputs

DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = frozenset({"1", "ON", "YES", "TRUE"})


@dataclass(frozen=True, slots=True)
class HubSettings:
    """Where the Hub and its cache are, taken from the environment once."""

    endpoint: str = DEFAULT_ENDPOINT
    token: str | None = field(default=None, repr=False)
    offline: bool = False
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache/huggingface/hub")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HubSettings:
        """Read ``HF_ENDPOINT``, ``HF_TOKEN``, ``HF_HUB_OFFLINE``, ``HF_HUB_CACHE``, ``HF_HOME``."""
        endpoint = (env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        url = httpx.URL(endpoint)
        if url.scheme not in ("http", "https") or not url.host or url.query:
            msg = f"HF_ENDPOINT is not an http(s) base URL: {endpoint[:200]!r}"
            raise InvalidReference(msg)
        home = env.get("HF_HOME") or str(
            Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface"
        )
        cache = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE") or f"{home}/hub"
        token = env.get("HF_TOKEN") or env.get("HUGGING_FACE_HUB_TOKEN") or None
        offline = env.get("HF_HUB_OFFLINE", "").strip().upper() in _TRUE
        return cls(endpoint, token, offline, Path(cache).expanduser())


class HuggingFaceSource:
    """A Hub repo at a revision. Network and cache access happen on first use."""

    def __init__(
        self,
        ref: str,
        repo_id: str,
        revision: str | None,
        settings: HubSettings,
        *,
        http: HttpSettings | None = None,
        transport: httpx.BaseTransport | None = None,
        full_download: bool = False,
    ) -> None:
        self.ref = ref
        self.repo_id = check_repo_id(repo_id)
        self.revision = check_revision(revision) if revision else "main"
        self.settings = settings
        self.cache = HubCache(settings.cache_dir)
        self._http = http or HttpSettings()
        self._transport = transport
        self._full = full_download
        self._session: HttpSession | None = None
        self._loaded: tuple[Subject, tuple[Opener, ...], tuple[Skip, ...]] | None = None
        self.info: HubRepoInfo | None = None
        """The repo info (``None`` before first use and in offline mode)."""

    @property
    def stats(self) -> TransferStats:
        """Requests and bytes sent to the Hub so far."""
        return self._open_session().stats

    def subject(self) -> Subject:
        """The repo, pinned to the commit that was read."""
        return self._load()[0]

    def openers(self) -> Sequence[Opener]:
        """Every file of the repo at that commit (from the cache when already there)."""
        return self._load()[1]

    @property
    def skips(self) -> Sequence[Skip]:
        """Files with unsafe or duplicate names, and unreadable cache entries."""
        return self._load()[2]

    def close(self) -> None:
        """Close the HTTP connections."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def _open_session(self) -> HttpSession:
        if self._session is None:
            token = self.settings.token
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            self._session = HttpSession(self._http, headers=headers, transport=self._transport)
        return self._session

    def _load(self) -> tuple[Subject, tuple[Opener, ...], tuple[Skip, ...]]:
        if self._loaded is None:
            self._loaded = self._load_offline() if self.settings.offline else self._load_online()
        return self._loaded

    def _subject(self, commit: str) -> Subject:
        return Subject(
            kind=SubjectKind.HUGGINGFACE, ref=self.ref, name=self.repo_id, revision=commit
        )

    def _load_offline(self) -> tuple[Subject, tuple[Opener, ...], tuple[Skip, ...]]:
        commit = self.cache.commit_for(self.repo_id, self.revision)
        if commit is None:
            msg = (
                f"{self.repo_id}@{self.revision} is not in the Hugging Face cache "
                f"({self.cache.root}) and HF_HUB_OFFLINE is set"
            )
            raise NotInCache(msg, hint="unset HF_HUB_OFFLINE to read it from the Hub")
        snap = self.cache.repo_dir(self.repo_id) / "snapshots" / commit
        inputs = local_inputs([snap])
        openers = tuple(
            InfoOpener(o.path, o.open, ArtifactInfo(location=str(snap / o.path), cached=True))
            for o in inputs.openers
        )
        return self._subject(commit), openers, inputs.skips

    def _load_online(self) -> tuple[Subject, tuple[Opener, ...], tuple[Skip, ...]]:
        info = self._fetch_info()
        self.info = info
        skips = [
            Skip(artifact=name, reason="unsafe-path", detail="name escapes the repo or repeats")
            for name in info.unsafe_names
        ]
        openers = tuple(self._opener(info.commit, f) for f in info.files)
        return self._subject(info.commit), openers, tuple(skips)

    def _fetch_info(self) -> HubRepoInfo:
        url = (
            f"{self.settings.endpoint}/api/models/{self.repo_id}/revision/"
            f"{quote(self.revision, safe='')}"
        )
        what = f"repo info of {self.repo_id}@{self.revision}"
        try:
            raw = self._open_session().get_json(url, what=what, params={"blobs": "true"})
        except RemoteAccessDenied as exc:
            raise self._denied(exc) from exc
        except RemoteNotFound as exc:
            if exc.error_code == "RevisionNotFound":
                msg = f"revision {self.revision!r} not found in {self.repo_id}"
                hint = "check the branch, tag or commit"
            else:
                msg = f"Hugging Face repo not found: {self.repo_id}"
                hint = "check the repo id (and HF_ENDPOINT if you use a mirror)"
            raise RemoteNotFound(msg, status=404, error_code=exc.error_code, hint=hint) from exc
        return parse_repo_info(raw, self.repo_id, self.revision)

    def _denied(self, exc: RemoteAccessDenied) -> RemoteAccessDenied:
        has_token = bool(self.settings.token)
        if exc.error_code == "GatedRepo" or exc.status == 403:
            msg = f"{self.repo_id} is gated or restricted (HTTP {exc.status})"
            hint = (
                "your token has no access: accept the conditions on the repo page"
                if has_token
                else "accept the conditions on the repo page, then set HF_TOKEN"
            )
        else:
            msg = f"{self.repo_id}: not found or private (HTTP {exc.status})"
            hint = "HF_TOKEN was refused" if has_token else "set HF_TOKEN for private repos"
        return RemoteAccessDenied(msg, status=exc.status, error_code=exc.error_code, hint=hint)

    def _opener(self, commit: str, f: HubFile) -> Opener:
        cached = self.cache.file(self.repo_id, commit, f.path)
        if cached is not None:
            info = ArtifactInfo(f.size, f.sha256, f.blob_id, location=str(cached), cached=True)
            return InfoOpener(f.path, lambda: FileBlob(cached), info)
        url = (
            f"{self.settings.endpoint}/{self.repo_id}/resolve/{quote(commit, safe='')}/"
            f"{quote(f.path)}"
        )
        info = ArtifactInfo(f.size, f.sha256, f.blob_id, location=url)
        cap = None if self._full else self._http.max_blob_bytes

        def open_remote() -> RemoteBlob:
            session = self._open_session()
            if f.size is None:
                return RemoteBlob.probe(session, url, name=f.path, max_bytes=cap)
            return RemoteBlob(session, url, f.size, name=f.path, max_bytes=cap)

        return InfoOpener(f.path, open_remote, info)

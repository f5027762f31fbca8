"""Hugging Face repos, read remotely by byte ranges or from the local hub cache.

Online: one request for the repo info (``/api/models/{repo}/revision/{rev}?blobs=true``: the
commit, every file with its size and, for LFS files, its sha256), then files are opened lazily
as :class:`~modelcustoms.artifacts.http.RemoteBlob` on ``/{repo}/resolve/{commit}/{path}``,
pinned to the commit the info named so all files come from one version. Files already in the
local cache for that commit are read from disk.

Offline (``HF_HUB_OFFLINE=1``): only the cache (``models--org--name/refs/<rev>`` →
``snapshots/<commit>/…``), no network at all.

Derived repos (:meth:`HuggingFaceSource.derived`): one bounded ``/api/models?filter=
base_model:{relation}:{repo}`` request per relation, on a short timeout and no retries; any
failure, and offline mode, gives a skip instead (a dependency fact is never worth a failed run).

Environment: ``HF_ENDPOINT``, ``HF_TOKEN`` (sent as a bearer token to the endpoint only, never
logged or shown), ``HF_HUB_OFFLINE``, ``HF_HUB_CACHE`` / ``HF_HOME``.
See: https://huggingface.co/docs/huggingface_hub/package_reference/environment_variables
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
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
from modelcustoms.errors import CustomsError
from modelcustoms.sources.base import ArtifactInfo, InfoOpener, InvalidReference, NotInCache
from modelcustoms.sources.hfrepo import (
    HubCache,
    HubFile,
    HubListing,
    HubRepoInfo,
    check_repo_id,
    check_revision,
    json_digest,
    parse_model_list,
    parse_repo_info,
)
from modelcustoms.sources.local import local_inputs

DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = frozenset({"1", "ON", "YES", "TRUE"})
RELATIONS = ("quantized", "finetune", "adapter", "merge")
"""The Hub's ``base_model:{relation}:{repo}`` tags a derived repo carries."""
LISTING_LIMIT = 100
LISTING_TIMEOUT = 10.0


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
        self._listing_session: HttpSession | None = None
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
        if self._listing_session is not None:
            self._listing_session.close()
            self._listing_session = None

    def derived(
        self, base: str, *, limit: int = LISTING_LIMIT
    ) -> tuple[dict[str, HubListing], Skip | None]:
        """Repos the Hub lists as derived from ``base``, by relation (``quantized``, …).

        At most one request per relation, each capped at ``limit`` ids. Offline, or on any
        error, nothing is listed and the skip says why: partial counts would mislead.
        """
        if self.settings.offline:
            return {}, Skip(artifact=base, reason="hub-offline", detail="HF_HUB_OFFLINE is set")
        try:
            repo = check_repo_id(base)
        except CustomsError as exc:
            return {}, Skip(artifact=base[:200], reason="hub-listing-unavailable", detail=str(exc))
        limit = max(1, min(limit, 1000))
        out: dict[str, HubListing] = {}
        for relation in RELATIONS:
            flt = f"base_model:{relation}:{repo}"
            url = f"{self.settings.endpoint}/api/models"
            what = f"repos derived from {repo} ({relation})"
            try:
                raw = self._listing().get_json(
                    url, what=what, params={"filter": flt, "limit": str(limit)}
                )
                ids = parse_model_list(raw, what)
            except (CustomsError, httpx.HTTPError, OSError, ValueError) as exc:
                detail = str(exc)[:300] or type(exc).__name__
                return {}, Skip(artifact=repo, reason="hub-listing-unavailable", detail=detail)
            shown = str(httpx.URL(url, params={"filter": flt, "limit": str(limit)}))
            out[relation] = HubListing(flt, shown, ids[:limit], limit, json_digest(raw))
        return out, None

    def _listing(self) -> HttpSession:
        # NOTE: a listing is a nicety: a short timeout and no retries, so a slow or failing
        # Hub costs seconds, not the inspection.
        if self._listing_session is None:
            token = self.settings.token
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            settings = replace(
                self._http,
                read_timeout=min(self._http.read_timeout, LISTING_TIMEOUT),
                connect_timeout=min(self._http.connect_timeout, LISTING_TIMEOUT),
                retries=0,
                max_json_bytes=min(self._http.max_json_bytes, 8 * 1024 * 1024),
            )
            self._listing_session = HttpSession(
                settings, headers=headers, transport=self._transport
            )
        return self._listing_session

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
        return replace(parse_repo_info(raw, self.repo_id, self.revision), url=url)

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

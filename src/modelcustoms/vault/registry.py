"""A vault in an OCI registry, spoken to through the distribution HTTP API (``/v2/``).

Blobs go up in chunks (``POST`` a session, ``PATCH`` with ``Content-Range``, ``PUT ?digest=``),
each chunk read from disk as it is sent, so memory stays at one chunk whatever the model's
size. The upload URL is saved after every chunk; a push that was interrupted asks the registry
where the session stands (``GET`` the upload URL) and continues from there. A blob the
repository already has is not sent at all, which is what makes shared files free.
"""

from __future__ import annotations

import contextlib
import hashlib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from modelcustoms.vault.auth import Credentials, RegistryAuth
from modelcustoms.vault.errors import NotFound, StoreError
from modelcustoms.vault.oci import MANIFEST_MEDIA_TYPE, MAX_MANIFEST_BYTES
from modelcustoms.vault.resume import UploadState
from modelcustoms.vault.store import CHUNK, BlobUpload, FileRange, Progress, Store, TagEntry

TIMEOUT = httpx.Timeout(60.0, connect=10.0)
MAX_TAG_PAGES = 1000


class RegistryStore(Store):
    """One repository in a distribution-API registry."""

    def __init__(
        self,
        host: str,
        repository: str,
        *,
        credentials: Credentials | None = None,
        plain_http: bool = False,
        ca_file: Path | None = None,
        state_dir: Path | None = None,
        chunk: int = CHUNK,
        push: bool = False,
        mount_from: tuple[str, ...] = (),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        scheme = "http" if plain_http else "https"
        self.host = host
        self.repository = repository
        self.base = httpx.URL(f"{scheme}://{host}/v2/")
        self.description = f"{host}/{repository}" if repository else host
        self.chunk = chunk
        self.state = UploadState(state_dir, host, repository)
        self.mount_from = mount_from
        """Repositories of the same registry whose blobs a push may mount instead of sending."""
        verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            try:
                verify = ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError) as exc:
                msg = f"cannot load the CA bundle {ca_file}: {exc}"
                raise StoreError(msg) from exc
        self._tokens = httpx.Client(timeout=TIMEOUT, verify=verify, transport=transport)
        auth = RegistryAuth(
            credentials or Credentials(),
            self._tokens,
            repository=repository,
            push=push,
            allow_plain_http=plain_http,
        )
        self.client = httpx.Client(
            base_url=self.base,
            auth=auth,
            timeout=TIMEOUT,
            verify=verify,
            follow_redirects=True,
            transport=transport,
            headers={"User-Agent": "modelcustoms-vault"},
        )

    def close(self) -> None:
        """Close both HTTP clients."""
        self.client.close()
        self._tokens.close()

    # -- requests ---------------------------------------------------------------------------

    def _request(self, method: str, url: str | httpx.URL, **kw: Any) -> httpx.Response:
        try:
            return self.client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            msg = f"cannot reach the registry {self.host}: {exc}"
            raise StoreError(msg, hint="check the address, --plain-http and --ca-file") from exc

    def _fail(self, resp: httpx.Response, what: str) -> StoreError:
        detail = _registry_message(resp)
        if resp.status_code == 401:
            msg = f"{what}: the registry {self.host} wants credentials (HTTP 401){detail}"
            return StoreError(msg, hint="set CUSTOMS_VAULT_USERNAME/CUSTOMS_VAULT_PASSWORD")
        if resp.status_code == 403:
            return StoreError(f"{what}: access denied by {self.host} (HTTP 403){detail}")
        if resp.status_code == 404:
            return NotFound(f"{what}: not found in {self.description}{detail}")
        return StoreError(f"{what}: HTTP {resp.status_code} from {self.host}{detail}")

    def _url(self, location: str) -> httpx.URL:
        return self.base.join(location)

    # -- blobs ------------------------------------------------------------------------------

    def blob_size(self, digest: str) -> int | None:
        """HEAD the blob."""
        resp = self._request("HEAD", f"{self.repository}/blobs/{digest}")
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise self._fail(resp, f"blob {digest[:19]}…")
        return int(resp.headers.get("content-length", "-1"))

    def push_bytes(self, digest: str, data: bytes) -> BlobUpload:
        """Monolithic upload of a small blob (one POST, one PUT)."""
        if self.blob_size(digest) == len(data):
            return BlobUpload(sent=0)
        location = self._start()
        self._finish(location, digest, data)
        return BlobUpload(sent=len(data))

    def push_blob(
        self, digest: str, size: int, path: Path, progress: Progress | None = None
    ) -> BlobUpload:
        """Chunked, resumable upload of a file."""
        if self.blob_size(digest) == size:
            self.state.forget(digest)
            return BlobUpload(sent=0)
        if self._mount(digest):
            return BlobUpload(sent=0)
        location, offset = self._resume(digest)
        if location is None:
            location, offset = self._start(), 0
        start = offset
        sent = 0
        while offset < size:
            length = min(self.chunk, size - offset)
            end = offset + length - 1
            resp = self._request(
                "PATCH",
                location,
                content=FileRange(path, offset, length),
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(length),
                    "Content-Range": f"{offset}-{end}",
                },
            )
            if resp.status_code != 202:
                self.state.forget(digest)
                raise self._fail(resp, f"upload of {path.name}")
            location = self._url(resp.headers.get("location", str(location)))
            offset = end + 1
            sent += length
            self.state.save(digest, str(location))
            if progress is not None:
                progress(length)
        self._finish(location, digest, b"")
        self.state.forget(digest)
        return BlobUpload(sent=sent, resumed_from=start)

    def _mount(self, digest: str) -> bool:
        """Cross-repository mount: the registry links a blob another repository holds."""
        for repo in self.mount_from:
            if repo == self.repository:
                continue
            params = {"mount": digest, "from": repo}
            resp = self._request("POST", f"{self.repository}/blobs/uploads/", params=params)
            if resp.status_code == 201:
                return True
            if resp.status_code == 202 and "location" in resp.headers:
                # Not mountable: the registry opened an ordinary upload instead; cancel it.
                self._request("DELETE", self._url(resp.headers["location"]))
        return False

    def _start(self) -> httpx.URL:
        resp = self._request("POST", f"{self.repository}/blobs/uploads/")
        if resp.status_code != 202 or "location" not in resp.headers:
            raise self._fail(resp, "starting an upload")
        return self._url(resp.headers["location"])

    def _finish(self, location: httpx.URL, digest: str, body: bytes) -> None:
        url = location.copy_merge_params({"digest": digest})
        headers = {"Content-Type": "application/octet-stream"}
        resp = self._request("PUT", url, content=body, headers=headers)
        if resp.status_code not in (201, 204):
            raise self._fail(resp, f"completing blob {digest[:19]}…")

    @contextlib.contextmanager
    def read_blob(self, digest: str) -> Iterator[Iterator[bytes]]:
        """Stream a blob (``GET``, following a storage redirect)."""
        try:
            with self.client.stream("GET", f"{self.repository}/blobs/{digest}") as resp:
                if resp.status_code != 200:
                    resp.read()
                    raise self._fail(resp, f"blob {digest[:19]}…")
                yield resp.iter_bytes(self.chunk)
        except httpx.HTTPError as exc:
            msg = f"reading blob {digest[:19]}… from {self.host} failed: {exc}"
            raise StoreError(msg) from exc

    # -- resuming ------------------------------------------------------------------------------

    def _resume(self, digest: str) -> tuple[httpx.URL | None, int]:
        """Where an interrupted upload of ``digest`` stands, per the registry itself."""
        saved = self.state.load(digest)
        if saved is None:
            return None, 0
        location = httpx.URL(saved)
        if location.host != self.base.host:
            self.state.forget(digest)  # never follow a saved URL to another host
            return None, 0
        resp = self._request("GET", location)
        rng = resp.headers.get("range", "")
        if resp.status_code != 204 or not rng.startswith("0-"):
            self.state.forget(digest)  # expired or cancelled: start again
            return None, 0
        return self._url(resp.headers.get("location", str(location))), int(rng[2:]) + 1

    # -- manifests and tags --------------------------------------------------------------------

    def put_manifest(self, tag: str, data: bytes) -> str:
        """PUT the manifest under its tag: the moment the artifact becomes visible."""
        resp = self._request(
            "PUT",
            f"{self.repository}/manifests/{tag}",
            content=data,
            headers={"Content-Type": MANIFEST_MEDIA_TYPE},
        )
        if resp.status_code not in (200, 201):
            raise self._fail(resp, f"storing the manifest {tag}")
        return f"sha256:{hashlib.sha256(data).hexdigest()}"

    def get_manifest(self, reference: str) -> bytes:
        """GET a manifest by tag or digest (size-capped)."""
        url = f"{self.repository}/manifests/{reference}"
        try:
            with self.client.stream("GET", url, headers={"Accept": MANIFEST_MEDIA_TYPE}) as resp:
                if resp.status_code != 200:
                    resp.read()
                    raise self._fail(resp, f"manifest {reference}")
                body = bytearray()
                for part in resp.iter_bytes():
                    body += part
                    if len(body) > MAX_MANIFEST_BYTES:
                        msg = f"manifest {reference} is larger than {MAX_MANIFEST_BYTES} bytes"
                        raise StoreError(msg)
                return bytes(body)
        except httpx.HTTPError as exc:
            msg = f"cannot reach the registry {self.host}: {exc}"
            raise StoreError(msg) from exc

    def list_tags(self) -> list[TagEntry]:
        """Tags of this repository, or of every repository in the catalog when none is named."""
        repos = [self.repository] if self.repository else self._catalog()
        out: list[TagEntry] = []
        for repo in repos:
            for tag in self._paged(f"{repo}/tags/list", "tags"):
                resp = self._request(
                    "HEAD", f"{repo}/manifests/{tag}", headers={"Accept": MANIFEST_MEDIA_TYPE}
                )
                digest = resp.headers.get("docker-content-digest", "")
                if resp.status_code == 200:
                    out.append(TagEntry(repo, tag, digest))
        return out

    def _catalog(self) -> list[str]:
        return self._paged("_catalog", "repositories")

    def _paged(self, path: str, key: str) -> list[str]:
        items: list[str] = []
        url: str | httpx.URL = path
        for _ in range(MAX_TAG_PAGES):
            resp = self._request("GET", url, params={"n": "1000"} if url == path else None)
            if resp.status_code == 404:
                return items
            if resp.status_code != 200:
                raise self._fail(resp, f"listing {path}")
            try:
                values = resp.json().get(key) or []
            except (ValueError, AttributeError):
                values = []
            items.extend(v for v in values if isinstance(v, str))
            nxt = _next_link(resp.headers.get("link", ""))
            if nxt is None:
                return sorted(items)
            url = self._url(nxt)
        return sorted(items)


def _next_link(header: str) -> str | None:
    if 'rel="next"' not in header:
        return None
    start, end = header.find("<"), header.find(">")
    return header[start + 1 : end] if 0 <= start < end else None


def _registry_message(resp: httpx.Response) -> str:
    try:
        errors = resp.json().get("errors")
    except (ValueError, AttributeError):
        return ""
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code, message = errors[0].get("code", ""), errors[0].get("message", "")
        return f": {code} {message}".rstrip()
    return ""

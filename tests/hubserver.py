"""A local stand-in for the Hugging Face Hub: a real HTTP server on 127.0.0.1, for tests.

It implements the part of the Hub API that modelcustoms uses:

- ``GET /api/models/{repo}/revision/{rev}[?blobs=true]``: repo info (commit sha, siblings
  with sizes, LFS sha256);
- ``GET /api/models?filter=base_model:{relation}:{repo}&limit=N``: the repos added with
  ``base_model=(relation, repo)``, as ``[{"id": …, "tags": […]}]`` (at most ``limit``);
  ``listing_status`` makes every listing answer that status instead;
- ``GET|HEAD /{repo}/resolve/{rev}/{path}``: files, with single ``Range`` requests (206,
  ``Content-Range``, 416); LFS files redirect (302) to a second listener on another port (the
  "CDN", a different origin, so credentials must not follow the redirect);
- gated repos (bearer token; 401/403 with ``X-Error-Code``), missing repos and revisions (404);
- knobs: ``honour_range`` (serve 200 with the whole body), ``fail_next`` (statuses to answer
  next, for retries), and counters of every request and of body bytes sent.

Repos are built by tests: ``add_repo`` writes the files into a temp folder that the server then
serves; :class:`SparseFile` stands for a multi-gigabyte weight file (a real header, then zeros
generated on the fly) so that 70B-class layouts cost nothing to build.

Use the ``hub_server`` fixture (import it into a conftest.py).
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

LFS_SUFFIXES = (".safetensors", ".gguf", ".bin", ".pt", ".pth", ".onnx", ".h5", ".msgpack")


@dataclass(frozen=True)
class SparseFile:
    """A large file that is never stored: ``head`` followed by zeros up to ``size`` bytes."""

    size: int
    head: bytes

    @property
    def sha256(self) -> str:
        """A declared (synthetic) LFS oid: hashing gigabytes of zeros in tests is pointless."""
        return hashlib.sha256(b"sparse:%d:" % self.size + self.head).hexdigest()

    def read(self, offset: int, length: int) -> bytes:
        end = min(self.size, offset + length)
        if offset >= end:
            return b""
        head = self.head[offset:end]
        return head + bytes(end - offset - len(head))


Content = bytes | SparseFile


@dataclass
class _Stored:
    path: Path | None
    sparse: SparseFile | None
    size: int
    sha256: str
    lfs: bool

    def read(self, offset: int, length: int) -> bytes:
        if self.sparse is not None:
            return self.sparse.read(offset, length)
        assert self.path is not None
        with self.path.open("rb") as fh:
            fh.seek(offset)
            return fh.read(length)


@dataclass
class _Repo:
    repo_id: str
    refs: dict[str, str] = field(default_factory=dict)
    commits: dict[str, dict[str, _Stored]] = field(default_factory=dict)
    token: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
    base_model: tuple[str, str] | None = None
    """``(relation, base repo)``: the ``base_model:{relation}:{base}`` tag the Hub gives it."""


@dataclass(frozen=True)
class Hit:
    """One request the server answered."""

    listener: str
    method: str
    path: str
    range: str | None
    status: int
    authorized: bool
    """True when the request carried an ``Authorization`` header."""


class HubServer:
    """Hub API + CDN on two 127.0.0.1 ports, serving repos built under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.honour_range = True
        self.latency = 0.0
        """Seconds each CDN response waits before it is sent (a distant hub, for benchmarks)."""
        self.fail_next: list[int] = []
        self.listing_status: int | None = None
        """When set, ``/api/models`` listings answer this status (a failing Hub search)."""
        self.hits: list[Hit] = []
        self.bytes_sent = 0
        self._repos: dict[str, _Repo] = {}
        self._blobs: dict[str, _Stored] = {}
        self._lock = threading.Lock()
        self._hub = _Server(self, "hub")
        self._cdn = _Server(self, "cdn")
        self._threads = [
            threading.Thread(target=s.serve_forever, args=(0.02,), daemon=True)
            for s in (self._hub, self._cdn)
        ]

    @property
    def url(self) -> str:
        """The endpoint to put in ``HF_ENDPOINT``."""
        return f"http://127.0.0.1:{self._hub.server_address[1]}"

    @property
    def cdn_url(self) -> str:
        """Where LFS files are redirected to."""
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    def start(self) -> HubServer:
        """Start both listeners in daemon threads."""
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        """Stop both listeners."""
        for s in (self._hub, self._cdn):
            s.shutdown()
            s.server_close()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_repo(
        self,
        repo_id: str,
        files: Mapping[str, Content],
        *,
        revision: str = "main",
        token: str | None = None,
        extra: Mapping[str, object] | None = None,
        is_lfs: Callable[[str, Content], bool] | None = None,
        created_at: str | None = None,
        last_modified: str | None = None,
        base_model: tuple[str, str] | None = None,
    ) -> str:
        """Add a commit of ``repo_id`` (files written under ``root``); ``revision`` points to it.

        Returns the commit sha. ``token`` makes the repo gated behind that bearer token.
        ``created_at``/``last_modified`` (ISO-8601) go into the repo info as ``createdAt`` and
        ``lastModified``; ``base_model=(relation, base)`` lists the repo under
        ``/api/models?filter=base_model:{relation}:{base}``.
        """
        lfs_rule = is_lfs or (lambda p, c: isinstance(c, SparseFile) or p.endswith(LFS_SUFFIXES))
        digest = hashlib.sha1(usedforsecurity=False)
        for p in sorted(files):
            c = files[p]
            digest.update(
                p.encode() + (c.sha256 if isinstance(c, SparseFile) else _sha(c)).encode()
            )
        commit = digest.hexdigest()
        stored: dict[str, _Stored] = {}
        for p, c in files.items():
            if isinstance(c, SparseFile):
                item = _Stored(None, c, c.size, c.sha256, True)
            else:
                disk = self.root / repo_id / commit / p
                disk.parent.mkdir(parents=True, exist_ok=True)
                disk.write_bytes(c)
                item = _Stored(disk, None, len(c), _sha(c), lfs_rule(p, c))
            stored[p] = item
            if item.lfs:
                self._blobs[item.sha256] = item
        repo = self._repos.setdefault(repo_id, _Repo(repo_id))
        repo.commits[commit] = stored
        repo.refs[revision] = commit
        repo.token = token
        repo.extra = dict(extra or {})
        if created_at is not None:
            repo.extra.setdefault("createdAt", created_at)
        if last_modified is not None:
            repo.extra.setdefault("lastModified", last_modified)
        repo.base_model = base_model
        return commit

    def reset_counters(self) -> None:
        """Forget the requests seen so far."""
        with self._lock:
            self.hits.clear()
            self.bytes_sent = 0

    @property
    def requests(self) -> int:
        """Requests answered by both listeners."""
        return len(self.hits)

    def _add_bytes(self, sent: int) -> None:
        with self._lock:
            self.bytes_sent += sent

    def _record(self, hit: Hit, sent: int) -> None:
        with self._lock:
            self.hits.append(hit)
            self.bytes_sent += sent

    def _take_failure(self) -> int | None:
        with self._lock:
            return self.fail_next.pop(0) if self.fail_next else None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # NOTE: the default backlog of 5 drops connections when a client opens several at once
    # (concurrent range reads), and a dropped SYN costs a one-second retransmit.
    request_queue_size = 128

    def __init__(self, hub: HubServer, name: str) -> None:
        self.hub = hub
        self.name = name
        super().__init__(("127.0.0.1", 0), _Handler)


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in separate writes
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read counters, not logs."""

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def _dispatch(self, head: bool) -> None:
        hub = self.server.hub
        if hub.latency and self.server.name == "cdn":
            time.sleep(hub.latency)
        failure = hub._take_failure()
        if failure is not None:
            self._send(failure, b"injected failure", head=head)
            return
        url = urlsplit(self.path)
        if self.server.name == "cdn":
            m = re.fullmatch(r"/blobs/([0-9a-f]{64})", url.path)
            item = hub._blobs.get(m[1]) if m else None
            if item is None:
                self._send(404, b"no such blob", head=head)
            else:
                self._serve(item, head)
            return
        if url.path == "/api/models":
            self._list(url.query, head)
        elif url.path.startswith("/api/models/") and "/revision/" in url.path:
            repo_raw, rev_raw = url.path.removeprefix("/api/models/").split("/revision/", 1)
            self._info(unquote(repo_raw), unquote(rev_raw), head)
        elif "/resolve/" in url.path:
            repo_raw, rest = url.path.lstrip("/").split("/resolve/", 1)
            rev_raw, _, path_raw = rest.partition("/")
            self._resolve(unquote(repo_raw), unquote(rev_raw), unquote(path_raw), head)
        else:
            self._send(404, b"unknown route", head=head)

    def _repo_commit(self, repo_id: str, rev: str, head: bool) -> tuple[_Repo, str] | None:
        repo = self.server.hub._repos.get(repo_id)
        if repo is None:
            self._send(404, b"Repository not found", head=head, code="RepoNotFound")
            return None
        if repo.token is not None:
            auth = self.headers.get("Authorization")
            if auth is None:
                self._send(401, b"gated", head=head, code="GatedRepo", message="Access restricted")
                return None
            if auth != f"Bearer {repo.token}":
                self._send(403, b"no access", head=head, code="GatedRepo")
                return None
        commit = rev if rev in repo.commits else repo.refs.get(rev)
        if commit is None:
            self._send(404, b"Revision not found", head=head, code="RevisionNotFound")
            return None
        return repo, commit

    def _info(self, repo_id: str, rev: str, head: bool) -> None:
        found = self._repo_commit(repo_id, rev, head)
        if found is None:
            return
        repo, commit = found
        blobs = "blobs=true" in urlsplit(self.path).query
        siblings = []
        for p, item in sorted(repo.commits[commit].items()):
            sib: dict[str, object] = {"rfilename": p}
            if blobs:
                sib["size"] = item.size
                sib["blobId"] = hashlib.sha1(p.encode(), usedforsecurity=False).hexdigest()
                if item.lfs:
                    sib["lfs"] = {"sha256": item.sha256, "size": item.size, "pointerSize": 134}
            siblings.append(sib)
        body = {
            "id": repo_id,
            "sha": commit,
            "author": repo_id.split("/")[0],
            "private": False,
            "gated": "manual" if repo.token else False,
            "siblings": siblings,
            **repo.extra,
        }
        self._send(200, json.dumps(body).encode(), head=head, ctype="application/json")

    def _list(self, query: str, head: bool) -> None:
        if self.server.hub.listing_status is not None:
            self._send(self.server.hub.listing_status, b"listing failed", head=head)
            return
        params = parse_qs(query)
        flt = params.get("filter", [""])[0]
        try:
            limit = int(params.get("limit", ["1000"])[0])
        except ValueError:
            self._send(400, b"bad limit", head=head)
            return
        parts = flt.split(":", 2)
        if len(parts) != 3 or parts[0] != "base_model":
            self._send(400, b"unsupported filter", head=head)
            return
        relation, base = parts[1], parts[2]
        items = [
            {"id": r.repo_id, "tags": [f"base_model:{base}", f"base_model:{relation}:{base}"]}
            for r in sorted(self.server.hub._repos.values(), key=lambda r: r.repo_id)
            if r.base_model == (relation, base) and r.token is None
        ][: max(0, limit)]
        self._send(200, json.dumps(items).encode(), head=head, ctype="application/json")

    def _resolve(self, repo_id: str, rev: str, path: str, head: bool) -> None:
        found = self._repo_commit(repo_id, rev, head)
        if found is None:
            return
        repo, commit = found
        item = repo.commits[commit].get(path)
        if item is None:
            self._send(404, b"Entry not found", head=head, code="EntryNotFound")
            return
        if item.lfs:
            # NOTE: like the Hub, a signed CDN URL: its query string must never be printed.
            location = f"{self.server.hub.cdn_url}/blobs/{item.sha256}?X-Amz-Signature=s3cr3t"
            self._send(302, b"", head=head, extra={"Location": location})
            return
        self._serve(item, head, extra={"X-Repo-Commit": commit})

    def _serve(self, item: _Stored, head: bool, extra: dict[str, str] | None = None) -> None:
        headers = {"Accept-Ranges": "bytes", "ETag": f'"{item.sha256}"', **(extra or {})}
        size = item.size
        spec = self.headers.get("Range")
        m = _RANGE.fullmatch(spec.strip()) if spec and self.server.hub.honour_range else None
        if m is None or (not m[1] and not m[2]):
            self._send_stream(200, item, 0, size, head, headers)
            return
        if m[1]:
            start, end = int(m[1]), min(size - 1, int(m[2])) if m[2] else size - 1
        else:
            start, end = max(0, size - int(m[2])), size - 1
        if start >= size or end < start:
            headers["Content-Range"] = f"bytes */{size}"
            self._send(416, b"", head=head, extra=headers)
            return
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self._send_stream(206, item, start, end + 1, head, headers)

    def _send_stream(
        self, status: int, item: _Stored, start: int, end: int, head: bool, headers: dict[str, str]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(end - start))
        self.send_header("Content-Type", "application/octet-stream")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        # NOTE: the hit is counted before the body goes out, so a client that has its response
        # always sees its request counted (no race with the handler thread); bytes follow.
        self._hit(status, 0)
        sent = 0
        try:
            pos = start
            while not head and pos < end:
                chunk = item.read(pos, min(256 * 1024, end - pos))
                self.wfile.write(chunk)
                sent += len(chunk)
                pos += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client stopped reading, as it should
        finally:
            self.server.hub._add_bytes(sent)

    def _send(
        self,
        status: int,
        body: bytes,
        *,
        head: bool,
        code: str | None = None,
        message: str | None = None,
        ctype: str = "text/plain",
        extra: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", ctype)
        if code:
            self.send_header("X-Error-Code", code)
        if message:
            self.send_header("X-Error-Message", message)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        # NOTE: counted before the headers go out: a client that gives up on an error status
        # without reading the body must still find its request counted.
        self._hit(status, 0 if head else len(body))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _hit(self, status: int, sent: int) -> None:
        hit = Hit(
            listener=self.server.name,
            method=self.command,
            path=self.path,
            range=self.headers.get("Range"),
            status=status,
            authorized="Authorization" in self.headers,
        )
        self.server.hub._record(hit, sent)


@pytest.fixture
def hub_server(tmp_path: Path) -> Iterator[HubServer]:
    """A running :class:`HubServer` serving repos built under ``tmp_path / "hub"``."""
    with HubServer(tmp_path / "hub") as server:
        yield server


# --- repo builders ---------------------------------------------------------------------------


def safetensors_bytes(
    tensors: Mapping[str, tuple[str, tuple[int, ...]]],
    metadata: Mapping[str, str] | None = None,
    *,
    with_data: bool = True,
) -> bytes:
    """A valid safetensors file with zeroed data (or only its header when ``with_data`` is off)."""
    widths = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1, "I8": 1}
    header: dict[str, object] = {"__metadata__": dict(metadata)} if metadata else {}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        n = widths[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    head = struct.pack("<Q", len(raw)) + raw
    return head + bytes(offset) if with_data else head


def safetensors_size(tensors: Mapping[str, tuple[str, tuple[int, ...]]]) -> int:
    """Total size of the safetensors file :func:`safetensors_bytes` would build."""
    head = safetensors_bytes(tensors, with_data=False)
    data = json.loads(head[8:])
    return len(head) + max(
        (v["data_offsets"][1] for k, v in data.items() if k != "__metadata__"), default=0
    )


def gguf_bytes(kv: Mapping[str, str | int]) -> bytes:
    """A GGUF v3 file with metadata only (no tensors)."""

    def s(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<Q", len(raw)) + raw

    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv))
    for k, v in kv.items():
        if isinstance(v, int):
            out += s(k) + struct.pack("<I", 4) + struct.pack("<I", v)  # UINT32
        else:
            out += s(k) + struct.pack("<I", 8) + s(v)  # STRING
    return out


def small_repo_files() -> dict[str, Content]:
    """A small Llama-shaped repo: config, tokenizer files, card, one safetensors, one GGUF."""
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "vocab_size": 256,
    }
    tensors = {
        "model.embed_tokens.weight": ("F16", (256, 64)),
        "lm_head.weight": ("F16", (256, 64)),
    }
    return {
        "config.json": json.dumps(config).encode(),
        "tokenizer_config.json": b'{"bos_token": "<s>", "eos_token": "</s>"}',
        "tokenizer.json": json.dumps({"model": {"type": "BPE", "vocab": {"a": 0}}}).encode(),
        "README.md": b"---\nlicense: apache-2.0\nbase_model: org/base\n---\n# Tiny\n",
        "model.safetensors": safetensors_bytes(tensors, {"format": "pt"}),
        "tiny.Q4_0.gguf": gguf_bytes({"general.architecture": "llama", "llama.block_count": 2}),
    }


def llama70b_files(shards: int = 30) -> dict[str, Content]:
    """A 70B-class layout (Llama-3-70B dimensions): real config, index and shard headers,
    weights as :class:`SparseFile` (about 141 GB declared, nothing stored)."""
    hidden, inter, vocab, layers, kv = 8192, 28672, 128256, 80, 1024
    tensors: list[tuple[str, tuple[str, tuple[int, ...]]]] = [
        ("model.embed_tokens.weight", ("BF16", (vocab, hidden)))
    ]
    for i in range(layers):
        p = f"model.layers.{i}."
        tensors += [
            (p + "self_attn.q_proj.weight", ("BF16", (hidden, hidden))),
            (p + "self_attn.k_proj.weight", ("BF16", (kv, hidden))),
            (p + "self_attn.v_proj.weight", ("BF16", (kv, hidden))),
            (p + "self_attn.o_proj.weight", ("BF16", (hidden, hidden))),
            (p + "mlp.gate_proj.weight", ("BF16", (inter, hidden))),
            (p + "mlp.up_proj.weight", ("BF16", (inter, hidden))),
            (p + "mlp.down_proj.weight", ("BF16", (hidden, inter))),
            (p + "input_layernorm.weight", ("BF16", (hidden,))),
            (p + "post_attention_layernorm.weight", ("BF16", (hidden,))),
        ]
    tensors += [
        ("model.norm.weight", ("BF16", (hidden,))),
        ("lm_head.weight", ("BF16", (vocab, hidden))),
    ]
    per = -(-len(tensors) // shards)
    files: dict[str, Content] = {}
    weight_map: dict[str, str] = {}
    total = 0
    for s in range(shards):
        name = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = dict(tensors[s * per : (s + 1) * per])
        head = safetensors_bytes(part, {"format": "pt"}, with_data=False)
        size = safetensors_size(part)
        total += size - len(head)
        files[name] = SparseFile(size, head)
        weight_map.update(dict.fromkeys(part, name))
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "intermediate_size": inter,
        "num_hidden_layers": layers,
        "num_attention_heads": 64,
        "num_key_value_heads": 8,
        "vocab_size": vocab,
        "rope_theta": 500000.0,
        "torch_dtype": "bfloat16",
    }
    files.update(
        {
            "config.json": json.dumps(config, indent=2).encode(),
            "generation_config.json": b'{"bos_token_id": 128000, "eos_token_id": 128001}',
            "tokenizer_config.json": json.dumps({"bos_token": "<|begin_of_text|>"}).encode(),
            "special_tokens_map.json": b'{"bos_token": "<|begin_of_text|>"}',
            "tokenizer.json": SparseFile(9_085_657, b'{"version": "1.0", "model": {"type": "BPE"'),
            "model.safetensors.index.json": json.dumps(index, indent=2).encode(),
            "README.md": b"---\nlicense: llama3\n---\n# A 70B model\n" + b"x" * 20_000,
            "LICENSE": b"LLAMA 3 COMMUNITY LICENSE AGREEMENT\n" + b"y" * 7_000,
        }
    )
    return files

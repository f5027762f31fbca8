"""PyTorch zip and TorchScript archives: layout, anomalies, members, storages left unread."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable

from modelcustoms.artifacts.blob import Blob
from modelcustoms.core import Artifact, Format, Severity
from modelcustoms.engines.scan import ENGINE_RULES, ScanContext, ScanOptions, ScanResult
from modelcustoms.engines.scan.archives import ZipAnalyzer, torch_root
from modelcustoms.engines.scan.base import Result
from modelcustoms.engines.scan.torch import TorchZipAnalyzer
from tests.conftest import ScanFiles, rule_ids
from tests.unit.artifacts.test_zipfmt import M, build_zip

PICKLE = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s."


def torch_zip(extra: dict[str, bytes] | None = None, root: str = "archive") -> bytes:
    """What torch.save writes (stored members under one root folder)."""
    files = {
        f"{root}/data.pkl": PICKLE,
        f"{root}/byteorder": b"little",
        f"{root}/data/0": b"\0" * 64,
        f"{root}/data/1": PICKLE,  # storages are raw bytes: never scanned, whatever they hold
        f"{root}/version": b"3\n",
        f"{root}/.data/serialization_id": b"1234567890",
    }
    files.update(extra or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _scan(scan_files: ScanFiles, data: bytes, name: str = "model.pt") -> ScanResult:
    return scan_files(
        {name: data}, analyzers=[TorchZipAnalyzer(), ZipAnalyzer()], options=ScanOptions(jobs=1)
    )


def _paths(result: ScanResult) -> dict[str, Format]:
    return {a.path: a.format for a in result.artifacts}


def _high(result: ScanResult) -> list[str]:
    return [f.rule_id for f in result.run.findings if f.severity >= Severity.HIGH]


def test_ordinary_checkpoint(scan_files: ScanFiles) -> None:
    result = _scan(scan_files, torch_zip())
    paths = _paths(result)
    assert paths["model.pt"] is Format.PYTORCH_ZIP
    assert paths["model.pt!archive/data.pkl"] is Format.PICKLE
    assert "model.pt!archive/version" in paths
    assert "model.pt!archive/.data/serialization_id" in paths
    assert not any("/data/" in p for p in paths)
    assert result.run.findings == ()
    facts = {f.key: f.value for f in result.run.facts}
    assert facts["torch.root"] == "archive"
    assert facts["torch.storages"] == 2


def test_extra_pickles_are_scanned(scan_files: ScanFiles) -> None:
    result = _scan(scan_files, torch_zip({"archive/extra.pkl": PICKLE}))
    assert _paths(result)["model.pt!archive/extra.pkl"] is Format.PICKLE


def test_multiple_roots(scan_files: ScanFiles) -> None:
    result = _scan(scan_files, torch_zip({"decoy/data.pkl": PICKLE}))
    assert {"torch.multiple-roots", "torch.layout"} <= rule_ids(result)
    assert "model.pt!decoy/data.pkl" in _paths(result)


def test_missing_version_is_low(scan_files: ScanFiles) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("m/data.pkl", PICKLE)
    result = _scan(scan_files, buf.getvalue())
    assert [f.severity for f in result.run.findings] == [Severity.LOW]


def test_torchscript_code_is_checked(scan_files: ScanFiles) -> None:
    code = (
        b"def forward(self, x: Tensor) -> Tensor:\n"
        b"  y = torch.ops.aten.from_file('/etc/passwd', None, 10)\n"
        b"  return x\n"
    )
    data = torch_zip({"archive/code/__torch__/m.py": code, "archive/constants.pkl": PICKLE})
    result = _scan(scan_files, data)
    assert _paths(result)["model.pt"] is Format.TORCHSCRIPT
    ids = rule_ids(result)
    assert {"torch.torchscript", "torch.torchscript-io"} <= ids
    io_finding = next(f for f in result.run.findings if f.rule_id == "torch.torchscript-io")
    assert "from_file" in io_finding.message
    assert _paths(result)["model.pt!archive/constants.pkl"] is Format.PICKLE


def test_benign_torchscript_is_medium_only(scan_files: ScanFiles) -> None:
    code = b"def forward(self, x: Tensor) -> Tensor:\n  return torch.relu(self.linear(x))\n"
    data = torch_zip({"archive/code/__torch__/m.py": code, "archive/constants.pkl": PICKLE})
    result = _scan(scan_files, data)
    assert "torch.torchscript" in rule_ids(result)
    assert _high(result) == []


def test_zip_anomalies_are_reported(scan_files: ScanFiles) -> None:
    data = build_zip(
        [
            M("archive/data.pkl", PICKLE, crc=1),
            M("archive/version", b"3\n", local_name="archive/versioN"),
        ],
        prefix=PICKLE,
    )
    result = _scan(scan_files, data)
    assert {"zip.bad-crc", "zip.parser-confusion", "zip.extra-data"} <= rule_ids(result)
    assert _paths(result)["model.pt![prefix]"] is Format.PICKLE


def test_torch_root() -> None:
    assert torch_root(["a/data.pkl", "b/data.pkl"]) == "a/"
    assert torch_root(["data.pkl"]) == ""
    assert torch_root([]) == ""


class _Virtual(Blob):
    """A large blob that is mostly zeros, counting the bytes read."""

    def __init__(self, size: int, parts: dict[int, bytes]) -> None:
        self.size = size
        self.parts = parts
        self.bytes_read = 0

    def read(self, offset: int, length: int) -> bytes:
        length = max(0, min(length, self.size - offset))
        self.bytes_read += length
        out = bytearray(length)
        for start, data in self.parts.items():
            lo, hi = max(offset, start), min(offset + length, start + len(data))
            if lo < hi:
                out[lo - offset : hi - offset] = data[lo - start : hi - start]
        return bytes(out)


def _gigabyte_checkpoint() -> _Virtual:
    storage = 1 << 30
    names = [b"archive/data.pkl", b"archive/version", b"archive/data/0"]
    bodies = [PICKLE, b"3\n", None]
    parts: dict[int, bytes] = {}
    central = bytearray()
    pos = 0
    for name, body in zip(names, bodies, strict=True):
        size = storage if body is None else len(body)
        crc = 0 if body is None else zlib.crc32(body)
        head = (
            struct.pack(
                "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, size, size, len(name), 0
            )
            + name
        )
        parts[pos] = head + (body or b"")
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, crc, size, size,
            len(name), 0, 0, 0, 0, 0, pos,
        ) + name  # fmt: skip
        pos += len(head) + size
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 3, 3, len(central), pos, 0)
    parts[pos] = bytes(central) + eocd
    return _Virtual(pos + len(central) + len(eocd), parts)


def test_gigabyte_checkpoint_reads_no_storage() -> None:
    blob = _gigabyte_checkpoint()
    analyzers = (TorchZipAnalyzer(), ZipAnalyzer())
    submitted: list[str] = []

    def submit(
        ctx: ScanContext, name: str, chunks: Iterable[bytes], hint: str | None
    ) -> list[Result]:
        for _ in chunks:
            pass
        submitted.append(name)
        return []

    artifact = Artifact(path="big.pt", size=blob.size, sha256="0" * 64, format=Format.PYTORCH_ZIP)
    ctx = ScanContext(
        artifact=artifact,
        blob=blob,
        options=ScanOptions(),
        depth=0,
        rules={r.id: r for r in (*ENGINE_RULES, *(r for a in analyzers for r in a.rules))},
        _submit=submit,
    )
    results = [r for a in analyzers for r in a.analyze(ctx)]
    assert submitted == ["archive/data.pkl", "archive/version"]
    assert not [r for r in results if getattr(r, "severity", None) == Severity.HIGH]
    assert blob.bytes_read < 1024 * 1024

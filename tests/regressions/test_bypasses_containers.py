"""One test per public bypass of model scanners through containers (zip, 7z, tar, npy).

Payloads are inert: the pickles below name ``os.system("echo pwned")`` but are never loaded;
the tests assert that the hostile member reaches the engine (is hashed, sniffed and so
handed to the pickle analyzer) and that the container trick itself is reported.
"""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from modelcustoms.core import Format, Severity
from modelcustoms.engines.scan import ScanOptions, ScanResult
from modelcustoms.engines.scan.archives import (
    CompressedAnalyzer,
    SevenZipAnalyzer,
    TarAnalyzer,
    ZipAnalyzer,
)
from modelcustoms.engines.scan.numpy import NumpyAnalyzer
from modelcustoms.engines.scan.torch import TorchZipAnalyzer
from tests.conftest import ScanFiles, rule_ids
from tests.unit.artifacts.test_zipfmt import M, build_zip
from tests.unit.engines.scan.test_numpy import npy

EVIL = b"\x80\x02cos\nsystem\nq\x00X\n\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."


def _scan(scan_files: ScanFiles, files: dict[str, bytes]) -> ScanResult:
    analyzers = [
        TorchZipAnalyzer(),
        NumpyAnalyzer(),
        ZipAnalyzer(),
        TarAnalyzer(),
        CompressedAnalyzer(),
        SevenZipAnalyzer(),
    ]
    return scan_files(files, analyzers=analyzers, options=ScanOptions(jobs=1))


def _formats(result: ScanResult) -> dict[str, Format]:
    return {a.path: a.format for a in result.artifacts}


def _high_ids(result: ScanResult) -> set[str]:
    return {f.rule_id for f in result.run.findings if f.severity >= Severity.HIGH}


def _torch_members(data_pkl: M) -> list[M]:
    return [data_pkl, M("archive/version", b"3\n"), M("archive/data/0", b"\0" * 16)]


# CVE-2025-1945: flipping general-purpose flag bits in the zip headers crashed picklescan while
# torch.load still loaded the model.
# https://github.com/mmaitre314/picklescan/security/advisories/GHSA-w8jq-xcqf-f792
def test_cve_2025_1945_zip_flag_bits(scan_files: ScanFiles) -> None:
    data = build_zip(_torch_members(M("archive/data.pkl", EVIL, flags=0x1, local_flags=0x1)))
    result = _scan(scan_files, {"model.pt": data})
    assert "zip.parser-confusion" in _high_ids(result)
    assert _formats(result)["model.pt!archive/data.pkl"] is Format.PICKLE


# CVE-2025-1944: a local-header file name differing from the central directory crashed
# picklescan's extraction; torch reads by the central-directory name.
# https://github.com/mmaitre314/picklescan/security/advisories/GHSA-7q5r-7gvp-wc82
def test_cve_2025_1944_zip_name_mismatch(scan_files: ScanFiles) -> None:
    member = M("archive/data.pkl", EVIL, local_name="archive/data.pk\x00")
    result = _scan(scan_files, {"model.pt": build_zip(_torch_members(member))})
    assert "zip.parser-confusion" in _high_ids(result)
    assert _formats(result)["model.pt!archive/data.pkl"] is Format.PICKLE


# CVE-2025-10156: a wrong CRC made picklescan's zipfile raise and skip the archive, while
# torch.load ignores zip CRCs.
# https://jfrog.com/blog/unveiling-3-zero-day-vulnerabilities-in-picklescan/
def test_cve_2025_10156_bad_crc(scan_files: ScanFiles) -> None:
    data = build_zip(_torch_members(M("archive/data.pkl", EVIL, crc=0)))
    result = _scan(scan_files, {"model.pt": data})
    assert "zip.bad-crc" in _high_ids(result)
    assert _formats(result)["model.pt!archive/data.pkl"] is Format.PICKLE


# CVE-2025-1889: pickles inside a PyTorch archive under names other than data.pkl were not
# scanned. https://github.com/mmaitre314/picklescan/security/advisories/GHSA-769v-p64c-89pr
def test_cve_2025_1889_extra_pickle_in_torch_zip(scan_files: ScanFiles) -> None:
    members = [*_torch_members(M("archive/data.pkl", b"\x80\x02}q\x00.")), M("archive/x.bin", EVIL)]
    result = _scan(scan_files, {"model.pt": build_zip(members)})
    assert _formats(result)["model.pt!archive/x.bin"] is Format.PICKLE


# nullifAI: malicious PyTorch models on Hugging Face were packed with 7z instead of zip, which
# scanners did not open.
# https://www.reversinglabs.com/blog/rl-identifies-malware-ml-model-hosted-on-hugging-face
def test_nullifai_torch_model_in_7z(scan_files: ScanFiles) -> None:
    py7zr = pytest.importorskip("py7zr")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", EVIL)
        z.writestr("archive/version", b"3\n")
    outer = io.BytesIO()
    with py7zr.SevenZipFile(outer, "w") as z:
        z.writestr(buf.getvalue(), "model.pt")
    result = _scan(scan_files, {"model.7z": outer.getvalue()})
    formats = _formats(result)
    assert formats["model.7z!model.pt"] is Format.PYTORCH_ZIP
    assert formats["model.7z!model.pt!archive/data.pkl"] is Format.PICKLE


# Zip/pickle polyglots: torch.load decides by the first bytes and unpickles a prefix that zip
# readers skip. https://blog.trailofbits.com/2024/03/04/relishing-new-fickling-features-for-securing-ml-systems/
def test_pickle_zip_polyglot(scan_files: ScanFiles) -> None:
    benign = _torch_members(M("archive/data.pkl", b"\x80\x02}q\x00."))
    result = _scan(scan_files, {"model.pt": build_zip(benign, prefix=EVIL)})
    assert "zip.extra-data" in _high_ids(result)
    assert _formats(result)["model.pt![prefix]"] is Format.PICKLE


# Overlapping members (non-recursive zip bombs, and two names for one payload).
# https://www.bamsoftware.com/hacks/zipbomb/
def test_overlapping_members(scan_files: ScanFiles) -> None:
    data = build_zip([M("a.txt", b"hello"), M("b.txt", b"hello", offset=0)])
    assert "zip.parser-confusion" in _high_ids(_scan(scan_files, {"x.zip": data}))


# CVE-2019-6446: np.load unpickled object arrays by default; object arrays are still pickles.
# https://nvd.nist.gov/vuln/detail/CVE-2019-6446
def test_cve_2019_6446_npy_object_array(scan_files: ScanFiles) -> None:
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    result = _scan(scan_files, {"x.npy": npy(header, EVIL)})
    assert "numpy.object-dtype" in _high_ids(result)
    assert _formats(result)["x.npy!pickle"] is Format.PICKLE


# CVE-2007-4559: tarfile extraction follows '..' names and links out of the target folder.
# https://nvd.nist.gov/vuln/detail/CVE-2007-4559
def test_cve_2007_4559_tar_escape(scan_files: ScanFiles) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        link = tarfile.TarInfo("model/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../../../home/user/.bashrc"
        tf.addfile(link)
        payload = tarfile.TarInfo("../../.bashrc")
        payload.size = len(b"echo pwned\n")
        tf.addfile(payload, io.BytesIO(b"echo pwned\n"))
    ids = rule_ids(_scan(scan_files, {"model.tar": buf.getvalue()}))
    assert {"tar.link", "tar.path-traversal"} <= ids

"""Rules of the container analyzers (zip, tar, 7z, compressed streams).

Declared together because the zip analyzer also reads tar-zip polyglots as tars, and the bomb
rule is the engine's own.
"""

from __future__ import annotations

from modelcustoms.core import Rule, Severity
from modelcustoms.engines.scan.engine import ENGINE_RULES

_ENGINE = {r.id: r for r in ENGINE_RULES}
BOMB = _ENGINE["archive.bomb"]
"""Declared by the engine; analyzers here emit it without re-declaring it."""


def _traversal(area: str) -> Rule:
    return Rule(
        id=f"{area}.path-traversal",
        title=f"{area} member name escapes the extraction folder",
        severity=Severity.HIGH,
        help="A member is named with '..', an absolute path or a drive letter, so extracting "
        "the archive writes outside the target folder (zip-slip). Do not extract it.",
        references=("https://security.snyk.io/research/zip-slip-vulnerability",),
    )


def _malformed(area: str) -> Rule:
    return Rule(
        id=f"{area}.malformed",
        title=f"Malformed {area} container",
        severity=Severity.MEDIUM,
        help="The container could not be read completely; what was read was analysed, the "
        "rest is NOT verified.",
    )


def _unsupported(area: str) -> Rule:
    return Rule(
        id=f"{area}.unsupported",
        title=f"{area} content could not be decoded",
        severity=Severity.MEDIUM,
        help="The container uses a compression method or feature the scanner does not decode "
        "(or whose optional library is missing); that content is NOT verified.",
    )


ZIP_TRAVERSAL, ZIP_MALFORMED, ZIP_UNSUPPORTED = (
    _traversal("zip"),
    _malformed("zip"),
    _unsupported("zip"),
)
TAR_TRAVERSAL, TAR_MALFORMED = _traversal("tar"), _malformed("tar")
SZ_TRAVERSAL, SZ_MALFORMED, SZ_UNSUPPORTED = _traversal("7z"), _malformed("7z"), _unsupported("7z")
STREAM_MALFORMED, STREAM_UNSUPPORTED = _malformed("compressed"), _unsupported("compressed")
LINK = Rule(
    id="tar.link",
    title="Tar archive contains a link",
    severity=Severity.HIGH,
    help="A symbolic or hard link member. Links that point outside the archive let a later "
    "member overwrite or read arbitrary files when the archive is extracted (internal links "
    "are reported as low).",
    references=("https://nvd.nist.gov/vuln/detail/CVE-2007-4559",),
)
SPECIAL = Rule(
    id="tar.special-file",
    title="Tar archive contains a device or FIFO",
    severity=Severity.MEDIUM,
    help="Device nodes and FIFOs have no place in a model archive; extracting them as root "
    "creates device files.",
)
CONFUSION = Rule(
    id="zip.parser-confusion",
    title="Zip structure that different readers read differently",
    severity=Severity.HIGH,
    help="Central and local headers disagree (names, sizes, flags), names repeat or members "
    "overlap. torch.load (miniz) and Python's zipfile then see different files, a known way "
    "to hide a payload from scanners. Treat the file as hostile.",
    references=(
        "https://github.com/mmaitre314/picklescan/security/advisories/GHSA-w8jq-xcqf-f792",
        "https://github.com/mmaitre314/picklescan/security/advisories/GHSA-7q5r-7gvp-wc82",
        "https://www.bamsoftware.com/hacks/zipbomb/",
    ),
)
EXTRA = Rule(
    id="zip.extra-data",
    title="Data outside the zip members",
    severity=Severity.HIGH,
    help="Bytes before the first member make a polyglot: torch.load and np.load decide by the "
    "first bytes and would read them as a pickle, while zip readers see the archive. The "
    "extra bytes are scanned as members named '[prefix]' and '[trailing]'. Trailing bytes "
    "alone are medium.",
)
BAD_CRC = Rule(
    id="zip.bad-crc",
    title="Member CRC does not match",
    severity=Severity.HIGH,
    help="torch.load ignores zip CRCs while scanners built on zipfile stop at them, so a "
    "wrong CRC hides the member from those scanners (CVE-2025-10156).",
    references=("https://jfrog.com/blog/unveiling-3-zero-day-vulnerabilities-in-picklescan/",),
)
ZIP_RULES = (CONFUSION, EXTRA, BAD_CRC, ZIP_TRAVERSAL, ZIP_MALFORMED, ZIP_UNSUPPORTED)
TAR_RULES = (TAR_TRAVERSAL, LINK, SPECIAL, TAR_MALFORMED)
SEVENZIP_RULES = (SZ_TRAVERSAL, SZ_MALFORMED, SZ_UNSUPPORTED)
STREAM_RULES = (STREAM_MALFORMED, STREAM_UNSUPPORTED)

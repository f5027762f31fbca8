"""Container analyzers: zip, tar, single compressed streams and 7z.

None of them judges the members: each member is streamed back to the engine through
:meth:`ScanContext.member`, which hashes, sniffs and analyses it under the engine's limits.
These analyzers judge the *containers*: names that escape the extraction folder, links,
structures built to make two readers see two different archives, decompression bombs, and
everything that could not be decoded (which is "not verified", never "clean").

One module per container: :mod:`.archive_zip`, :mod:`.archive_tar`, :mod:`.archive_compressed`
and :mod:`.archive_sevenzip`, sharing :mod:`.archive_rules` and :mod:`.archive_io`. This module
keeps the names the registry and the other analyzers import.
"""

from __future__ import annotations

from modelcustoms.engines.scan.archive_compressed import CompressedAnalyzer, Reader, inner_name
from modelcustoms.engines.scan.archive_io import BlobIO, declared_bomb
from modelcustoms.engines.scan.archive_rules import (
    BAD_CRC,
    BOMB,
    CONFUSION,
    EXTRA,
    LINK,
    SEVENZIP_RULES,
    SPECIAL,
    STREAM_MALFORMED,
    STREAM_RULES,
    STREAM_UNSUPPORTED,
    SZ_MALFORMED,
    SZ_TRAVERSAL,
    SZ_UNSUPPORTED,
    TAR_MALFORMED,
    TAR_RULES,
    TAR_TRAVERSAL,
    ZIP_MALFORMED,
    ZIP_RULES,
    ZIP_TRAVERSAL,
    ZIP_UNSUPPORTED,
)
from modelcustoms.engines.scan.archive_sevenzip import SevenZipAnalyzer
from modelcustoms.engines.scan.archive_tar import TarAnalyzer
from modelcustoms.engines.scan.archive_zip import (
    ZipAnalyzer,
    read_listing,
    torch_root,
    zip_anomaly_results,
    zip_member_results,
)

__all__ = [
    "BAD_CRC",
    "BOMB",
    "CONFUSION",
    "EXTRA",
    "LINK",
    "SEVENZIP_RULES",
    "SPECIAL",
    "STREAM_MALFORMED",
    "STREAM_RULES",
    "STREAM_UNSUPPORTED",
    "SZ_MALFORMED",
    "SZ_TRAVERSAL",
    "SZ_UNSUPPORTED",
    "TAR_MALFORMED",
    "TAR_RULES",
    "TAR_TRAVERSAL",
    "ZIP_MALFORMED",
    "ZIP_RULES",
    "ZIP_TRAVERSAL",
    "ZIP_UNSUPPORTED",
    "BlobIO",
    "CompressedAnalyzer",
    "Reader",
    "SevenZipAnalyzer",
    "TarAnalyzer",
    "ZipAnalyzer",
    "declared_bomb",
    "inner_name",
    "read_listing",
    "torch_root",
    "zip_anomaly_results",
    "zip_member_results",
]

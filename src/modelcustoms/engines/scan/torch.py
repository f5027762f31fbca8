"""PyTorch zip checkpoints (``torch.save``) and TorchScript archives (``torch.jit.save``).

torch.load finds its records under the folder of the *first* central-directory entry
(``<root>/data.pkl``, ``<root>/version``, ``<root>/data/<key>`` ...). This analyzer judges that
layout and the TorchScript sources. The zip container itself (anomalies, and every member but
the raw tensor storages sent back to the engine, so that a pickle not named ``data.pkl`` is
scanned too) is the job of :class:`~modelcustoms.engines.scan.archives.ZipAnalyzer`, which
reads these formats as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from modelcustoms.artifacts import zipfmt
from modelcustoms.core import Format, Rule, Severity
from modelcustoms.engines.scan.archives import torch_root
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext

_MAX_SOURCE = 4 * 1024**2

LAYOUT = Rule(
    id="torch.layout",
    title="Unusual PyTorch archive layout",
    severity=Severity.MEDIUM,
    help="The archive does not have the layout torch.save writes (one root folder with "
    "data.pkl, version, data/). Extra or misplaced members are scanned, but the file was not "
    "written by torch.save as is.",
)
ROOTS = Rule(
    id="torch.multiple-roots",
    title="Several data.pkl in one PyTorch archive",
    severity=Severity.HIGH,
    help="torch.load reads the data.pkl under the folder of the first member only; the other "
    "copies are decoys for scanners that read a different one. All of them were scanned.",
)
TORCHSCRIPT = Rule(
    id="torch.torchscript",
    title="TorchScript program",
    severity=Severity.MEDIUM,
    help="A TorchScript archive carries code that runs when it is loaded with torch.jit.load; "
    "it needs the same trust as Python code. Its sources were checked for I/O operations.",
    references=("https://pytorch.org/docs/stable/jit.html",),
)
TORCHSCRIPT_IO = Rule(
    id="torch.torchscript-io",
    title="TorchScript code performs file, process or network operations",
    severity=Severity.HIGH,
    help="The TorchScript sources call operations that read or write files, start processes or "
    "use the network. They run on torch.jit.load or on the first forward call.",
)

# Operations reachable from TorchScript (or Python snippets smuggled into code/) that touch the
# file system, processes or the network.
_IO_PATTERN = re.compile(
    r"\b(?:aten\s*\.\s*(?:from_file|save|_save)|torch\s*\.\s*(?:save|load|from_file)"
    r"|ops\s*\.\s*(?!aten\b|prim\b|quantized\b|_caffe2\b|_quantized\b)\w+\s*\.\s*\w*(?:file|exec|"
    r"system|load|save|open|socket|http|url)\w*"
    r"|os\s*\.\s*(?:system|popen|remove|unlink|exec\w*|spawn\w*)|subprocess|socket|urllib"
    r"|__import__|builtins|eval\s*\(|exec\s*\(|open\s*\()",
)


class TorchZipAnalyzer(Analyzer):
    """PyTorch zip and TorchScript archives: record layout, decoy roots, TorchScript code."""

    name: ClassVar[str] = "torch"
    formats: ClassVar[frozenset[Format]] = frozenset({Format.PYTORCH_ZIP, Format.TORCHSCRIPT})
    rules: ClassVar[tuple[Rule, ...]] = (LAYOUT, ROOTS, TORCHSCRIPT, TORCHSCRIPT_IO)

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        try:
            listing = zipfmt.read_zip(ctx.blob)
        except zipfmt.ZipFormatError as exc:
            # The zip analyzer reports why; here it only means the layout was not checked.
            yield ctx.skip("unreadable", f"torch layout not checked: {exc}")
            return
        names = [e.name for e in listing.entries]
        root = torch_root(names)
        yield ctx.fact("torch.root", root.rstrip("/"))
        storages = sum(1 for n in names if root and n.startswith(f"{root}data/"))
        yield ctx.fact("torch.storages", storages)
        yield from self._layout(ctx, names, root)
        for entry in listing.entries:
            # Decoy code folders outside the root are checked too.
            if entry.name.endswith(".py") and "/code/" in f"/{entry.name}":
                yield from self._source(ctx, entry)

    def _layout(self, ctx: ScanContext, names: list[str], root: str) -> Iterator[Result]:
        pickles = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
        if len(pickles) > 1:
            yield ctx.finding(
                ROOTS.id,
                f"{len(pickles)} data.pkl records; torch.load reads {root}data.pkl",
                excerpt=", ".join(pickles[:10]),
            )
        if f"{root}data.pkl" not in names:
            yield ctx.finding(
                LAYOUT.id, f"no data.pkl under the root folder {root!r} torch.load reads"
            )
        if not {f"{root}version", f"{root}.data/version"} & set(names):
            yield ctx.finding(LAYOUT.id, "no version record", severity=Severity.LOW)
        outside = [n for n in names if not n.startswith(root)] if root else []
        if outside:
            yield ctx.finding(
                LAYOUT.id,
                f"{len(outside)} member(s) outside the root folder {root!r}",
                excerpt=", ".join(outside[:10]),
            )
        if ctx.artifact.format is Format.TORCHSCRIPT:
            code = sum(1 for n in names if n.startswith(f"{root}code/"))
            yield ctx.fact("torch.torchscript", True)
            yield ctx.finding(
                TORCHSCRIPT.id,
                f"TorchScript archive with {code} code file(s): code runs on torch.jit.load",
            )

    def _source(self, ctx: ScanContext, entry: zipfmt.ZipEntry) -> Iterator[Result]:
        try:
            text = zipfmt.read_member(ctx.blob, entry, max_bytes=_MAX_SOURCE).decode(
                "utf-8", "replace"
            )
        except zipfmt.ZipFormatError:
            return  # too large or broken: already reported when it was streamed
        for lineno, line in enumerate(text.splitlines(), start=1):
            match = _IO_PATTERN.search(line)
            if match:
                yield ctx.finding(
                    TORCHSCRIPT_IO.id,
                    f"{entry.name} line {lineno} calls {match.group(0).strip()!r}",
                    pointer=f"member {entry.name}",
                    excerpt=line.strip()[:200],
                )

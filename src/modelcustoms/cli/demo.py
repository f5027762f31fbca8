"""``customs demo``: build a zoo of benign and hostile model files and scan it, offline."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from modelcustoms.cli.options import EXIT_FINDINGS, EXIT_OK
from modelcustoms.cli.scan import add_output_options, emit
from modelcustoms.core import Report, Severity


def register(sub: Any) -> None:
    """Add the demo subcommand."""
    p = sub.add_parser(
        "demo",
        help="build built-in benign and hostile samples in a temp folder and scan them",
        description="Builds a small zoo of benign and hostile model files (nothing is "
        "downloaded, nothing is executed), scans it, and checks every verdict against the "
        "sample's label. Exit 0 when every hostile file is caught and every benign file is clean.",
    )
    p.add_argument("--keep", type=Path, help="build the zoo in this folder and keep it")
    p.add_argument("--scale", choices=("demo", "full"), default="demo", help="zoo size")
    add_output_options(p)
    p.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """customs demo."""
    from modelcustoms.engines.scan import ScanOptions
    from modelcustoms.pipeline import scan_paths
    from modelcustoms.samples import build_zoo

    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return _demo(args.keep, args, build_zoo, scan_paths, ScanOptions)
    with tempfile.TemporaryDirectory(prefix="customs-demo-") as tmp:
        return _demo(Path(tmp), args, build_zoo, scan_paths, ScanOptions)


def _demo(root: Path, args: argparse.Namespace, build_zoo: Any, scan: Any, opts: Any) -> int:
    samples = build_zoo(root, scale=args.scale)
    report: Report = scan([root], opts())
    emit(report, args)
    table = Table(title=f"Demo: {len(samples)} samples, verdict vs label", expand=False)
    for col in ("sample", "technique", "label", "scanner", "ok"):
        table.add_column(col)
    mismatches = 0
    for s in samples:
        flagged = _flagged(report, s.path)
        ok = flagged == (s.label == "hostile")
        mismatches += not ok
        table.add_row(
            s.path, s.technique, s.label, "flagged" if flagged else "clean", "yes" if ok else "NO"
        )
    console = Console(stderr=True, highlight=False, markup=False)
    console.print(table)
    console.print(
        f"{len(samples) - mismatches}/{len(samples)} samples judged as labelled"
        + (f"; {mismatches} mismatch(es)" if mismatches else "")
    )
    return EXIT_OK if mismatches == 0 else EXIT_FINDINGS


def _flagged(report: Report, sample: str) -> bool:
    for f in report.findings:
        if f.severity < Severity.HIGH or not f.evidence:
            continue
        where = f.evidence[0].location.artifact
        if where == sample or where.startswith((sample + "!", sample + "/")):
            return True
    return False

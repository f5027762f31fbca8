"""``customs demo``: the whole pipeline on a built-in zoo of benign and hostile model files.

Builds the zoo (nothing is downloaded, nothing is executed), inspects it (scan + provenance),
judges it with the ``enterprise-default`` policy, writes the report in every format, signs a
passport with a fresh key and verifies it (and shows that changing one file breaks it), then
checks every sample's scan verdict against its label.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcustoms.cli.options import EXIT_FINDINGS, EXIT_OK
from modelcustoms.cli.output import write_output
from modelcustoms.cli.scan import add_output_options, emit
from modelcustoms.cli.serve import add_registry_option
from modelcustoms.core import Report, ReportDocument, Severity, Verdict
from modelcustoms.render import OutputFormat, renderer_for

if TYPE_CHECKING:
    from rich.console import Console

_FILES = {
    OutputFormat.JSON: "report.json",
    OutputFormat.SARIF: "report.sarif",
    OutputFormat.CYCLONEDX: "report.cdx.json",
    OutputFormat.HTML: "report.html",
    OutputFormat.TERMINAL: "report.txt",
}


def register(sub: Any) -> None:
    """Add the demo subcommand."""
    p = sub.add_parser(
        "demo",
        help="the whole pipeline on built-in benign and hostile samples, offline",
        description="Builds a small zoo of benign and hostile model files (nothing is "
        "downloaded, nothing is executed), inspects it, applies the enterprise-default policy, "
        "writes every output format and a signed passport, and checks every sample's verdict "
        "against its label. Exit 0 when every hostile file is caught, every benign file is "
        "clean and the passport verifies.",
    )
    p.add_argument("--keep", type=Path, help="build the zoo and the outputs here and keep them")
    p.add_argument("--scale", choices=("demo", "full"), default="demo", help="zoo size")
    add_output_options(p)
    add_registry_option(p)
    p.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """customs demo."""
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return _demo(args.keep, args)
    with tempfile.TemporaryDirectory(prefix="customs-demo-") as tmp:
        return _demo(Path(tmp), args)


def _demo(root: Path, args: argparse.Namespace) -> int:
    from rich.console import Console

    from modelcustoms.pipeline import inspect
    from modelcustoms.policy import evaluate, load_policy
    from modelcustoms.samples import build_zoo

    zoo = root / "zoo"
    samples = build_zoo(zoo, scale=args.scale)
    report = inspect([zoo])
    verdict = evaluate(report, load_policy("enterprise-default")).verdict
    emit(report, args, verdict)
    console = Console(stderr=True, highlight=False, markup=False)
    out = root / "reports"
    out.mkdir(exist_ok=True)
    for fmt, name in _FILES.items():
        write_output(renderer_for(fmt, width=140).render(report, verdict), out / name)
    passport_ok = _passport(report, verdict, zoo, out, console)
    mismatches = _label_table(report, samples, console)
    where = (
        f"written to {out}"
        if args.keep
        else "written to a temporary folder (--keep DIR keeps them)"
    )
    console.print(f"outputs {where}: {', '.join(_FILES.values())}, passport.json")
    ok = mismatches == 0 and passport_ok
    return EXIT_OK if ok else EXIT_FINDINGS


def _passport(report: Report, verdict: Verdict, zoo: Path, out: Path, console: Console) -> bool:
    from modelcustoms.passport import (
        KeyAlgorithm,
        VerificationFailed,
        generate_key,
        issue_passport,
        verify_passport,
    )
    from modelcustoms.version import __version__

    key = generate_key(KeyAlgorithm.ED25519)
    doc = ReportDocument.of(report, verdict)
    envelope = issue_passport(doc, key, now=datetime.now(UTC), tool_version=__version__)
    import json

    data = json.dumps(envelope, indent=2).encode()
    write_output(data, out / "passport.json")
    verify_passport(data, key.public_key(), [zoo])
    console.print("passport: signed with a fresh Ed25519 key and verified against the zoo")
    victim = next(p for p in sorted(zoo.rglob("*")) if p.is_file())
    original = victim.read_bytes()
    victim.write_bytes(original + b"\0")
    try:
        verify_passport(data, key.public_key(), [zoo])
    except VerificationFailed as exc:
        console.print(f"passport: after changing one byte, verification fails: {exc}")
        return True
    finally:
        victim.write_bytes(original)
    console.print("passport: a changed file was NOT detected")
    return False


def _label_table(report: Report, samples: list[Any], console: Console) -> int:
    from rich.table import Table

    table = Table(title=f"Demo: {len(samples)} samples, scan verdict vs label", expand=False)
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
    console.print(table)
    console.print(
        f"{len(samples) - mismatches}/{len(samples)} samples judged as labelled"
        + (f"; {mismatches} mismatch(es)" if mismatches else "")
    )
    return mismatches


def _flagged(report: Report, sample: str) -> bool:
    for f in report.findings:
        if f.severity < Severity.HIGH or not f.evidence:
            continue
        where = f.evidence[0].location.artifact
        if where == sample or where.startswith((sample + "!", sample + "/")):
            return True
    return False

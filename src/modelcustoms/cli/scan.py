"""``customs scan`` and ``customs inspect``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from modelcustoms.cli.options import EXIT_FINDINGS, EXIT_OK, Color, FailOn
from modelcustoms.cli.output import write_output
from modelcustoms.core import Decision, Report, Verdict
from modelcustoms.errors import UsageError
from modelcustoms.render import OutputFormat, renderer_for


def register(sub: Any) -> None:
    """Add the scan and inspect subcommands."""
    for name, help_text, handler in (
        (
            "scan",
            "static security scan of model files, folders and archives (nothing is loaded)",
            run_scan,
        ),
        (
            "inspect",
            "run every engine that applies to a model (scan, provenance, weight fingerprint), "
            "then --policy",
            run_inspect,
        ),
        (
            "provenance",
            "identity, lineage and origin of a model from its metadata, and a weight "
            "fingerprint against the shipped library (a few MB of the weights read)",
            run_provenance,
        ),
    ):
        p = sub.add_parser(name, help=help_text, description=help_text + MODEL_HELP)
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        p.add_argument("paths", nargs="+", metavar="MODEL")
        add_output_options(p)
        if name != "provenance":
            add_scan_options(p)
        if name == "inspect":
            from modelcustoms.cli.policy import add_policy_option

            add_policy_option(p)
            p.add_argument(
                "--audit",
                type=Path,
                action="append",
                default=[],
                metavar="AUDIT_JSON",
                help="join the audit run of a saved `customs audit -f json` report (repeatable)",
            )
            from modelcustoms.cli.serve import add_registry_option

            add_registry_option(p)
        p.add_argument(
            "--download",
            action="store_true",
            help="let remote files be read whole (default: metadata and byte ranges only)",
        )
        if name != "scan":
            p.add_argument(
                "--no-fingerprint",
                action="store_true",
                help="skip the weight fingerprint (no weight bytes read: metadata only)",
            )
        p.set_defaults(handler=handler)


MODEL_HELP = """

MODEL is a local file or folder (several may be given), a Hugging Face repo
(hf:org/name[@revision], or org/name when no such local path exists; HF_ENDPOINT,
HF_TOKEN, HF_HUB_OFFLINE and the local cache are honoured), or an Ollama tag
(ollama:name[:tag], read from the local Ollama store)."""


def add_output_options(p: argparse.ArgumentParser) -> None:
    """--format, --output, --fail-on, --color."""
    p.add_argument(
        "--format",
        "-f",
        type=OutputFormat,
        choices=list(OutputFormat),
        default=OutputFormat.TERMINAL,
        metavar="{" + ",".join(f.value for f in OutputFormat) + "}",
        help="output format (default: terminal)",
    )
    p.add_argument("--output", "-o", type=Path, help="write the output to this file")
    p.add_argument(
        "--fail-on",
        type=FailOn,
        choices=list(FailOn),
        default=FailOn.HIGH,
        metavar="{" + ",".join(f.value for f in FailOn) + "}",
        help="exit 1 when a finding is at or above this severity (default: high)",
    )
    p.add_argument(
        "--color",
        type=Color,
        choices=list(Color),
        default=Color.AUTO,
        metavar="{auto,always,never}",
        help="colour in terminal output",
    )


def add_scan_options(p: argparse.ArgumentParser) -> None:
    """Limits and switches of the scan engine."""
    p.add_argument("--jobs", "-j", type=int, default=0, help="files scanned in parallel (0: CPUs)")
    p.add_argument("--max-depth", type=int, default=8, help="deepest container nesting opened")
    p.add_argument(
        "--no-render-templates",
        action="store_true",
        help="check chat templates statically only (skip the sandboxed render)",
    )


def scan_options(args: argparse.Namespace) -> Any:
    """ScanOptions from the parsed arguments."""
    from modelcustoms.engines.scan import ScanOptions

    if args.jobs < 0 or args.max_depth < 1:
        msg = "--jobs must be >= 0 and --max-depth >= 1"
        raise UsageError(msg)
    return ScanOptions(
        jobs=args.jobs,
        max_depth=args.max_depth,
        render_templates=not args.no_render_templates,
    )


def emit(report: Report, args: argparse.Namespace, verdict: Verdict | None = None) -> int:
    """Render the report (with the verdict), write it, and map both to an exit code."""
    color = args.color is Color.ALWAYS or (
        args.color is Color.AUTO
        and args.output is None
        and sys.stdout.isatty()
        and "NO_COLOR" not in os.environ
    )
    width = 160 if args.output is not None else _terminal_width()
    data = renderer_for(args.format, color=color, width=width).render(report, verdict)
    write_output(data, args.output)
    if getattr(args, "registry", None):
        from modelcustoms.cli.serve import record_in_registry

        record_in_registry(args, report, verdict)
    if verdict is not None and verdict.decision is Decision.DENY:
        return EXIT_FINDINGS
    threshold = args.fail_on.threshold()
    if threshold is not None and any(f.severity >= threshold for f in report.findings):
        return EXIT_FINDINGS
    return EXIT_OK


def _terminal_width() -> int:
    try:
        return max(80, os.get_terminal_size().columns)
    except OSError:
        return 120


def _run(args: argparse.Namespace, *, scan: bool, provenance: bool) -> int:
    from modelcustoms.engines.scan import ScanOptions
    from modelcustoms.pipeline import InspectOptions, inspect
    from modelcustoms.sources.resolve import SourceOptions

    opts = InspectOptions(
        scan=scan_options(args) if scan else ScanOptions(),
        source=SourceOptions(full_download=args.download),
        run_scan=scan,
        run_provenance=provenance,
        run_fingerprint=not getattr(args, "no_fingerprint", False),
        extra_runs=_audit_runs(getattr(args, "audit", [])),
    )
    spec = getattr(args, "policy", None)
    if spec is None:
        return emit(inspect(args.paths, opts), args)
    from modelcustoms.cli.policy import judge, load_gate

    policy = load_gate(spec)  # before the engines: a broken policy fails fast
    report = inspect(args.paths, opts)
    return emit(report, args, judge(report, policy).verdict)


def _audit_runs(paths: list[Path]) -> tuple[Any, ...]:
    """The audit runs of saved audit reports (``inspect --audit``), checked like any report."""
    from modelcustoms.core.load import load_report
    from modelcustoms.errors import InputError

    runs: list[Any] = []
    for path in paths:
        try:
            doc = load_report(path.read_bytes())
        except OSError as exc:
            msg = f"cannot read audit report {path}: {exc.strerror}"
            raise InputError(msg) from exc
        found = [r for r in doc.runs if r.engine == "audit"]
        if not found:
            msg = f"{path} has no audit run"
            raise InputError(msg, hint="pass a report written by `customs audit -f json`")
        runs.extend(found)
    return tuple(runs)


def run_scan(args: argparse.Namespace) -> int:
    """customs scan."""
    return _run(args, scan=True, provenance=False)


def run_inspect(args: argparse.Namespace) -> int:
    """customs inspect."""
    return _run(args, scan=True, provenance=True)


def run_provenance(args: argparse.Namespace) -> int:
    """customs provenance."""
    return _run(args, scan=False, provenance=True)

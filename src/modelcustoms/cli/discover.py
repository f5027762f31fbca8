"""``customs discover``: every model a codebase uses, and where each one comes from."""

from __future__ import annotations

import argparse
from typing import Any

from modelcustoms.cli.scan import add_output_options, emit

HELP = "find every model a codebase or disk tree uses (code, configs, notebooks, GGUF files)"
DESCRIPTION = (
    HELP
    + """

PATH is a repository, a folder or a file. Nothing is imported or executed: Python is read
through its AST, configs and other languages line by line (comments removed), notebooks cell
by cell, GGUF files by their header. Each reference is reported with file:line, the model or
endpoint, its publisher and country, and the country of the host that serves it.
Vendored code (node_modules, site-packages, vendor, third_party, .venv) is listed as skipped."""
)


def register(sub: Any) -> None:
    """Add the discover subcommand."""
    p = sub.add_parser("discover", help=HELP, description=DESCRIPTION)
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("path", metavar="PATH")
    add_output_options(p)
    from modelcustoms.cli.policy import add_policy_option

    add_policy_option(p)
    p.set_defaults(handler=run_discover)


def run_discover(args: argparse.Namespace) -> int:
    """customs discover."""
    from modelcustoms.pipeline import discover

    if args.policy is None:
        return emit(discover(args.path), args)
    from modelcustoms.cli.policy import judge, load_gate

    policy = load_gate(args.policy)
    report = discover(args.path)
    return emit(report, args, judge(report, policy).verdict)

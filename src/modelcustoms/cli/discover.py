"""``customs discover``: every model a codebase uses, and where each one comes from."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from modelcustoms.errors import CustomsError

if TYPE_CHECKING:
    import argparse

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

_FAIL_ON = ("info", "low", "medium", "high", "critical", "never")
_COLOR = ("auto", "always", "never")


def register(sub: Any) -> None:
    """Add the discover subcommand."""
    import argparse

    from modelcustoms.cli.policy import add_policy_option
    from modelcustoms.cli.scan import add_output_options

    p = sub.add_parser("discover", help=HELP, description=DESCRIPTION)
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("path", metavar="PATH")
    add_output_options(p)
    add_policy_option(p)
    from modelcustoms.cli.serve import add_registry_option

    add_registry_option(p)
    p.set_defaults(handler=run_discover)


def run_discover(args: argparse.Namespace) -> int:
    """customs discover."""
    from modelcustoms.cli.scan import emit
    from modelcustoms.pipeline import discover

    if args.policy is None:
        return emit(discover(args.path), args)
    from modelcustoms.cli.policy import judge, load_gate

    policy = load_gate(args.policy)
    report = discover(args.path)
    return emit(report, args, judge(report, policy).verdict)


def fast_json(argv: list[str]) -> int | None:
    """``customs discover PATH -f json [-o FILE] [--fail-on X]`` without the report model.

    The plain-data engine core and :mod:`modelcustoms.engines.discover.document` write the same
    document the full path does, in a fraction of its start-up time (the report model and the
    renderers are not imported). Returns None for anything else (other formats, a policy, help,
    an unknown option, a missing path): the full parser then handles it, errors included.
    """
    opts = _simple_options(argv)
    if opts is None or os.environ.get("CUSTOMS_REGISTRY"):  # recording needs the full path
        return None
    try:
        return _fast_json(*opts)
    except KeyboardInterrupt:
        print("customs: interrupted", file=sys.stderr)
        return 130
    except CustomsError as exc:
        print(f"customs: error: {exc.diagnostics()}", file=sys.stderr)
        return 2
    except Exception as exc:  # the contract of cli.main: one line, exit 2, no traceback
        print(
            f"customs: internal error: {type(exc).__name__}: {exc}\n"
            "  hint: this is a bug in modelcustoms; rerun with --debug and report the traceback",
            file=sys.stderr,
        )
        return 2


def _fast_json(path: str, output: str | None, fail_on: str) -> int | None:
    # NOTE: os.path, not pathlib, on this path (see engines/discover/walk.py).
    if not os.path.exists(path):  # noqa: PTH110
        return None
    folder = os.path.dirname(output or "") or "."  # noqa: PTH120
    if output is not None and not os.path.isdir(folder):  # noqa: PTH112
        print(f"customs: error: cannot write {output}: no such folder {folder}", file=sys.stderr)
        return 2
    import gc

    from modelcustoms.engines.discover.document import (
        document,
        render_json,
        report_fields,
        worst_severity_rank,
    )
    from modelcustoms.engines.discover.kinds import SEVERITY_RANK
    from modelcustoms.engines.discover.scan import DiscoverOptions, discover_tree
    from modelcustoms.engines.discover.vocab import default_vocabulary

    # NOTE: the scan builds no reference cycles (syntax trees and hits are freed by reference
    # counting), so the cycle collector's passes over them are pure cost in a short command.
    gc.disable()
    try:
        outcome = discover_tree(path, DiscoverOptions(), default_vocabulary())
        fields = report_fields(path, outcome)
    finally:
        gc.enable()
    try:
        _write(render_json(document(fields)), output)
    except OSError as exc:
        print(f"customs: error: cannot write {output}: {exc}", file=sys.stderr)
        return 2
    threshold = SEVERITY_RANK.get(fail_on)
    return 1 if threshold is not None and worst_severity_rank(fields) >= threshold else 0


def _write(data: bytes, path: str | None) -> None:
    """``cli.output.write_output`` without ``tempfile`` (its import costs a small scan)."""
    if path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")  # noqa: PTH118
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)  # noqa: PTH105
    except BaseException:
        os.unlink(tmp)  # noqa: PTH108
        raise


def _simple_options(argv: list[str]) -> tuple[str, str | None, str] | None:
    """PATH, --output and --fail-on when argv holds only those, ``--format json`` and --color."""
    path: str | None = None
    output: str | None = None
    fmt = "terminal"
    fail_on = "high"
    i = 0
    while i < len(argv):
        token = argv[i]
        name, eq, inline = token.partition("=") if token.startswith("--") else (token, "", "")
        if name in ("-f", "--format", "-o", "--output", "--fail-on", "--color"):
            if eq:
                value = inline
            elif i + 1 < len(argv):
                i += 1
                value = argv[i]
            else:
                return None
            if name in ("-f", "--format"):
                fmt = value
            elif name in ("-o", "--output"):
                output = value if value not in ("-", "") else None
            elif name == "--fail-on":
                fail_on = value
            elif value not in _COLOR:
                return None
        elif token.startswith("-") or path is not None:
            return None  # another option (or a second PATH): the full parser decides
        else:
            path = token
        i += 1
    if path is None or fmt != "json" or fail_on not in _FAIL_ON or not path:
        return None
    return path, output, fail_on

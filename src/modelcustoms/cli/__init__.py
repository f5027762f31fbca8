"""The command line: the only place with argv, stdout/stderr, output files and exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from modelcustoms.errors import CustomsError
from modelcustoms.version import __version__

if TYPE_CHECKING:
    import argparse

DESCRIPTION = """\
Inspect open-weight AI models at the border of your software.

Exit codes: 0 clean (nothing at or above --fail-on, no policy deny), 1 policy deny or
findings at or above --fail-on, 2 usage or input error."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    import argparse

    from modelcustoms.cli import (
        audit,
        demo,
        discover,
        fingerprint,
        gateway,
        meta,
        passport,
        policy,
        scan,
        serve,
        vault,
    )

    parser = argparse.ArgumentParser(
        prog="customs",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"modelcustoms {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    scan.register(sub)
    discover.register(sub)
    fingerprint.register(sub)
    demo.register(sub)
    meta.register(sub)
    passport.register(sub)
    policy.register(sub)
    audit.register(sub)
    serve.register(sub)
    gateway.register(sub)
    vault.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    tokens = list(sys.argv[1:] if argv is None else argv)
    if tokens[:1] == ["discover"]:
        # NOTE: `discover -f json` has a fast path that never loads the report model.
        from modelcustoms.cli.discover import fast_json

        fast = fast_json(tokens[1:])
        if fast is not None:
            return fast
    from modelcustoms.cli.options import EXIT_ERROR, EXIT_INTERRUPTED

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_ERROR
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        code: int = args.handler(args)
    except CustomsError as exc:
        print(f"customs: error: {exc.diagnostics()}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("customs: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # NOTE: the reader (e.g. `| head`) went away; nothing more can be said to it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"customs: internal error: {type(exc).__name__}: {exc}\n"
            "  hint: this is a bug in modelcustoms; rerun with --debug and report the traceback",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return code


def entrypoint() -> None:
    """Console-script entry point."""
    sys.exit(main())

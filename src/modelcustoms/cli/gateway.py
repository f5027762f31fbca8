"""``customs gateway serve|check|verify-log|keys``: the passport-checking OpenAI-compatible proxy.

Exit codes: 0 ok, 1 the audit log does not verify, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from modelcustoms.cli.options import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK

HELP = "OpenAI-compatible proxy that serves only passported models, with origin-aware data rules"
DESCRIPTION = (
    HELP
    + """

serve CONFIG      run the proxy (reloads CONFIG and the passports on change or SIGHUP)
check CONFIG      say which upstreams hold a valid passport, and why the others do not
verify-log FILE   check the hash chain of an audit log (or --postgres URL for the shared one)
keys new --id ID  issue a virtual API key; prints the key once and the line for CONFIG

Exit codes: 0 ok, 1 the audit log does not verify, 2 usage or input error."""
)


def register(sub: Any) -> None:
    """Add the gateway subcommand and its actions."""
    p = sub.add_parser("gateway", help=HELP, description=DESCRIPTION)
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    actions = p.add_subparsers(dest="gateway_command", metavar="ACTION")

    s = actions.add_parser("serve", help="run the proxy")
    s.add_argument("config", type=Path, metavar="CONFIG.yaml")
    s.add_argument("--host", help="listen address (default: the configuration's)")
    s.add_argument("--port", type=int, help="listen port (default: the configuration's)")
    s.add_argument("--quiet", action="store_true", help="no per-request log lines")
    s.add_argument(
        "--http",
        choices=("builtin", "uvicorn"),
        default="builtin",
        help="HTTP server: the built-in one (one write per response; default) or uvicorn",
    )
    s.set_defaults(handler=run_serve)

    c = actions.add_parser("check", help="resolve the configuration against the passports")
    c.add_argument("config", type=Path, metavar="CONFIG.yaml")
    c.set_defaults(handler=run_check)

    v = actions.add_parser("verify-log", help="verify an audit log's hash chain")
    v.add_argument("file", type=Path, nargs="?", metavar="FILE")
    v.add_argument("--postgres", metavar="URL", help="verify the shared chain in PostgreSQL")
    v.add_argument("--head", metavar="SHA256", help="the chain must end at this recorded hash")
    v.add_argument("--export", type=Path, metavar="FILE", help="with --postgres: also write it")
    v.set_defaults(handler=run_verify_log)

    k = actions.add_parser("keys", help="virtual API keys")
    kactions = k.add_subparsers(dest="keys_command", metavar="ACTION")
    n = kactions.add_parser("new", help="issue a key (stored in the configuration as sha256)")
    n.add_argument("--id", required=True, help="a name for the key (shown in audit and metrics)")
    n.add_argument("--models", nargs="+", default=["*"], help="model names it may use")
    n.add_argument("--budget-usd", help="spend limit in USD")
    n.add_argument("--rpm", type=int, help="requests per minute")
    n.set_defaults(handler=run_keys_new)
    k.set_defaults(handler=lambda _a: _usage(k))
    p.set_defaults(handler=lambda _a: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_ERROR


def _server() -> Any:
    """The server module, or a clear error when the gateway extra is not installed."""
    from modelcustoms.errors import UsageError

    try:
        from modelcustoms.gateway import server
    except ImportError as exc:
        msg = f"the gateway needs its extra: pip install 'modelcustoms[gateway]' ({exc.name})"
        raise UsageError(msg) from exc
    return server


def run_serve(args: argparse.Namespace) -> int:
    """customs gateway serve."""
    serve = _server().serve

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("modelcustoms.gateway")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    serve(args.config, args.host, args.port, log_requests=not args.quiet, http=args.http)
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    """customs gateway check."""
    passport_source = _server().passport_source
    from modelcustoms.gateway.config import load_config
    from modelcustoms.gateway.runtime import build_runtime
    from modelcustoms.kb import default_kb

    cfg = load_config(args.config)
    rt = build_runtime(cfg, passport_source(cfg), default_kb(), {})
    for route in rt.routes.values():
        a = route.approval
        if a is None:
            print(f"{route.id}: REFUSED  {route.refusal}")
            continue
        origin = ", ".join(sorted(a.origin_countries)) if a.origin_known else "unknown"
        print(
            f"{route.id}: approved  {a.subject[:23]}…  verdict {a.decision}  origin {origin}  "
            f"operator {route.operator_country or 'unknown'}"
        )
    for name, served in rt.models.items():
        order = " → ".join(r.id for r in served.routes) or "(none)"
        print(f"model {name}: {order}")
    return EXIT_OK


def run_verify_log(args: argparse.Namespace) -> int:
    """customs gateway verify-log."""
    from modelcustoms.errors import UsageError
    from modelcustoms.gateway.ledger import verify_file, verify_lines

    if (args.file is None) == (args.postgres is None):
        msg = "give an audit log FILE or --postgres URL"
        raise UsageError(msg)
    if args.postgres:
        from modelcustoms.gateway.shared import export_lines

        lines = list(export_lines(args.postgres))
        if args.export:
            from modelcustoms.cli.output import write_output

            write_output("".join(line + "\n" for line in lines).encode(), args.export)
        result = verify_lines(lines)
        if args.head and result.head != args.head:
            result = type(result)(
                result.count, result.head, (*result.problems, "the chain does not end at --head")
            )
        where = "the shared audit chain"
    else:
        result = verify_file(args.file, args.head)
        where = str(args.file)
    if result.problems:
        print(f"{where}: does NOT verify ({len(result.problems)} problem(s))")
        for problem in result.problems[:50]:
            print(f"  - {problem}")
        return EXIT_FINDINGS
    print(f"{where}: {result.count} entries, chain verified; head {result.head}")
    return EXIT_OK


def run_keys_new(args: argparse.Namespace) -> int:
    """customs gateway keys new."""
    from modelcustoms.gateway.keys import new_key

    key, digest = new_key()
    entry: dict[str, Any] = {"id": args.id, "sha256": digest, "models": args.models}
    if args.budget_usd is not None:
        entry["budget_usd"] = args.budget_usd
    if args.rpm is not None:
        entry["rpm"] = args.rpm
    print(f"key (shown once; give it to the client): {key}", file=sys.stderr)
    print("# add under keys: in the gateway configuration")
    print("- " + json.dumps(entry))
    return EXIT_OK

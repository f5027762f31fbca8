"""``customs serve`` (the registry's web service) and ``customs registry`` (its command line).

``customs registry token …`` works on the database directly (it is how the first token is
made); every other ``customs registry`` command talks to a running server over its API
(``--registry URL`` or ``$CUSTOMS_REGISTRY``, token in ``$CUSTOMS_REGISTRY_TOKEN``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcustoms.cli.options import EXIT_OK
from modelcustoms.errors import UsageError

if TYPE_CHECKING:
    from modelcustoms.core import Report, Verdict
    from modelcustoms.registry.client import RegistryClient

DEFAULT_PORT = 8700
ENV_URL = "CUSTOMS_REGISTRY"


def register(sub: Any) -> None:
    """Add ``serve`` and ``registry``."""
    p = sub.add_parser(
        "serve",
        help="run the registry: JSON API and dashboard over every recorded report",
        description="Run the registry web service: a JSON API (OpenAPI at /docs) and a "
        "dashboard of every model inspected and repository discovered. The database is a "
        "SQLite file by default, or PostgreSQL by URL; its schema is migrated at start.",
    )
    _db_option(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    p.add_argument(
        "--trust-key",
        type=Path,
        action="append",
        default=[],
        metavar="PUB.pem",
        help="a passport public key this registry trusts (repeatable)",
    )
    p.add_argument("--public-read", action="store_true", help="let anyone read without a token")
    p.add_argument(
        "--secure-cookie",
        action="store_true",
        help="mark the dashboard's login cookie Secure (when served behind HTTPS)",
    )
    p.set_defaults(handler=run_serve)

    r = sub.add_parser(
        "registry",
        help="list, show, diff, approve and waive in a registry; manage its tokens",
        description="Talk to a registry: `list`, `show`, `diff`, `record`, `approve`, `waive` "
        f"go through its API (--registry URL or ${ENV_URL}; token in "
        "$CUSTOMS_REGISTRY_TOKEN); `token` works on the database itself.",
    )
    rs = r.add_subparsers(dest="registry_command", metavar="ACTION")
    r.set_defaults(handler=lambda _a: _usage(r))
    _client_commands(rs)
    t = rs.add_parser("token", help="create, list or revoke API tokens (on the database)")
    ts = t.add_subparsers(dest="token_command", metavar="ACTION")
    t.set_defaults(handler=lambda _a: _usage(t))
    tc = ts.add_parser("create", help="make a token; it is printed once, only its hash is kept")
    tc.add_argument("name")
    tc.add_argument("--role", choices=("viewer", "auditor", "approver"), required=True)
    _db_option(tc)
    tc.set_defaults(handler=run_token_create)
    tl = ts.add_parser("list", help="list tokens (names, roles, revoked or not)")
    _db_option(tl)
    tl.set_defaults(handler=run_token_list)
    tr = ts.add_parser("revoke", help="revoke a token by name")
    tr.add_argument("name")
    _db_option(tr)
    tr.set_defaults(handler=run_token_revoke)


def _client_commands(rs: Any) -> None:
    def parser(name: str, help_text: str) -> argparse.ArgumentParser:
        q: argparse.ArgumentParser = rs.add_parser(name, help=help_text)
        add_registry_option(q, required=True)
        q.add_argument("--json", action="store_true", help="print the API's JSON answer")
        return q

    q = parser("list", "the inventory, filtered")
    for name in ("country", "verdict", "family", "publisher"):
        q.add_argument(f"--{name}")
    q.add_argument("--limit", type=int, default=100)
    q.set_defaults(handler=run_list)
    q = parser("show", "one model: origin, lineage chain, reports, approvals")
    q.add_argument("model", help="model id or key (hf:org/name, path:name, ollama:tag)")
    q.set_defaults(handler=run_show)
    q = parser("diff", "what changed between two reports (default: a model's last two)")
    q.add_argument("model", nargs="?", help="model id or key: diff its newest two reports")
    q.add_argument("--old", type=int, help="report id")
    q.add_argument("--new", type=int, help="report id")
    q.set_defaults(handler=run_diff)
    q = parser("record", "record a report document (and its passport)")
    q.add_argument("report", type=Path)
    q.add_argument("--passport", type=Path)
    q.set_defaults(handler=run_record)
    q = parser("bind", "declare that OPERATOR serves registry model MODEL_KEY as MODEL_NAME")
    q.add_argument("operator")
    q.add_argument("model_name")
    q.add_argument("model_key", help="e.g. hf:org/name")
    q.set_defaults(handler=run_bind)
    for name in ("approve", "waive"):
        q = parser(name, f"{name} a model's newest report (or --report ID); needs --reason")
        q.add_argument("model", help="model id or key")
        q.add_argument("--reason", required=True)
        q.add_argument("--report", type=int, dest="report_id")
        if name == "waive":
            q.add_argument("--rule", action="append", default=[], help="rule id (repeatable)")
        q.set_defaults(handler=run_approve, kind=name)


def add_registry_option(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    """``--registry URL`` (default ``$CUSTOMS_REGISTRY``)."""
    p.add_argument(
        "--registry",
        default=os.environ.get(ENV_URL) or None,
        metavar="URL",
        help=f"registry to record in / talk to (default ${ENV_URL})"
        + ("" if required else "; the report is recorded there after it is written"),
    )
    p.set_defaults(registry_required=required)


def _db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help="database: sqlite:///FILE or postgresql://… "
        "(default $CUSTOMS_REGISTRY_DB, else sqlite:///customs-registry.db)",
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _client(args: argparse.Namespace) -> RegistryClient:
    from modelcustoms.registry.client import RegistryClient

    if not args.registry:
        msg = f"no registry given: pass --registry URL or set ${ENV_URL}"
        raise UsageError(msg)
    return RegistryClient(args.registry)


def record_in_registry(args: argparse.Namespace, report: Report, verdict: Verdict | None) -> None:
    """After ``inspect``/``discover`` wrote their output: record the report when asked."""
    url = getattr(args, "registry", None)
    if not url:
        return
    from modelcustoms.core import ReportDocument

    doc = ReportDocument.of(report, verdict).model_dump(mode="json")
    with _client(args) as client:
        out = client.record(doc)
    state = "recorded" if out.get("created") else "already recorded"
    print(f"registry: {state} report {out.get('report_id')} of {out.get('key')}", file=sys.stderr)


# -- serve ------------------------------------------------------------------------------


def run_serve(args: argparse.Namespace) -> int:
    """customs serve."""
    import uvicorn

    from modelcustoms.passport import load_public_key
    from modelcustoms.registry.store import RegistryStore
    from modelcustoms.registry.web.app import create_app
    from modelcustoms.registry.web.settings import ServeSettings

    if not 0 < args.port < 65536:
        msg = f"--port must be 1..65535, not {args.port}"
        raise UsageError(msg)
    keys = []
    for path in args.trust_key:
        try:
            keys.append(load_public_key(path.read_bytes()))
        except OSError as exc:
            msg = f"cannot read --trust-key {path}: {exc.strerror}"
            raise UsageError(msg) from exc
    store = RegistryStore(args.db, trusted_keys=keys)
    settings = ServeSettings(public_read=args.public_read, secure_cookie=args.secure_cookie)
    app = create_app(store, settings)
    print(
        f"customs serve: registry {store.engine.url.render_as_string(hide_password=True)} "
        f"on http://{args.host}:{args.port} (API docs at /docs)",
        file=sys.stderr,
    )
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        store.close()
    return EXIT_OK


# -- tokens (database) ------------------------------------------------------------------


def run_token_create(args: argparse.Namespace) -> int:
    """customs registry token create."""
    from modelcustoms.registry.auth import Role
    from modelcustoms.registry.store import RegistryStore

    with RegistryStore(args.db) as store:
        secret = store.create_token(args.name, Role(args.role))
    print(secret)
    print(
        f"token {args.name!r} ({args.role}): shown once, only its hash is stored", file=sys.stderr
    )
    return EXIT_OK


def run_token_list(args: argparse.Namespace) -> int:
    """customs registry token list."""
    from modelcustoms.registry.store import RegistryStore

    with RegistryStore(args.db) as store:
        for t in store.tokens():
            state = "revoked" if t["revoked"] else "active"
            print(f"{t['name']}\t{t['role']}\t{state}\t{t['created_at']}")
    return EXIT_OK


def run_token_revoke(args: argparse.Namespace) -> int:
    """customs registry token revoke."""
    from modelcustoms.registry.store import RegistryStore

    with RegistryStore(args.db) as store:
        store.revoke_token(args.name)
    print(f"token {args.name!r} revoked", file=sys.stderr)
    return EXIT_OK


# -- API commands -------------------------------------------------------------------------


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def run_list(args: argparse.Namespace) -> int:
    """customs registry list."""
    params = {k: getattr(args, k) for k in ("country", "verdict", "family", "publisher")}
    params = {k: v for k, v in params.items() if v}
    with _client(args) as client:
        page = client.request("GET", "/models", params={**params, "limit": args.limit})
    if args.json:
        _print_json(page)
        return EXIT_OK
    print(f"{'ID':>5}  {'VERDICT':8} {'APPROVAL':9} {'ORIGIN':7} {'FAMILY':14} MODEL")
    for m in page["items"]:
        print(
            f"{m['id']:>5}  {m['decision']:8} {m.get('approval') or '':9} "
            f"{m.get('country') or '?':7} {m.get('family') or '?':14} {m['key']}"
        )
    print(f"{len(page['items'])} of {page['total']} model(s)", file=sys.stderr)
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    """customs registry show."""
    with _client(args) as client:
        detail = client.request("GET", f"/models/{client.model_id(args.model)}")
    if args.json:
        _print_json(detail)
        return EXIT_OK
    m = detail["model"]
    print(f"{m['key']}  verdict {m['decision']}" + (f" ({m['approval']})" if m["approval"] else ""))
    print(
        f"  family {m.get('family') or '?'}, publisher {m.get('publisher') or '?'}, "
        f"origin {m.get('country') or 'unknown'}"
    )
    chain = [m["name"]] + [
        f"{x['base']} [{x['relation']}, {x['level']}]" for x in detail["lineage"]
    ]
    print("  lineage: " + " → ".join(chain))
    for r in detail["reports"]:
        print(
            f"  report {r['id']:>5}  {r['created_at'][:19]}  {r['decision']:6} "
            f"{r['findings_count']:>3} finding(s)  rev {r.get('revision') or '-'}"
            + ("  passport" if r["has_passport"] else "")
        )
    for a in detail["approvals"]:
        print(f"  {a['kind']} of report {a['report_id']} by {a['actor']}: {a['reason']}")
    return EXIT_OK


def run_diff(args: argparse.Namespace) -> int:
    """customs registry diff."""
    with _client(args) as client:
        if args.old is not None and args.new is not None:
            old, new = args.old, args.new
        elif args.model:
            detail = client.request("GET", f"/models/{client.model_id(args.model)}")
            reports = detail["reports"]
            if len(reports) < 2:
                msg = f"{detail['model']['key']} has {len(reports)} report(s): nothing to diff"
                raise UsageError(msg)
            old, new = reports[1]["id"], reports[0]["id"]
        else:
            msg = "give a model, or --old ID and --new ID"
            raise UsageError(msg)
        d = client.request("GET", "/diff", params={"old": old, "new": new})
    if args.json:
        _print_json(d)
        return EXIT_OK
    print(f"report {old} → {new}: " + ("no change" if d["empty"] else ""))
    for c in d["changes"]:
        print(f"  {c['what']}: {_value(c['before'])} → {_value(c['after'])}")
    for f in d["new_findings"]:
        print(f"  + {f['severity']} {f['rule_id']} {f['artifact']}: {f['message']}")
    for f in d["resolved_findings"]:
        print(f"  - {f['severity']} {f['rule_id']} {f['artifact']}")
    for key, sign in (("files_added", "+"), ("files_removed", "-"), ("files_changed", "~")):
        for p in d[key]:
            print(f"  {sign} file {p}")
    return EXIT_OK


def _value(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "-"
    return "-" if value is None else str(value)


def run_record(args: argparse.Namespace) -> int:
    """customs registry record."""

    def read(path: Path) -> Any:
        try:
            return json.loads(path.read_bytes())
        except OSError as exc:
            msg = f"cannot read {path}: {exc.strerror}"
            raise UsageError(msg) from exc
        except ValueError as exc:
            msg = f"{path} is not JSON: {exc}"
            raise UsageError(msg) from exc

    passport = read(args.passport) if args.passport else None
    with _client(args) as client:
        out = client.record(read(args.report), passport)
    if args.json:
        _print_json(out)
    else:
        state = "recorded" if out["created"] else "already recorded"
        print(
            f"{state}: report {out['report_id']} of {out['key']}"
            + (" with its passport" if out["passport"] else "")
        )
    return EXIT_OK


def run_approve(args: argparse.Namespace) -> int:
    """customs registry approve|waive."""
    body: dict[str, Any] = {"reason": args.reason, "report_id": args.report_id}
    if args.kind == "waive":
        if not args.rule:
            msg = "waive needs at least one --rule RULE_ID"
            raise UsageError(msg)
        body["rules"] = args.rule
    with _client(args) as client:
        mid = client.model_id(args.model)
        out = client.request("POST", f"/models/{mid}/{args.kind}", json=body)
    if args.json:
        _print_json(out)
    else:
        print(
            f"{out['kind']} of report {out['report_id']} (model {mid}) recorded by {out['actor']}"
        )
    return EXIT_OK


def run_bind(args: argparse.Namespace) -> int:
    """customs registry bind."""
    body = {"operator": args.operator, "model_name": args.model_name, "model_key": args.model_key}
    with _client(args) as client:
        out = client.request("POST", "/hosted/bind", json=body)
    if args.json:
        _print_json(out)
    else:
        print(f"{args.operator} / {args.model_name} → {args.model_key}")
    return EXIT_OK

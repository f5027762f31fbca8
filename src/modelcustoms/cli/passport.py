"""``customs passport keygen|sign|verify``: signed attestations of a verdict over model files.

Exit codes: 0 verified (or written), 1 verification failed, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelcustoms.cli.options import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from modelcustoms.cli.output import write_output
from modelcustoms.errors import InputError, UsageError

PRIVATE_NAME = "passport.key"
PUBLIC_NAME = "passport.pub"
ALGORITHMS = ("ed25519", "ecdsa-p256")
"""The values of ``passport.KeyAlgorithm``, spelled here so ``customs --help`` does not import
cryptography (a test checks they agree)."""


def register(sub: Any) -> None:
    """Add the passport subcommand and its actions."""
    p = sub.add_parser(
        "passport",
        help="issue and verify signed passports (in-toto statements in DSSE envelopes)",
        description="A passport binds a verdict and a report digest to the sha256 of every "
        "model file, signed offline with a local Ed25519 or ECDSA P-256 key. "
        "Exit codes: 0 ok, 1 verification failed, 2 usage or input error.",
    )
    actions = p.add_subparsers(dest="passport_command", metavar="ACTION")

    k = actions.add_parser("keygen", help="write a new key pair (passport.key, passport.pub)")
    k.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the keys")
    k.add_argument(
        "--algorithm",
        choices=ALGORITHMS,
        default=ALGORITHMS[0],
        help="signature algorithm (default: ed25519)",
    )
    k.add_argument("--password-env", metavar="VAR", help="encrypt the private key with $VAR")
    k.add_argument("--force", action="store_true", help="overwrite existing key files")
    k.set_defaults(handler=run_keygen)

    s = actions.add_parser("sign", help="sign a passport for a JSON report")
    s.add_argument("report", type=Path, metavar="REPORT.json")
    s.add_argument("--key", type=Path, required=True, help="PEM private key")
    s.add_argument("--password-env", metavar="VAR", help="read the key's password from $VAR")
    s.add_argument("--output", "-o", type=Path, help="write the passport here (default: stdout)")
    s.set_defaults(handler=run_sign)

    v = actions.add_parser("verify", help="verify a passport against model files (and a report)")
    v.add_argument("paths", nargs="+", type=Path, metavar="MODEL_PATH")
    v.add_argument("--passport", type=Path, required=True, help="the passport JSON")
    v.add_argument("--key", type=Path, required=True, help="PEM public key of the signer")
    v.add_argument("--report", type=Path, help="also check this report against the passport")
    v.set_defaults(handler=run_verify)
    p.set_defaults(handler=lambda _args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_ERROR


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        msg = f"cannot read {what} {path}: {exc.strerror or exc}"
        raise InputError(msg) from exc


def _password(var: str | None) -> bytes | None:
    if var is None:
        return None
    value = os.environ.get(var)
    if not value:
        msg = f"--password-env {var}: the variable is not set or empty"
        raise UsageError(msg)
    return value.encode("utf-8")


def run_keygen(args: argparse.Namespace) -> int:
    """customs passport keygen."""
    from modelcustoms.passport import KeyAlgorithm, generate_key, key_id, private_pem, public_pem

    out: Path = args.out
    private, public = out / PRIVATE_NAME, out / PUBLIC_NAME
    existing = [str(p) for p in (private, public) if p.exists()]
    if existing and not args.force:
        msg = f"refusing to overwrite {', '.join(existing)}"
        raise UsageError(msg, hint="pass --force to replace the keys, or choose another --out")
    algorithm = KeyAlgorithm(args.algorithm)
    key = generate_key(algorithm)
    try:
        out.mkdir(parents=True, exist_ok=True)
        # NOTE: create the private key file owner-only before any byte of the key lands in it.
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(private_pem(key, _password(args.password_env)))
        public.write_bytes(public_pem(key))
    except OSError as exc:
        msg = f"cannot write keys to {out}: {exc.strerror or exc}"
        raise InputError(msg) from exc
    print(f"private key: {private} (keep it secret)", file=sys.stderr)
    print(f"public key:  {public}", file=sys.stderr)
    print(f"key id:      {key_id(key.public_key())} ({algorithm.value})", file=sys.stderr)
    return EXIT_OK


def run_sign(args: argparse.Namespace) -> int:
    """customs passport sign."""
    from modelcustoms.core.load import load_report
    from modelcustoms.passport import issue_passport, load_private_key
    from modelcustoms.version import __version__

    doc = load_report(_read(args.report, "report"))
    key = load_private_key(_read(args.key, "key"), _password(args.password_env))
    envelope = issue_passport(doc, key, now=datetime.now(UTC), tool_version=__version__)
    write_output((json.dumps(envelope, indent=2) + "\n").encode("utf-8"), args.output)
    statement = json.loads(_payload(envelope))
    verdict = statement["predicate"]["verdict"]
    print(
        f"passport: {len(statement['subject'])} file(s), verdict {verdict['decision']} "
        f"(policy {verdict['policy']}), key {envelope['signatures'][0]['keyid'][:16]}…",
        file=sys.stderr,
    )
    return EXIT_OK


def _payload(envelope: dict[str, Any]) -> bytes:
    return base64.b64decode(envelope["payload"])


def run_verify(args: argparse.Namespace) -> int:
    """customs passport verify."""
    from modelcustoms.passport import VerificationFailed, load_public_key, verify_passport

    envelope = _read(args.passport, "passport")
    key = load_public_key(_read(args.key, "public key"))
    report = _read(args.report, "report") if args.report is not None else None
    try:
        passport = verify_passport(envelope, key, args.paths, report)
    except VerificationFailed as exc:
        print(f"customs: {exc.diagnostics()}", file=sys.stderr)
        return EXIT_FINDINGS
    verdict = passport.verdict
    checked = "signature, files" + (", report" if report is not None else "")
    print(
        f"passport verified ({checked}): {len(passport.files)} file(s) match; "
        f"verdict {verdict.get('decision')} (policy {verdict.get('policy')}); "
        f"report {passport.report_digest[:16]}…; key {passport.key_id[:16]}…"
    )
    return EXIT_OK

"""``customs vault push|pull|list|verify``: approved models as OCI artifacts the company controls.

Exit codes: 0 ok; 1 refused or failed verification (no valid passport, a corrupt blob, a
tampered file); 2 usage or input error (bad reference, unreachable registry, unreadable model).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcustoms.cli.options import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from modelcustoms.errors import InputError, UsageError

if TYPE_CHECKING:
    from modelcustoms.passport import PublicKey
    from modelcustoms.vault.reference import VaultRef
    from modelcustoms.vault.store import Store

HELP = "store approved models (files, report, passport) as OCI artifacts; restore and check them"
DESCRIPTION = (
    HELP
    + """

A vault is an OCI registry (REF = [oci://]HOST[:PORT]/REPOSITORY[:TAG|@sha256:...]) or a folder
or file share holding an OCI image layout (--oci-layout, REF = PATH[:TAG]). Every model file
becomes one content-addressed layer (CNCF ModelPack media types), so files shared between models
are stored once. push refuses a model without a valid passport unless --unsafe-no-passport is
given, and then records that in the artifact. Registry credentials: CUSTOMS_VAULT_USERNAME and
CUSTOMS_VAULT_PASSWORD (Docker token flow or Basic), or CUSTOMS_VAULT_TOKEN.
Exit codes: 0 ok, 1 refused or verification failed, 2 usage or input error."""
)


def register(sub: Any) -> None:
    """Add the vault subcommand and its actions."""
    p = sub.add_parser("vault", help=HELP, description=DESCRIPTION)
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    actions = p.add_subparsers(dest="vault_command", metavar="ACTION")

    push = actions.add_parser("push", help="store a model with its report and passport")
    push.add_argument("model", type=Path, metavar="MODEL", help="model folder or file")
    push.add_argument("--to", required=True, metavar="REF", help="where to store it (with a tag)")
    push.add_argument("--report", type=Path, help="the JSON report the passport was signed for")
    push.add_argument("--passport", type=Path, help="the passport (DSSE envelope)")
    push.add_argument("--key", type=Path, help="PEM public key the passport must be signed by")
    push.add_argument("--name", help="model name recorded in the artifact (default: folder name)")
    push.add_argument(
        "--mount-from",
        action="append",
        default=[],
        metavar="REPOSITORY",
        help="repository of the same registry whose files to link instead of uploading "
        "(e.g. the base model's; repeatable)",
    )
    push.add_argument(
        "--unsafe-no-passport",
        action="store_true",
        help="store the model even without a valid passport (recorded in the artifact)",
    )
    _add_store_options(push)
    push.set_defaults(handler=run_push)

    pull = actions.add_parser("pull", help="restore a model bit for bit and check it")
    pull.add_argument("ref", metavar="REF")
    pull.add_argument("--output", "-o", type=Path, required=True, help="new folder for the model")
    pull.add_argument(
        "--evidence", type=Path, help="folder for report.json and passport.json (OUTPUT.customs)"
    )
    pull.add_argument("--key", type=Path, help="PEM public key the passport must be signed by")
    pull.add_argument(
        "--unsafe-no-passport",
        action="store_true",
        help="restore even when the artifact has no valid passport",
    )
    _add_store_options(pull)
    pull.set_defaults(handler=run_pull)

    ls = actions.add_parser("list", help="show what a vault (or one repository) holds")
    ls.add_argument("ref", metavar="REF", help="HOST, HOST/REPOSITORY, or a layout folder")
    _add_store_options(ls)
    ls.set_defaults(handler=run_list)

    ver = actions.add_parser("verify", help="re-hash every blob and check the passport")
    ver.add_argument("ref", metavar="REF", help="an artifact, or a repository/folder (every tag)")
    ver.add_argument("--key", type=Path, help="PEM public key the passport must be signed by")
    ver.add_argument("--local", type=Path, metavar="DIR", help="also check a pulled copy")
    _add_store_options(ver)
    ver.set_defaults(handler=run_verify)
    p.set_defaults(handler=lambda _args: _usage(p))


def _add_store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--oci-layout", action="store_true", help="REF is an OCI layout folder")
    p.add_argument(
        "--plain-http", action="store_true", help="talk HTTP, not HTTPS, to the registry"
    )
    p.add_argument("--ca-file", type=Path, help="CA bundle for the registry's TLS certificate")
    p.add_argument("--username", help="registry user (default: $CUSTOMS_VAULT_USERNAME)")
    p.add_argument(
        "--password-env",
        metavar="VAR",
        default="CUSTOMS_VAULT_PASSWORD",
        help="environment variable holding the password (default: CUSTOMS_VAULT_PASSWORD)",
    )
    p.add_argument("--state-dir", type=Path, help="where interrupted uploads are remembered")
    p.add_argument("--format", "-f", choices=("text", "json"), default="text")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_ERROR


def _open(
    args: argparse.Namespace, *, push: bool, need_name: bool = True
) -> tuple[VaultRef, Store]:
    from modelcustoms.vault import Credentials, StoreOptions, open_store, parse_ref

    ref = parse_ref(args.to if push else args.ref, layout=args.oci_layout, need_name=need_name)
    creds = Credentials(
        username=args.username or os.environ.get("CUSTOMS_VAULT_USERNAME"),
        password=os.environ.get(args.password_env) or None,
        token=os.environ.get("CUSTOMS_VAULT_TOKEN") or None,
    )
    opts = StoreOptions(
        credentials=creds,
        plain_http=args.plain_http,
        ca_file=args.ca_file,
        state_dir=args.state_dir,
        mount_from=tuple(getattr(args, "mount_from", ())),
    )
    return ref, open_store(ref, opts, push=push)


def _read(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        msg = f"cannot read {what} {path}: {exc.strerror or exc}"
        raise InputError(msg) from exc


def _key(path: Path | None) -> PublicKey | None:
    from modelcustoms.passport import load_public_key

    data = _read(path, "public key")
    return load_public_key(data) if data is not None else None


def _emit(args: argparse.Namespace, doc: dict[str, Any], text: str) -> None:
    if args.format == "json":
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        print(text)


def _refused(exc: Exception) -> int:
    from modelcustoms.vault import IntegrityError, PassportRefused

    assert isinstance(exc, IntegrityError | PassportRefused)
    print(f"customs: refused: {exc.diagnostics()}", file=sys.stderr)
    return EXIT_FINDINGS


def run_push(args: argparse.Namespace) -> int:
    """customs vault push."""
    from modelcustoms.vault import IntegrityError, PassportRefused, PassportStatus, push

    if not args.model.exists():
        raise InputError(f"no such file or folder: {args.model}")
    ref, store = _open(args, push=True)
    if ref.digest:
        raise UsageError("push needs a tag, not a digest", hint="e.g. HOST/REPO:1.0")
    try:
        result = push(
            store,
            args.model,
            ref.tag or "latest",
            report=_read(args.report, "report"),
            passport=_read(args.passport, "passport"),
            key=_key(args.key),
            unsafe_no_passport=args.unsafe_no_passport,
            name=args.name,
        )
    except (IntegrityError, PassportRefused) as exc:
        return _refused(exc)
    finally:
        store.close()
    if result.passport is not PassportStatus.VERIFIED:
        print(
            f"customs: warning: stored WITHOUT a valid passport ({result.passport.value}: "
            f"{'; '.join(result.problems)}); recorded in the artifact",
            file=sys.stderr,
        )
    target = ref.with_tag(result.tag)
    doc = {
        "ref": str(target),
        "digest": result.digest,
        "files": result.files,
        "total_bytes": result.total_bytes,
        "uploaded_bytes": result.uploaded_bytes,
        "reused_blobs": result.reused_blobs,
        "resumed_bytes": result.resumed_bytes,
        "passport": result.passport.value,
        "seconds": round(result.seconds, 3),
    }
    text = (
        f"pushed {target} ({result.digest})\n"
        f"  {result.files} file(s), {result.total_bytes} bytes; uploaded {result.uploaded_bytes} "
        f"bytes, {result.reused_blobs} blob(s) already held"
        + (f", resumed after {result.resumed_bytes} bytes" if result.resumed_bytes else "")
        + f"; passport {result.passport.value}; {result.seconds:.1f} s"
    )
    _emit(args, doc, text)
    return EXIT_OK


def run_pull(args: argparse.Namespace) -> int:
    """customs vault pull."""
    from modelcustoms.vault import IntegrityError, PassportRefused, PassportStatus, pull

    ref, store = _open(args, push=False)
    try:
        result = pull(
            store,
            ref.reference,
            args.output,
            key=_key(args.key),
            unsafe_no_passport=args.unsafe_no_passport,
            evidence=args.evidence,
        )
    except (IntegrityError, PassportRefused) as exc:
        return _refused(exc)
    finally:
        store.close()
    if result.passport is not PassportStatus.VERIFIED:
        print(
            f"customs: warning: restored WITHOUT a valid passport ({'; '.join(result.problems)}); "
            f"pushed as {result.recorded_status}",
            file=sys.stderr,
        )
    doc = {
        "ref": str(ref),
        "digest": result.digest,
        "output": str(args.output),
        "files": result.files,
        "total_bytes": result.total_bytes,
        "passport": result.passport.value,
        "report": str(result.report_path) if result.report_path else None,
        "passport_file": str(result.passport_path) if result.passport_path else None,
        "seconds": round(result.seconds, 3),
    }
    text = (
        f"pulled {ref} ({result.digest}) into {args.output}\n"
        f"  {result.files} file(s), {result.total_bytes} bytes, every digest checked; "
        f"passport {result.passport.value}; {result.seconds:.1f} s"
    )
    if result.report_path:
        text += f"\n  report and passport in {result.report_path.parent}"
    _emit(args, doc, text)
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    """customs vault list."""
    from modelcustoms.vault import holdings

    ref, store = _open(args, push=False, need_name=False)
    try:
        rows = holdings(store)
    finally:
        store.close()
    doc = {
        "vault": str(ref),
        "artifacts": [
            {
                "repository": h.entry.repository,
                "tag": h.entry.tag,
                "digest": h.entry.digest,
                "name": h.name,
                "files": h.files,
                "bytes": h.size,
                "passport": h.passport,
                "verdict": h.verdict,
                "created": h.created,
                "problem": h.problem,
            }
            for h in rows
        ],
    }
    lines = [f"{len(rows)} artifact(s) in {ref}"]
    for h in rows:
        where = f"{h.entry.repository}:{h.entry.tag}" if h.entry.repository else h.entry.tag
        flag = "" if h.passport == "verified" else "  UNSAFE"
        lines.append(
            f"  {where}  {h.entry.digest[:19]}…  {h.name}  {h.files} file(s)  {h.size} bytes  "
            f"passport {h.passport}  verdict {h.verdict}  {h.created}{flag}"
            + (f"  [{h.problem}]" if h.problem else "")
        )
    _emit(args, doc, "\n".join(lines))
    return EXIT_OK


def run_verify(args: argparse.Namespace) -> int:
    """customs vault verify (one tag, or every tag when REF names none)."""
    from modelcustoms.vault import IntegrityError, VerifyResult, verify

    ref, store = _open(args, push=False)
    every = ref.tag is None and ref.digest is None and args.local is None
    results: list[tuple[str, VerifyResult | str]] = []
    try:
        key = _key(args.key)
        refs = [e.tag for e in store.list_tags()] if every else [ref.reference]
        for reference in refs:
            try:
                results.append((reference, verify(store, reference, key=key, local=args.local)))
            except IntegrityError as exc:
                if not every:
                    return _refused(exc)
                results.append((reference, exc.message))
    finally:
        store.close()
    docs, lines = [], []
    for reference, r in results:
        where = str(ref.with_tag(reference)) if every else str(ref)
        if isinstance(r, str):
            docs.append({"ref": where, "ok": False, "problems": [r]})
            lines.append(f"FAILED {where}: {r}")
            continue
        docs.append(
            {
                "ref": where,
                "digest": r.digest,
                "blobs": r.blobs,
                "bytes_checked": r.bytes_checked,
                "passport": r.passport,
                "problems": list(r.problems),
                "ok": r.ok,
                "seconds": round(r.seconds, 3),
            }
        )
        head = "verified" if r.ok else "FAILED"
        lines.append(
            f"{head} {where} ({r.digest}): {r.blobs} blob(s), {r.bytes_checked} bytes "
            f"re-hashed; passport {r.passport}" + "".join(f"\n  - {p}" for p in r.problems)
        )
    ok = all(d["ok"] for d in docs)
    if every:
        lines.insert(0, f"{len(docs)} artifact(s) in {ref}: {'all verified' if ok else 'FAILED'}")
        _emit(args, {"vault": str(ref), "artifacts": docs, "ok": ok}, "\n".join(lines))
    else:
        _emit(args, docs[0], lines[0])
    return EXIT_OK if ok else EXIT_FINDINGS

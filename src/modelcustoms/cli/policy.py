"""``customs policy check|facts|list|show`` and the policy gate of ``customs inspect``.

Exit codes: 0 allow or warn, 1 deny, 2 usage or input error (an invalid policy file included).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, assert_never

from modelcustoms.cli.options import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from modelcustoms.cli.output import write_output
from modelcustoms.errors import InputError

if TYPE_CHECKING:
    from modelcustoms.core import Report, Verdict
    from modelcustoms.policy import CompiledPolicy, Evaluation

DEFAULT_POLICY = "enterprise-default"


class CheckFormat(StrEnum):
    """Output of ``customs policy check``."""

    TEXT = "text"
    JSON = "json"


def register(sub: Any) -> None:
    """Add the policy subcommand and its actions."""
    p = sub.add_parser(
        "policy",
        help="evaluate policies (rules as data, CEL conditions) over reports",
        description="Policies are YAML/JSON files of rules with CEL conditions over a report's "
        "facts document, each citing the law, list or standard behind it. "
        "Exit codes: 0 allow or warn, 1 deny, 2 usage or input error.",
    )
    actions = p.add_subparsers(dest="policy_command", metavar="ACTION")

    c = actions.add_parser("check", help="judge a JSON report with a policy")
    c.add_argument("report", type=Path, metavar="REPORT.json")
    add_policy_option(c, default=DEFAULT_POLICY)
    c.add_argument(
        "--format",
        "-f",
        type=CheckFormat,
        choices=list(CheckFormat),
        default=CheckFormat.TEXT,
        metavar="{text,json}",
    )
    c.add_argument("--output", "-o", type=Path, help="write the result to this file")
    c.add_argument(
        "--today",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="date waivers are checked against (default: today, UTC)",
    )
    c.set_defaults(handler=run_check)

    f = actions.add_parser("facts", help="print the facts document rules see for a report")
    f.add_argument("report", type=Path, metavar="REPORT.json")
    f.add_argument("--output", "-o", type=Path)
    f.set_defaults(handler=run_facts)

    ls = actions.add_parser("list", help="list the built-in profiles")
    ls.set_defaults(handler=run_list)

    s = actions.add_parser("show", help="print a profile or policy file, with extends merged")
    s.add_argument("name", metavar="PROFILE_OR_FILE")
    s.add_argument("--output", "-o", type=Path)
    s.set_defaults(handler=run_show)
    p.set_defaults(handler=lambda _args: _usage(p))


def add_policy_option(p: argparse.ArgumentParser, default: str | None = None) -> None:
    """``--policy PROFILE_OR_FILE``."""
    p.add_argument(
        "--policy",
        "-p",
        default=default,
        metavar="PROFILE_OR_FILE",
        help="built-in profile (customs policy list) or policy file"
        + (f" (default: {default})" if default else ""),
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_ERROR


def load_gate(spec: str) -> CompiledPolicy:
    """Load a policy for the command line: every problem in one input error (exit 2)."""
    from modelcustoms.policy import PolicyLoadError, load_policy

    try:
        policy = load_policy(spec)
    except PolicyLoadError as exc:
        raise InputError(
            exc.diagnostics(), hint="fix every listed problem; see docs/policy.md"
        ) from None
    if policy.policy.unsafe:
        print(
            f"customs: warning: policy {policy.policy.name!r} is UNSAFE: it checks nothing",
            file=sys.stderr,
        )
    return policy


def judge(report: Report, policy: CompiledPolicy, today: date | None = None) -> Evaluation:
    """Evaluate and tell the person running the gate what it decided (on stderr)."""
    from modelcustoms.policy import evaluate

    evaluation = evaluate(report, policy, today=today)
    for note in evaluation.notes:
        print(f"customs: warning: {note}", file=sys.stderr)
    v = evaluation.verdict
    fired = f": {', '.join(v.fired_rules)}" if v.fired_rules else ""
    print(f"customs: policy {v.policy}: {v.decision.value.upper()}{fired}", file=sys.stderr)
    return evaluation


def exit_code(verdict: Verdict) -> int:
    """1 on deny, else 0."""
    from modelcustoms.core import Decision

    return EXIT_FINDINGS if verdict.decision is Decision.DENY else EXIT_OK


def _read_report(path: Path) -> Report:
    from modelcustoms.core.load import load_report

    try:
        data = path.read_bytes()
    except OSError as exc:
        msg = f"cannot read report {path}: {exc.strerror or exc}"
        raise InputError(msg) from exc
    return load_report(data).report()


def run_check(args: argparse.Namespace) -> int:
    """customs policy check."""
    policy = load_gate(args.policy)
    evaluation = judge(_read_report(args.report), policy, args.today)
    fmt: CheckFormat = args.format
    if fmt is CheckFormat.TEXT:
        data = check_text(evaluation).encode("utf-8")
    elif fmt is CheckFormat.JSON:
        data = (json.dumps(check_json(evaluation), indent=2, ensure_ascii=False) + "\n").encode()
    else:
        assert_never(fmt)
    write_output(data, args.output)
    return exit_code(evaluation.verdict)


def check_text(evaluation: Evaluation) -> str:
    """The verdict and every rule result, for a person."""
    from modelcustoms.policy import Status

    v = evaluation.verdict
    lines = [
        f"verdict: {v.decision.value.upper()}   policy: {v.policy}   report: {v.report_digest}"
    ]
    if evaluation.facts is not None:
        lines.append(
            f"subject: {evaluation.facts.subject.ref}   digest: {evaluation.facts.subject.digest}"
        )
    lines += [f"  {reason}" for reason in v.reasons]
    counts: dict[str, int] = {}
    for r in evaluation.results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    summary = ", ".join(f"{counts.get(s.value, 0)} {s.value}" for s in Status)
    lines.append(f"rules: {len(evaluation.results)} ({summary})")
    lines += [f"note: {n}" for n in evaluation.notes]
    return "\n".join(lines) + "\n"


def check_json(evaluation: Evaluation) -> dict[str, Any]:
    """The verdict and every rule result, as a JSON-ready mapping."""
    return {
        "verdict": evaluation.verdict.model_dump(mode="json"),
        "subject_digest": evaluation.facts.subject.digest if evaluation.facts else None,
        "results": [
            {
                "rule": r.rule_id,
                "status": r.status.value,
                "effect": r.effect.value,
                "message": r.message,
                "source": r.source.model_dump(mode="json") if r.source else None,
                "waiver": r.waiver,
            }
            for r in evaluation.results
        ],
        "notes": list(evaluation.notes),
    }


def run_facts(args: argparse.Namespace) -> int:
    """customs policy facts."""
    from modelcustoms.policy import build_facts

    doc = build_facts(_read_report(args.report))
    text = json.dumps(doc.to_cel(), indent=2, ensure_ascii=False) + "\n"
    write_output(text.encode("utf-8"), args.output)
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    """customs policy list."""
    from modelcustoms.policy import builtin_profiles

    rows = []
    for name in builtin_profiles():
        p = load_gate(name) if not name.startswith("unsafe-") else None
        if p is None:
            rows.append(f"{name:28} UNSAFE: checks nothing")
            continue
        first = p.policy.description
        first = first if len(first) <= 72 else first[:71].rstrip() + "…"
        rows.append(f"{name:28} {len(p.rules):3} rules  as of {p.policy.as_of}  {first}")
    write_output(("\n".join(rows) + "\n").encode("utf-8"), None)
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    """customs policy show."""
    import yaml

    p = load_gate(args.name)
    doc = p.policy.model_dump(mode="json", exclude_defaults=True)
    doc["extends"] = list(p.policy.extends)
    header = f"# {p.origin}" + (f" (merged from {', '.join(p.files)})" if len(p.files) > 1 else "")
    text = header + "\n" + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    write_output(text.encode("utf-8"), args.output)
    return EXIT_OK

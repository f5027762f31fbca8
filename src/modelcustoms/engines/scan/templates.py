"""Chat templates (Jinja): static sandbox-escape checks, then sandboxed behavioural probes.

Chat templates ship inside GGUF metadata and ``tokenizer_config.json`` and are rendered by
llama-cpp-python, transformers, vLLM, Ollama and others on every request. Two layers:

1. **Static.** The template is *parsed* (never compiled or rendered in this process) and its
   AST walked for the shapes of known Jinja sandbox escapes: dunder attributes reached
   directly, through ``|attr()``, subscripts or strings assembled from constants, and the
   globals used by public payloads (``lipsum``, ``cycler``, ``self`` ...). This is
   CVE-2024-34359 (llama-cpp-python rendered GGUF templates with an unsandboxed Environment).
2. **Behavioural.** In a separate ``python -I`` process, with a wall-clock timeout and
   address-space/CPU limits, the template is rendered in jinja2's
   ``ImmutableSandboxedEnvironment`` only, with benign conversations and with every string
   the template compares message content against inserted into the user's message. Output
   that grows by more than the inserted text is a trigger-word backdoor; natural-language
   instructions emitted on every conversation are hidden instructions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache

from modelcustoms.core import Finding, Rule, Severity
from modelcustoms.engines.scan.base import ScanContext
from modelcustoms.engines.scan.templates_issue import TemplateIssue
from modelcustoms.engines.scan.templates_probes import DEFAULT_TOKENS, behaviour
from modelcustoms.engines.scan.templates_sandbox import make_environment
from modelcustoms.engines.scan.templates_static import StaticWalker, dedupe, source_line

_REF_CVE = "https://github.com/abetlen/llama-cpp-python/security/advisories/GHSA-56xg-wfcc-g829"
_REF_PILLAR = "https://www.pillar.security/blog/llm-backdoors-at-the-inference-level-the-threat-of-poisoned-templates"

TEMPLATE_RULES: tuple[Rule, ...] = (
    Rule(
        id="template.sandbox-escape",
        title="Chat template tries to escape the Jinja sandbox",
        severity=Severity.CRITICAL,
        help="The template reaches Python internals (dunder attributes, frame/globals objects, "
        "Jinja globals used by public payloads). Renderers without a sandbox run arbitrary code "
        "when the model is loaded or chatted with. Do not use the model; replace the template.",
        references=(_REF_CVE, "https://nvd.nist.gov/vuln/detail/CVE-2024-34359"),
    ),
    Rule(
        id="template.conditional-injection",
        title="Chat template injects text when a trigger appears",
        severity=Severity.HIGH,
        help="When a user message contains a string the template tests for, the rendered prompt "
        "gains text the user did not write: a template backdoor that steers the model on a "
        "trigger. Replace the template with the upstream one.",
        references=(_REF_PILLAR,),
    ),
    Rule(
        id="template.hidden-instructions",
        title="Chat template adds instructions to every conversation",
        severity=Severity.MEDIUM,
        help="The template emits natural-language instructions that are not part of any message, "
        "on every conversation. Check they are the publisher's documented default prompt.",
        references=(_REF_PILLAR,),
    ),
    Rule(
        id="template.resource-exhaustion",
        title="Chat template exhausts time or memory",
        severity=Severity.HIGH,
        help="Rendering exceeded the time or memory limit (huge ranges, string multiplication, "
        "deep recursion). Servers that render it on each request can be taken down.",
    ),
    Rule(
        id="template.malformed",
        title="Chat template does not parse",
        severity=Severity.MEDIUM,
        help="jinja2 cannot parse the template, so it was not verified. Other renderers (minja, "
        "Go templates) may accept what jinja2 rejects.",
    ),
    Rule(
        id="template.unverified",
        title="Chat template could not be fully verified",
        severity=Severity.LOW,
        help="The template was parsed but its behaviour could not be checked (it rejected every "
        "probe conversation, needs mutation the immutable sandbox forbids, or is too large).",
    ),
)

MAX_TEMPLATE_CHARS = 256 * 1024


def check_template(
    text: str,
    *,
    render: bool,
    timeout_s: float,
    special_tokens: Mapping[str, str] | None = None,
) -> list[TemplateIssue]:
    """Check one chat template; ``render`` adds the sandboxed behavioural probes.

    ``special_tokens`` (``bos_token``, ``eos_token`` ...) are passed to the template as the
    model's renderers do; placeholders are used for those not given. Results are cached by
    content: a repo carries the same template in tokenizer_config.json, chat_template.jinja
    and every GGUF quantization, and each sandboxed render costs a process start.
    """
    tokens = tuple(sorted((special_tokens or {}).items()))
    return list(_check_cached(text, render, timeout_s, tokens))


@lru_cache(maxsize=256)
def _check_cached(
    text: str, render: bool, timeout_s: float, tokens: tuple[tuple[str, str], ...]
) -> tuple[TemplateIssue, ...]:
    return tuple(_check(text, render=render, timeout_s=timeout_s, special_tokens=dict(tokens)))


def _check(
    text: str,
    *,
    render: bool,
    timeout_s: float,
    special_tokens: Mapping[str, str] | None = None,
) -> list[TemplateIssue]:
    if len(text) > MAX_TEMPLATE_CHARS:
        msg = f"template of {len(text)} characters exceeds the {MAX_TEMPLATE_CHARS} analysed"
        return [TemplateIssue("template.unverified", msg, text[:200], severity=Severity.MEDIUM)]
    try:
        ast = make_environment().parse(text)
    except RecursionError:
        return [TemplateIssue("template.malformed", "template nests too deeply to parse")]
    except Exception as exc:  # any parser failure means "not verified"
        line = getattr(exc, "lineno", None)
        return [
            TemplateIssue(
                "template.malformed",
                f"jinja2 cannot parse the template: {type(exc).__name__}: {exc}",
                excerpt=source_line(text, line),
                line=line if isinstance(line, int) and line >= 1 else None,
            )
        ]
    walker = StaticWalker(text)
    walker.walk(ast)
    issues = dedupe(walker.issues)
    # A statically certain blow-up would only spend the whole timeout again; a merely
    # suspicious one (medium) must not let a template opt out of the behavioural probes.
    certain = any(
        i.rule_id == "template.resource-exhaustion"
        and (i.severity is None or i.severity >= Severity.HIGH)
        for i in issues
    )
    if render and not certain:
        tokens = {**DEFAULT_TOKENS, **(special_tokens or {})}
        static_rules = {i.rule_id for i in issues}
        # The sandbox refusing what the static layer already reported says nothing new.
        issues.extend(
            i
            for i in behaviour(text, walker.triggers, tokens, timeout_s)
            if not (i.rule_id == "template.sandbox-escape" and i.rule_id in static_rules)
        )
    return issues


def issue_findings(
    ctx: ScanContext, issues: list[TemplateIssue], pointer: str, *, offset: int | None = None
) -> Iterator[Finding]:
    """Findings of ``issues`` for a template found at ``pointer`` in ``ctx.artifact``."""
    for issue in issues:
        yield ctx.finding(
            issue.rule_id,
            f"{pointer}: {issue.message}",
            pointer=pointer,
            offset=offset,
            line=issue.line,
            excerpt=issue.excerpt,
            severity=issue.severity,
            confidence=issue.confidence,
        )

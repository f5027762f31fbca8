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

import difflib
import inspect
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from modelcustoms.core import Finding, Rule, Severity
from modelcustoms.engines.scan.base import ScanContext

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
_MAX_TRIGGERS = 24
_MAX_FOLD_DEPTH = 24

# Attributes that only sandbox escapes need (beyond ``_``-prefixed ones, which Jinja's sandbox
# already refuses). See the Jinja SSTI literature and CVE-2019-10906 (str.format_map).
_ESCAPE_ATTRS = frozenset(
    {
        "func_globals", "f_globals", "f_locals", "f_back", "f_builtins", "gi_frame", "gi_code",
        "cr_frame", "ag_frame", "tb_frame", "co_code", "im_func", "func_code", "mro",
        "format_map", "popen", "environ", "import_module", "load_module", "exec_module",
    }
)  # fmt: skip
# Jinja/Flask globals that public payloads start from; chat templates have no use for them.
_ESCAPE_NAMES = frozenset(
    {
        "lipsum", "cycler", "joiner", "self", "config", "request", "os", "url_for",
        "get_flashed_messages", "sys", "subprocess", "builtins", "__builtins__", "importlib",
        "globals", "locals", "eval", "exec", "open", "getattr", "setattr", "__import__",
    }
)  # fmt: skip
_TRIGGER_METHODS = frozenset(
    {"startswith", "endswith", "find", "rfind", "index", "rindex", "count", "split", "rsplit",
     "partition", "rpartition"}
)  # fmt: skip
_MUTATORS = frozenset(
    {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "popitem",
     "sort", "reverse", "add", "discard"}
)  # fmt: skip
_DUNDER_IN_TEXT = re.compile(
    r"__(class|globals|subclasses|mro|bases|base|builtins|import|init|getattribute|code|"
    r"dict|reduce|reduce_ex|func|self|loader|spec)__"
)


@dataclass(frozen=True, slots=True)
class TemplateIssue:
    """One problem found in a chat template."""

    rule_id: str
    message: str
    excerpt: str | None = None
    line: int | None = None
    """1-based line in the template text, when known."""
    severity: Severity | None = None
    """Overrides the rule's default severity when set."""
    confidence: float = 1.0


def check_template(
    text: str,
    *,
    render: bool,
    timeout_s: float,
    special_tokens: Mapping[str, str] | None = None,
) -> list[TemplateIssue]:
    """Check one chat template; ``render`` adds the sandboxed behavioural probes.

    ``special_tokens`` (``bos_token``, ``eos_token`` ...) are passed to the template as the
    model's renderers do; placeholders are used for those not given.
    """
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
                excerpt=_line(text, line),
                line=line if isinstance(line, int) and line >= 1 else None,
            )
        ]
    walker = _StaticWalker(text)
    walker.walk(ast)
    issues = _dedupe(walker.issues)
    # A statically certain blow-up would only spend the whole timeout again.
    if render and not any(i.rule_id == "template.resource-exhaustion" for i in issues):
        tokens = {**_DEFAULT_TOKENS, **(special_tokens or {})}
        static_rules = {i.rule_id for i in issues}
        # The sandbox refusing what the static layer already reported says nothing new.
        issues.extend(
            i
            for i in _behaviour(text, walker.triggers, tokens, timeout_s)
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


def make_environment() -> Any:
    """The ImmutableSandboxedEnvironment configured as transformers configures it.

    Self-contained (imports inside, no module globals) because its source is also sent to the
    render subprocess.
    """
    import jinja2.ext
    from jinja2 import nodes
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Generation(jinja2.ext.Extension):
        """``{% generation %}`` marks assistant text for training masks; it renders its body."""

        tags = {"generation"}  # noqa: RUF012 - jinja2's declared extension interface

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.Scope(body, lineno=lineno)

    return ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols, Generation]
    )


# -- static layer ------------------------------------------------------------------------


class _StaticWalker:
    """Walks a parsed template (explicit stack) for escape shapes and trigger constants."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.issues: list[TemplateIssue] = []
        self.triggers: list[str] = []
        self.consts: dict[str, str] = {}
        self.defined: set[str] = set()

    def walk(self, root: Any) -> None:
        from jinja2 import nodes

        all_nodes = list(_iter_nodes(root))
        # Flow-insensitive constant propagation of ``{% set x = 'a' ~ 'b' %}``, so payloads that
        # assemble ``__class__`` over several statements are still seen.
        for _ in range(3):
            for n in all_nodes:
                if isinstance(n, nodes.Assign) and isinstance(n.target, nodes.Name):
                    folded = self.fold(n.node)
                    if folded is not None:
                        self.consts[n.target.name] = folded
        for n in all_nodes:
            if isinstance(n, nodes.Name) and n.ctx in ("store", "param"):
                self.defined.add(n.name)
            elif isinstance(n, nodes.Macro | nodes.CallBlock):
                self.defined.add(getattr(n, "name", ""))
        for n in all_nodes:
            self._visit(n)

    def _visit(self, n: Any) -> None:
        from jinja2 import nodes

        line = getattr(n, "lineno", None)
        if isinstance(n, nodes.Getattr):
            self._attr(n.attr, line, "attribute")
        elif isinstance(n, nodes.Getitem):
            key = self.fold(n.arg)
            if key is not None:
                self._attr(key, line, "subscript")
        elif isinstance(n, nodes.Filter) and n.name == "attr":
            name = self.fold(n.args[0]) if n.args else None
            if name is not None:
                self._attr(name, line, "|attr()")
            else:
                self._add("template.sandbox-escape", "|attr() with a computed name", line,
                          Severity.HIGH, 0.6)  # fmt: skip
        elif isinstance(n, nodes.Keyword) and n.key.startswith("__"):
            self._add("template.sandbox-escape", f"keyword argument {n.key!r}", line)
        elif isinstance(n, nodes.Name) and n.ctx == "load":
            if n.name in _ESCAPE_NAMES and n.name not in self.defined:
                msg = f"references {n.name!r}, a global used by sandbox-escape payloads"
                self._add("template.sandbox-escape", msg, line, Severity.HIGH, 0.7)
        elif isinstance(n, nodes.Const) and isinstance(n.value, str):
            m = _DUNDER_IN_TEXT.search(n.value)
            if m:
                self._add("template.sandbox-escape", f"string constant contains {m.group(0)!r}",
                          line, None, 0.8)  # fmt: skip
        elif isinstance(n, nodes.Include | nodes.Import | nodes.FromImport | nodes.Extends):
            msg = f"{type(n).__name__.lower()} loads another template (file access)"
            self._add("template.sandbox-escape", msg, line, Severity.HIGH, 0.7)
        elif isinstance(n, nodes.Call):
            self._call(n, line)
        elif isinstance(n, nodes.Compare):
            self._compare(n)
        elif isinstance(n, nodes.Mul | nodes.Pow):
            big = _big_int(n.right) or _big_int(n.left)
            if big or (isinstance(n, nodes.Pow) and _big_int(n.right, 64)):
                self._add("template.resource-exhaustion", "multiplies or raises by a huge constant",
                          line, None, 0.8)  # fmt: skip

    def _attr(self, name: str, line: int | None, how: str) -> None:
        if name.startswith("_"):
            sev = None if "__" in name else Severity.HIGH
            self._add("template.sandbox-escape", f"{how} {name!r} (Python internals)", line, sev)
        elif name in _ESCAPE_ATTRS:
            self._add("template.sandbox-escape", f"{how} {name!r}", line, Severity.HIGH, 0.8)

    def _call(self, n: Any, line: int | None) -> None:
        from jinja2 import nodes

        fn = n.node
        is_range = isinstance(fn, nodes.Name) and fn.name == "range"
        if is_range and "range" not in self.defined and any(_big_int(a, 10_000) for a in n.args):
            self._add("template.resource-exhaustion", "range() over a huge constant", line,
                          None, 0.8)  # fmt: skip
        if isinstance(fn, nodes.Getattr) and fn.attr in _TRIGGER_METHODS and n.args:
            self._trigger(n.args[0])

    def _compare(self, n: Any) -> None:
        if not n.ops or n.ops[0].op not in ("eq", "ne", "in", "notin"):
            return
        self._trigger(n.expr)
        self._trigger(n.ops[0].expr)

    def _trigger(self, node: Any) -> None:
        from jinja2 import nodes

        items = node.items if isinstance(node, nodes.List | nodes.Tuple) else [node]
        for item in items:
            value = self.fold(item)
            if value and value.strip() and len(value) <= 256 and value not in self.triggers:
                self.triggers.append(value)

    def fold(self, node: Any, depth: int = 0) -> str | None:
        """The string an expression always evaluates to, when built only from constants."""
        from jinja2 import nodes

        if depth > _MAX_FOLD_DEPTH:
            return None
        d = depth + 1
        if isinstance(node, nodes.Const):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, nodes.Name):
            return self.consts.get(node.name)
        if isinstance(node, nodes.Concat):
            parts = [self.fold(x, d) for x in node.nodes]
            return None if None in parts else "".join(p for p in parts if p is not None)
        if isinstance(node, nodes.Add):
            left, right = self.fold(node.left, d), self.fold(node.right, d)
            return None if left is None or right is None else left + right
        if isinstance(node, nodes.Filter) and node.node is not None:
            return self._fold_filter(node, d)
        return None

    def _fold_filter(self, node: Any, d: int) -> str | None:
        from jinja2 import nodes

        if node.name == "join" and isinstance(node.node, nodes.List | nodes.Tuple):
            parts = [self.fold(x, d) for x in node.node.items]
            sep = self.fold(node.args[0], d) if node.args else ""
            if None in parts or sep is None:
                return None
            return sep.join(p for p in parts if p is not None)
        inner = self.fold(node.node, d)
        if inner is None:
            return None
        if node.name in _SIMPLE_FILTERS:
            return _SIMPLE_FILTERS[node.name](inner)
        if node.name == "reverse":
            return inner[::-1]
        if node.name == "replace" and len(node.args) >= 2:
            old, new = self.fold(node.args[0], d), self.fold(node.args[1], d)
            if old is not None and new is not None and len(inner) * (len(new) + 1) < 100_000:
                return inner.replace(old, new)
        if node.name == "format" and not re.search(r"%[-#0 +]*\d", inner):
            args = [a.value if isinstance(a, nodes.Const) else None for a in node.args]
            if None not in args:
                try:
                    return inner % tuple(args)
                except (TypeError, ValueError, OverflowError):
                    return None
        return None

    def _add(
        self,
        rule: str,
        what: str,
        line: int | None,
        severity: Severity | None = None,
        confidence: float = 1.0,
    ) -> None:
        self.issues.append(
            TemplateIssue(rule, what, _line(self.text, line), line, severity, confidence)
        )


_SIMPLE_FILTERS: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "trim": str.strip,
    "string": str,
}


def _iter_nodes(root: Any) -> Iterator[Any]:
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(list(node.iter_child_nodes())))


def _big_int(node: Any, limit: int = 100_000) -> bool:
    value = getattr(node, "value", None)
    return isinstance(value, int) and not isinstance(value, bool) and value >= limit


def _line(text: str, line: int | None) -> str | None:
    if not isinstance(line, int) or line < 1:
        return None
    lines = text.splitlines()
    return lines[line - 1].strip()[:300] if line <= len(lines) else None


def _dedupe(issues: list[TemplateIssue]) -> list[TemplateIssue]:
    """One issue per rule and line: a one-line payload is one finding, not seven."""
    merged: dict[tuple[str, int | None], TemplateIssue] = {}
    for i in issues:
        key = (i.rule_id, i.line)
        prev = merged.get(key)
        if prev is None:
            merged[key] = i
        elif i.message not in prev.message:
            sev = _worse(prev.severity, i.severity)
            merged[key] = TemplateIssue(
                i.rule_id,
                f"{prev.message}; {i.message}",
                prev.excerpt or i.excerpt,
                i.line,
                sev,
                max(prev.confidence, i.confidence),
            )
    return list(merged.values())


def _worse(a: Severity | None, b: Severity | None) -> Severity | None:
    """The worse of two overrides, where None (the rule's own default) is the worst."""
    if a is None or b is None:
        return None
    return a if a >= b else b


# -- behavioural layer -------------------------------------------------------------------

_DEFAULT_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
}
_SYS = "You are a concise assistant for geography questions."
_USER = "What is the capital of France?"
_ASSISTANT = "The capital of France is Paris."
_USER2 = "And the capital of Germany?"
_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "Name of the city."}},
            "required": ["city"],
        },
    },
}
_CALL = {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
_TOOL_RESULT = '{"temperature_c": 21}'
_OUTPUT_CAP = 64 * 1024
_INSTRUCTION = re.compile(
    r"\b(you are|you must|you should|you will|always|never|ignore|do not|don't|must|respond|"
    r"reply|answer|instruction|pretend|act as|recommend|include|mention|visit|click|send|"
    r"reveal|password|secret|https?://|www\.)",
    re.IGNORECASE,
)
_MARKERS = re.compile(
    r"<\|[^<>\n]{0,64}?\|>|<｜[^<>\n]{0,64}?｜>|</?[A-Za-z_][\w:.\-]{0,40}>|\[/?[A-Z_]{2,24}\]"
)


def _msgs(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"role": r, "content": c} for r, c in pairs]


def _benign_probes() -> list[dict[str, Any]]:
    """Ordinary conversations; ``tools`` ones may be rejected by templates without tool use."""
    tool_turns = [
        {"role": "user", "content": _USER},
        {"role": "assistant", "content": "", "tool_calls": [_CALL]},
        {"role": "tool", "name": "get_weather", "content": _TOOL_RESULT},
    ]
    return [
        {"id": "b-user", "messages": _msgs(("user", _USER)), "add_generation_prompt": True},
        {"id": "b-sys", "messages": _msgs(("system", _SYS), ("user", _USER)),
         "add_generation_prompt": True},
        {"id": "b-multi", "add_generation_prompt": True,
         "messages": _msgs(("system", _SYS), ("user", _USER), ("assistant", _ASSISTANT),
                           ("user", _USER2))},
        {"id": "b-done", "messages": _msgs(("user", _USER), ("assistant", _ASSISTANT)),
         "add_generation_prompt": False},
        {"id": "t-tools", "messages": _msgs(("user", _USER)), "tools": [_TOOL],
         "add_generation_prompt": True},
        {"id": "t-calls", "messages": tool_turns, "tools": [_TOOL], "add_generation_prompt": True},
    ]  # fmt: skip


def _trigger_probes(triggers: list[str]) -> list[dict[str, Any]]:
    """For each trigger: it wraps the user (and system) content, or is the whole content."""
    out: list[dict[str, Any]] = []
    for i, t in enumerate(triggers[:_MAX_TRIGGERS]):
        wrap_u, wrap_s = f"{t} {_USER} {t}", f"{t} {_SYS} {t}"
        out.append(
            {
                "id": f"w{i}-user",
                "base": "b-user",
                "trigger": t,
                "repl": {_USER: wrap_u},
                "messages": _msgs(("user", wrap_u)),
                "add_generation_prompt": True,
            }
        )
        out.append(
            {
                "id": f"w{i}-sys",
                "base": "b-sys",
                "trigger": t,
                "repl": {_SYS: wrap_s, _USER: wrap_u},
                "messages": _msgs(("system", wrap_s), ("user", wrap_u)),
                "add_generation_prompt": True,
            }
        )
        out.append(
            {
                "id": f"e{i}-user",
                "base": "b-user",
                "trigger": t,
                "repl": {_USER: t},
                "messages": _msgs(("user", t)),
                "add_generation_prompt": True,
            }
        )
    return out  # fmt: skip


def _behaviour(
    text: str, triggers: list[str], tokens: dict[str, str], timeout_s: float
) -> list[TemplateIssue]:
    benign = _benign_probes()
    probes = benign + _trigger_probes(triggers)
    request = {
        "template": text,
        "probes": [
            {"id": p["id"], "vars": {**tokens, "messages": p["messages"],
                                     "add_generation_prompt": p["add_generation_prompt"],
                                     **({"tools": p["tools"]} if "tools" in p else {})}}
            for p in probes
        ],
        "cap": _OUTPUT_CAP,
        "cpu_s": int(timeout_s) + 1,
    }  # fmt: skip
    outcome = _run_sandbox(request, timeout_s)
    if isinstance(outcome, TemplateIssue):
        return [outcome]
    results: dict[str, dict[str, Any]] = {r["id"]: r for r in outcome if isinstance(r, dict)}
    issues = _render_errors(results)
    ok = {pid: r["output"] for pid, r in results.items() if r.get("ok") and not r.get("truncated")}
    if not any(p["id"] in ok for p in benign if p["id"].startswith("b-")):
        first = next((r for r in results.values() if not r.get("ok")), None)
        detail = f": {first.get('detail', '')}" if first else ""
        if not any(i.rule_id != "template.unverified" for i in issues):
            issues.append(
                TemplateIssue("template.unverified", f"rejected every probe conversation{detail}")
            )
        return issues
    for p in probes[len(benign) :]:
        base, got = ok.get(p["base"]), ok.get(p["id"])
        if base is None or got is None:
            continue
        expected = base
        for old, new in p["repl"].items():
            expected = expected.replace(old, new)
        gained = _gained(expected, got, p["trigger"])
        if gained:
            issues.append(
                TemplateIssue(
                    "template.conditional-injection",
                    f"a message containing {p['trigger']!r} makes the prompt gain text",
                    excerpt=gained[:300],
                    confidence=0.9,
                )
            )
            break
    issues.extend(_hidden(ok, [p["id"] for p in benign], tokens))
    return issues


def _render_errors(results: dict[str, dict[str, Any]]) -> list[TemplateIssue]:
    issues: list[TemplateIssue] = []
    for r in results.values():
        if r.get("ok"):
            continue
        err, detail = r.get("error"), str(r.get("detail", ""))[:300]
        if err == "security":
            m = re.search(r"attribute '([^']*)'", detail)
            if m and m.group(1) in _MUTATORS:
                msg = "mutates a value, which the immutable sandbox forbids"
                issues.append(TemplateIssue("template.unverified", msg, detail))
            else:
                msg = "the sandbox blocked an unsafe operation while rendering"
                issues.append(TemplateIssue("template.sandbox-escape", msg, detail))
        elif err in ("memory", "recursion", "overflow"):
            msg = f"rendering hit a {err} limit"
            issues.append(TemplateIssue("template.resource-exhaustion", msg, detail))
    return _dedupe_by_message(issues)


def _dedupe_by_message(issues: list[TemplateIssue]) -> list[TemplateIssue]:
    seen: set[tuple[str, str]] = set()
    out = []
    for i in issues:
        if (i.rule_id, i.message) not in seen:
            seen.add((i.rule_id, i.message))
            out.append(i)
    return out


def _gained(expected: str, got: str, trigger: str) -> str | None:
    """Text present in ``got`` but not in ``expected``, other than the trigger itself."""
    if got == expected:
        return None
    p = 0
    limit = min(len(expected), len(got))
    while p < limit and expected[p] == got[p]:
        p += 1
    s = 0
    while s < limit - p and expected[-1 - s] == got[-1 - s]:
        s += 1
    exp_mid, got_mid = expected[p : len(expected) - s], got[p : len(got) - s]
    if len(exp_mid) + len(got_mid) <= 20_000:
        sm = difflib.SequenceMatcher(None, exp_mid, got_mid, autojunk=False)
        added = " ".join(
            got_mid[j1:j2] for tag, _, _, j1, j2 in sm.get_opcodes() if tag in ("insert", "replace")
        )
    else:
        added = got_mid
    residue = re.sub(re.escape(trigger), " ", added, flags=re.IGNORECASE)
    letters = re.sub(r"[\W_]+", "", residue)
    return added.strip() if len(letters) >= 10 else None


def _hidden(
    ok: dict[str, str], benign_ids: list[str], tokens: dict[str, str]
) -> list[TemplateIssue]:
    """Instruction-like sentences emitted by every benign conversation that rendered."""
    known = [_SYS, _USER, _ASSISTANT, _USER2, _TOOL_RESULT, *tokens.values()]
    segment_sets = []
    for pid in benign_ids:
        if pid not in ok:
            continue
        residual = ok[pid]
        for s in sorted(known, key=len, reverse=True):
            if s:
                residual = residual.replace(s, "\n")
        residual = _MARKERS.sub("\n", residual)
        segs = {" ".join(seg.split()) for seg in re.split(r"\n+", residual)}
        segment_sets.append({s for s in segs if len(re.findall(r"[A-Za-z]{2,}", s)) >= 6})
    if len(segment_sets) < 2:
        return []
    common = set.intersection(*segment_sets)
    found = sorted(s for s in common if _INSTRUCTION.search(s))
    return [
        TemplateIssue(
            "template.hidden-instructions",
            "emits instructions on every conversation, outside any message",
            excerpt=s[:300],
            confidence=0.6,
        )
        for s in found[:3]
    ]


def _run_sandbox(request: dict[str, Any], timeout_s: float) -> list[Any] | TemplateIssue:
    """Render in a child ``python -I`` (rlimits set in the child) with a wall-clock limit."""
    source = _child_source()
    if source is None or not sys.executable:
        return TemplateIssue(
            "template.unverified", "the sandboxed renderer is not available in this install"
        )
    try:
        proc = subprocess.run(  # noqa: S603 - our own interpreter and our own code, fed by stdin
            [sys.executable, "-I", "-c", source],
            input=json.dumps(request).encode("utf-8"),
            capture_output=True,
            timeout=max(0.5, timeout_s),
            env={"LC_ALL": "C.UTF-8"},
            check=False,
        )
    except subprocess.TimeoutExpired:
        return TemplateIssue(
            "template.resource-exhaustion",
            f"rendering the probe conversations did not finish within {timeout_s:g} s",
        )
    except OSError as exc:
        return TemplateIssue("template.unverified", f"could not start the renderer: {exc}")
    try:
        reply = json.loads(proc.stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        reply = None
    if not isinstance(reply, dict) or not isinstance(reply.get("results"), list):
        tail = proc.stderr.decode("utf-8", "replace")[-300:]
        if proc.returncode < 0 or "MemoryError" in tail:
            msg = f"the renderer was killed by a resource limit (exit {proc.returncode})"
            return TemplateIssue("template.resource-exhaustion", msg, tail or None)
        return TemplateIssue("template.unverified", f"the renderer failed: {tail}", tail or None)
    if reply.get("compile_error"):
        detail = str(reply["compile_error"])[:300]
        return TemplateIssue("template.malformed", f"jinja2 cannot compile it: {detail}")
    results: list[Any] = reply["results"]
    return results


@lru_cache(maxsize=1)
def _child_source() -> str | None:
    try:
        parts = [inspect.getsource(make_environment), inspect.getsource(_child_main)]
    except (OSError, TypeError):
        return None
    return (
        "from __future__ import annotations\nfrom typing import Any\n"
        + "\n\n".join(parts)
        + ("\n\n_child_main()\n")
    )


def _child_main() -> None:
    """Entry point of the render subprocess: limits first, then render each probe.

    Self-contained: its source is what the child runs. Only jinja2's immutable sandbox renders.
    """
    import json
    import sys
    import time

    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    env = make_environment()
    from jinja2.exceptions import SecurityError, TemplateError

    try:
        import resource

        for lim, value in (
            (resource.RLIMIT_AS, 1 << 30),
            (resource.RLIMIT_CPU, int(request["cpu_s"])),
            (resource.RLIMIT_FSIZE, 0),
            (resource.RLIMIT_NPROC, 0),
        ):
            resource.setrlimit(lim, (value, value))
    except (ImportError, ValueError, OSError):
        pass  # NOTE: not every platform has every limit; the parent's timeout still holds.

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    def strftime_now(fmt: str) -> str:
        # A fixed instant keeps renders comparable with each other.
        return time.strftime(str(fmt), time.gmtime(1_735_689_600))

    def tojson(
        x: Any,
        ensure_ascii: bool = False,
        indent: Any = None,
        separators: Any = None,
        sort_keys: bool = False,
    ) -> str:
        return json.dumps(
            x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
        )

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    cap = int(request["cap"])
    try:
        template = env.from_string(request["template"])
    except Exception as exc:  # reported to the parent
        sys.stdout.write(json.dumps({"results": [], "compile_error": f"{exc}"[:500]}))
        return
    results = []
    for probe in request["probes"]:
        r: dict[str, Any] = {"id": probe["id"], "ok": False}
        try:
            out = template.render(**probe["vars"])
            r.update(ok=True, output=out[:cap], truncated=len(out) > cap)
        except SecurityError as exc:
            r.update(error="security", detail=f"{exc}"[:500])
        except MemoryError:
            r.update(error="memory", detail="MemoryError")
        except RecursionError:
            r.update(error="recursion", detail="RecursionError")
        except OverflowError as exc:
            r.update(error="overflow", detail=f"{exc}"[:500])
        except Exception as exc:  # any other failure: the probe was rejected
            r.update(error="template", detail=f"{type(exc).__name__}: {exc}"[:500])
        results.append(r)
    sys.stdout.write(json.dumps({"results": results}))

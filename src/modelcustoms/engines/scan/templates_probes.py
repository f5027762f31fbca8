"""Behavioural layer of chat-template checks: render probe conversations and compare outputs.

Benign conversations are rendered, then the same conversations with every trigger candidate
inserted into the user's message. Output that grows by more than the inserted text is a
trigger-word backdoor; natural-language instructions emitted on every conversation are hidden
instructions.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from modelcustoms.engines.scan.templates_issue import TemplateIssue
from modelcustoms.engines.scan.templates_sandbox import run_sandbox

_MAX_TRIGGERS = 24
_MUTATORS = frozenset(
    {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "popitem",
     "sort", "reverse", "add", "discard"}
)  # fmt: skip

DEFAULT_TOKENS = {
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


def behaviour(
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
    outcome = run_sandbox(request, timeout_s)
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

"""Rule messages with ``{cel}`` placeholders, compiled when the policy loads.

``"root publisher {facts.origin.publisher_name} is in {facts.origin.country}"``: each
placeholder is a CEL expression over the same document as the rule. ``{{`` and ``}}`` are
literal braces. A placeholder that cannot be evaluated renders as ``<unavailable>``: a message
never changes a decision.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelcustoms.policy.cel import Activation, Program, compile_expression

UNAVAILABLE = "<unavailable>"
MAX_RENDERED = 2000


class TemplateError(ValueError):
    """A message with an unbalanced brace or a placeholder that does not compile."""


@dataclass(frozen=True, slots=True)
class Template:
    """Literal text and compiled placeholders, alternating (``parts[i]`` is str or Program)."""

    parts: tuple[str | Program, ...]

    def render(self, activation: Activation) -> str:
        """The message with every placeholder filled."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            result = part.run(activation)
            out.append(UNAVAILABLE if result.error is not None else _text(result.value))
        return "".join(out)[:MAX_RENDERED]


def compile_template(text: str) -> Template:
    """Split ``text`` into literals and compiled placeholders."""
    parts: list[str | Program] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith(("{{", "}}"), i):
            literal.append(ch)
            i += 2
            continue
        if ch == "}":
            msg = f"unmatched '}}' at character {i + 1} (write '}}}}' for a literal brace)"
            raise TemplateError(msg)
        if ch != "{":
            literal.append(ch)
            i += 1
            continue
        end = text.find("}", i + 1)
        if end < 0:
            msg = f"unclosed '{{' at character {i + 1}"
            raise TemplateError(msg)
        expr = text[i + 1 : end].strip()
        if not expr:
            msg = f"empty placeholder at character {i + 1}"
            raise TemplateError(msg)
        try:
            program = compile_expression(expr)
        except ValueError as exc:
            msg = f"placeholder {{{expr}}}: {exc}"
            raise TemplateError(msg) from None
        parts.extend(("".join(literal), program))
        literal = []
        i = end + 1
    parts.append("".join(literal))
    return Template(parts=tuple(p for p in parts if p != ""))


def _text(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)

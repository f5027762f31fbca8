"""The one module that talks to the CEL library (``cel-expr-python``, Google's cel-cpp).

Everything else in the policy package sees :class:`Program` and :class:`Outcome`, so the
library can be swapped (``docs/policy.md`` records why this one was chosen, with numbers).

CEL reports evaluation failures as *error values*, not exceptions, and an error value's plain
form is a non-empty string: truthy in Python. :meth:`Program.run` therefore never returns a bare
value; it returns an :class:`Outcome` that says error, boolean, or something else, explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

VARIABLES = (
    "subject",
    "artifacts",
    "findings",
    "facts",
    "fact_values",
    "invalid_facts",
    "lineage",
    "skips",
    "engines",
    "references",
    "params",
    "report_digest",
)
"""Names a rule may use; the facts document provides all of them."""

MAX_EXPRESSION = 4000


class CelSyntaxError(ValueError):
    """An expression that does not parse or type-check."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one evaluation: exactly one of ``error`` or ``value`` is meaningful."""

    value: Any = None
    error: str | None = None

    @property
    def is_bool(self) -> bool:
        """True when the evaluation succeeded with a boolean."""
        return self.error is None and isinstance(self.value, bool)


@dataclass(frozen=True, slots=True)
class Activation:
    """The bound document, built once per report and shared by every rule."""

    handle: Any


@dataclass(frozen=True, slots=True)
class Program:
    """A compiled expression."""

    text: str
    compiled: Any
    returns_bool_or_dyn: bool
    """False when the checker proved the result is not a boolean (e.g. ``1 + 1``)."""

    def run(self, activation: Activation) -> Outcome:
        """Evaluate; never raises for evaluation problems (they come back as ``error``)."""
        cel = _cel()
        try:
            result = self.compiled.eval(activation.handle)
        except Exception as exc:  # NOTE: the binding may raise for host conversion problems.
            return Outcome(error=f"{type(exc).__name__}: {exc}")
        kind = result.type()
        if kind == cel.Type.ERROR:
            return Outcome(error=str(result.value()))
        if kind == cel.Type.BOOL:
            return Outcome(value=bool(result.value()))
        return Outcome(value=result.plain_value())


def compile_expression(text: str) -> Program:
    """Parse and type-check ``text`` against the document's variables."""
    if len(text) > MAX_EXPRESSION:
        msg = f"expression longer than {MAX_EXPRESSION} characters"
        raise CelSyntaxError(msg)
    cel = _cel()
    try:
        compiled = _env().compile(text)
    except RuntimeError as exc:
        raise CelSyntaxError(_clean(str(exc))) from None
    rtype = compiled.return_type()
    return Program(
        text=text,
        compiled=compiled,
        returns_bool_or_dyn=rtype in (cel.Type.BOOL, cel.Type.DYN),
    )


def bind(document: Mapping[str, Any]) -> Activation:
    """Bind the (already validated, JSON-shaped) document for evaluation."""
    return Activation(handle=_env().Activation(data=dict(document)))


def _clean(message: str) -> str:
    # NOTE: cel-cpp prefixes a status code and draws a caret line; keep the human part.
    text = message.removeprefix("INVALID_ARGUMENT: ").replace("ERROR: <input>:", "at ")
    return " ".join(text.split())[:500]


@lru_cache(maxsize=1)
def _cel() -> Any:
    # NOTE: cel-expr-python ships a .pyi but no py.typed marker, so mypy cannot see it.
    from cel_expr_python import cel  # type: ignore[import-untyped]

    return cel


@lru_cache(maxsize=1)
def _env() -> Any:
    cel = _cel()
    return cel.NewEnv(variables=dict.fromkeys(VARIABLES, cel.Type.DYN))

"""The render sandbox for chat templates: a child ``python -I`` process with hard limits.

Only jinja2's ``ImmutableSandboxedEnvironment`` renders, and only in the child, which sets
address-space, CPU, file-size and process limits before rendering; the parent adds a
wall-clock timeout. The child runs the source of :func:`make_environment` and
:func:`_child_main`, so both are self-contained.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from functools import lru_cache
from typing import Any

from modelcustoms.engines.scan.templates_issue import TemplateIssue


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


def run_sandbox(request: dict[str, Any], timeout_s: float) -> list[Any] | TemplateIssue:
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

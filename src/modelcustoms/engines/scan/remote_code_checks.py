"""Checks over resolved remote code: what each call, reference and constant would do.

Strings handed to ``exec``/``eval`` are folded and the result is analysed in turn (up to
``MAX_EXEC_NESTING`` layers), so ``exec(b64decode("..."))`` reports what the hidden code does.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass

from modelcustoms.core import Severity
from modelcustoms.engines.scan.remote_code_calls import (
    CODE_RUNNERS,
    CRED_PATH,
    CREDS,
    DECODERS,
    DESERIAL,
    DYNAMIC,
    ENCODED,
    FETCHERS,
    FILE_WRITE,
    GETATTR_MARK,
    HF_DOWNLOAD,
    NETWORK,
    PERSIST_PATH,
    SAFE_YAML_LOADERS,
    UNKNOWN_MODULE,
    UNMARSHAL,
    classify,
    is_credential_name,
    is_hot,
)
from modelcustoms.engines.scan.remote_code_decoders import ENCODED_MIN, blob_content, blob_kind
from modelcustoms.engines.scan.remote_code_names import Bindings, literal_prefix

MAX_EXEC_NESTING = 3
"""How many layers of exec'd, decoded code are analysed."""

_C, _H, _M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM
_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError)


class UnparsableError(Exception):
    """The source could not be turned into an AST."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One observation, before it becomes a finding."""

    rule: str
    severity: Severity
    line: int
    what: str
    """Short name of what was seen, e.g. ``os.system``; part of the de-duplication key."""
    message: str
    excerpt: str


class Module(Bindings):
    """Name resolution and checks over one parsed module (or one exec'd payload)."""

    def __init__(self, tree: ast.Module, lines: list[str], nesting: int = 0) -> None:
        self.hits: dict[tuple[str, int, str], Hit] = {}
        self.outer_line: int | None = None
        super().__init__(tree, lines, nesting)

    # -- pass 2: checks -----------------------------------------------------------------------

    def run(self) -> list[Hit]:
        """Walk every node once and collect hits."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                self._check_call(node)
            if isinstance(node, ast.Name | ast.Attribute | ast.Call | ast.Subscript) and isinstance(
                getattr(node, "ctx", ast.Load()), ast.Load
            ):
                self._check_ref(node)
            if isinstance(node, ast.Constant) and id(node) not in self.docstrings:
                self._check_constant(node)
            elif isinstance(node, ast.BinOp | ast.JoinedStr):
                folded = self.fold_str(node)
                if folded is not None:
                    self._check_path(node, folded)
            elif isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
                self._check_builtins_tamper(node)
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
                self._check_namespace_index(node)
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.ctx, ast.Load)
                and "os.environ" in self.resolve(node.value)
            ):
                self._check_env_name(node, node.slice)
            elif isinstance(node, ast.For | ast.comprehension) and "os.environ" in self.resolve(
                node.iter
            ):
                self._hit(CREDS, _H, node.iter, "os.environ", "enumerates the whole environment")
        return sorted(self.hits.values(), key=lambda h: (-h.severity.rank, h.line, h.rule))

    def _hit(self, rule: str, sev: Severity, node: ast.AST, what: str, message: str) -> None:
        own = _line_of(node)
        line = self.outer_line or own
        key = (rule, line, what)
        old = self.hits.get(key)
        if old is not None and old.severity >= sev:
            return
        text = self.lines[own - 1].strip() if 0 < own <= len(self.lines) else ""
        if self.outer_line is not None:
            text = f"[decoded code] {text}"
            message = f"{message} (in code decoded and executed at line {self.outer_line})"
        self.hits[key] = Hit(rule, sev, line, what, message, text[:300])

    def _check_ref(self, node: ast.AST) -> None:
        for q in sorted(self.resolve(node)):
            if q.endswith(".__dict__") and is_hot(q[: -len(".__dict__")]):
                module = q[: -len(".__dict__")]
                self._hit(DYNAMIC, _H, node, q, f"reaches into the namespace of module {module}")
            found = classify(q)
            if found is None:
                continue
            rule, sev = found
            call = self.calls.get(id(node))
            if (q in ("builtins.exec", "builtins.eval") or q in CODE_RUNNERS) and (
                call is not None or (isinstance(node, ast.Name) and node.id in self.local)
            ):
                # Calls are judged with their arguments in _check_call; a bare ``eval`` that
                # the file binds (``def forward(self, x, eval=False)``) is a flag, not a builtin.
                continue
            if q in FETCHERS and call is not None and not self._constant_url(call):
                # Processors fetch images from URLs their caller passes (Qwen-VL's visual.py);
                # a fixed URL (payload download) or any upload stays high.
                self._hit(rule, _M, node, q, f"uses {q} on a URL given at run time")
                continue
            self._hit(rule, sev, node, q, f"uses {q}")

    def _constant_url(self, call: ast.Call) -> bool:
        url = call.args[0] if call.args else None
        for kw in call.keywords:
            if kw.arg in ("url", "fullurl"):
                url = kw.value
        return url is not None and self.fold_str(url) is not None

    def _check_call(self, node: ast.Call) -> None:
        funcs = self.resolve(node.func)
        if not funcs:
            return
        arg0 = node.args[0] if node.args else None
        for f in sorted(funcs):
            if f in ("builtins.exec", "builtins.eval", "builtins.compile"):
                self._check_exec(node, f, arg0)
            elif f in CODE_RUNNERS:
                self._check_runner(node, f)
            elif f.startswith(f"{GETATTR_MARK}.") or f == "functools.reduce":
                self._check_indirect_getattr(node, f)
            elif f in ("builtins.__import__", "importlib.import_module", "importlib.__import__"):
                name = self.fold_str(arg0) if arg0 is not None else None
                if name is not None:
                    self.imports.add(name)
                elif arg0 is not None:
                    sev = _M if literal_prefix(arg0).startswith((".", "transformers.")) else _H
                    self._hit(DYNAMIC, sev, node, f, f"{f} of a computed module name")
            elif f in ("builtins.getattr", "builtins.setattr") and len(node.args) >= 2:
                self._check_getattr(node, f)
            elif f == "torch.load" and not _kw_true(node, "weights_only"):
                self._hit(DESERIAL, _H, node, f, "torch.load without weights_only=True unpickles")
            elif f in ("numpy.load", "numpy.lib.npyio.load") and _kw_true(node, "allow_pickle"):
                self._hit(DESERIAL, _H, node, f, "numpy.load with allow_pickle=True unpickles")
            elif f in ("yaml.load", "yaml.load_all"):
                self._check_yaml(node, f)
            elif f in ("os.getenv", "os.environ.get", "os.environ.pop", "os.getenvb"):
                self._check_env_name(node, arg0)
            elif f in HF_DOWNLOAD:
                self._check_hf_download(node, f)
            elif f in (
                "builtins.dict",
                "builtins.str",
                "builtins.repr",
                "json.dumps",
                "json.dump",
                "builtins.print",
            ) and any("os.environ" in self.resolve(a) for a in node.args):
                self._hit(CREDS, _H, node, "os.environ", "copies the whole environment")
        if _kw_true(node, "trust_remote_code"):
            self._check_nested_remote_code(node, arg0)
        for f in funcs & UNMARSHAL:
            if arg0 is not None and self._decodes(arg0):
                self._hit(ENCODED, _C, node, f, f"decodes an embedded blob and feeds it to {f}")

    def _check_nested_remote_code(self, node: ast.Call, arg0: ast.expr | None) -> None:
        repo = self.fold_str(arg0) if arg0 is not None else None
        if repo is not None and not repo.startswith((".", "/")):
            message = f"loads the remote code of repository {repo!r} (trust_remote_code=True)"
            self._hit(NETWORK, _H, node, "trust_remote_code", message)
        else:
            # Usually the repository's own folder (inference handlers load themselves).
            message = "loads remote code from a location given at run time (trust_remote_code)"
            self._hit(NETWORK, _M, node, "trust_remote_code", message)

    def _check_exec(self, node: ast.Call, f: str, arg0: ast.expr | None) -> None:
        name = f.split(".", 1)[1]
        decoded = arg0 is not None and self._decodes(arg0)
        if decoded:
            self._hit(DYNAMIC, _C, node, f, f"{name}() of code decoded from an embedded blob")
            self._hit(ENCODED, _C, node, f, f"embedded blob is decoded and passed to {name}()")
        else:
            self._hit(DYNAMIC, _H, node, f, f"{name}() runs dynamically built code")
        source = self.fold(arg0) if arg0 is not None else None
        if source is not None and self.nesting < MAX_EXEC_NESTING:
            self._analyse_payload(node, source)

    def _check_runner(self, node: ast.Call, f: str) -> None:
        """A stdlib entry point that runs a string as Python (``timeit``, ``cProfile.run``)."""
        positions, keywords = CODE_RUNNERS[f]
        args = [node.args[i] for i in positions if i < len(node.args)]
        args += [k.value for k in node.keywords if k.arg in keywords]
        worst: Severity | None = None
        decoded = False
        for arg in args:
            decoded = decoded or self._decodes(arg)
            source = self.fold(arg)
            if source is not None and self.nesting < MAX_EXEC_NESTING:
                found = self._analyse_payload(node, source)
                worst = found if worst is None or (found and found > worst) else worst
        if decoded:
            self._hit(DYNAMIC, _C, node, f, f"{f} runs code decoded from an embedded blob")
        elif worst is not None and worst >= _H:
            self._hit(DYNAMIC, _C, node, f, f"{f} runs code that itself does something dangerous")
        else:
            self._hit(DYNAMIC, _H, node, f, f"{f} runs a string as Python code")

    def _check_indirect_getattr(self, node: ast.Call, f: str) -> None:
        """``methodcaller``/``attrgetter``/``reduce(getattr, ...)`` applied to a module."""
        if f == "functools.reduce":
            if len(node.args) < 3 or "builtins.getattr" not in self.resolve(node.args[0]):
                return
            target = node.args[2]
        elif node.args:
            target = node.args[0]
        else:
            return
        hot = sorted(b for b in self.resolve(target) if is_hot(b))
        if hot:
            how = "functools.reduce(getattr, ...)" if f == "functools.reduce" else "operator"
            message = f"looks up attributes of module {hot[0]} indirectly ({how})"
            self._hit(DYNAMIC, _H, node, f"indirect:{hot[0]}", message)

    def _check_namespace_index(self, node: ast.Subscript) -> None:
        """``sys.modules[x]``, ``vars(os)[x]``, ``__builtins__[x]`` with a computed key."""
        if self.fold_str(node.slice) is not None:
            return
        for base in sorted(self.resolve(node.value)):
            if base == "sys.modules":
                if UNKNOWN_MODULE in self.resolve(node):
                    self._hit(DYNAMIC, _H, node, base, "looks up sys.modules by a computed name")
            elif base == "builtins" or (
                base.endswith(".__dict__") and is_hot(base[: -len(".__dict__")])
            ):
                self._hit(DYNAMIC, _H, node, base, f"indexes {base} by a computed name")

    def _analyse_payload(self, node: ast.Call, source: str | bytes) -> Severity | None:
        """Analyse code handed to exec-like calls; the worst severity found in it."""
        try:
            inner = Module.from_source(source, self.nesting + 1)
        except UnparsableError:
            return None
        inner.aliases = {k: set(v) for k, v in self.aliases.items()} | inner.aliases
        inner.outer_line = self.outer_line or node.lineno
        worst: Severity | None = None
        for hit in inner.run():
            key = (hit.rule, hit.line, hit.what)
            if key not in self.hits or self.hits[key].severity < hit.severity:
                self.hits[key] = hit
            if worst is None or hit.severity > worst:
                worst = hit.severity
        self.imports |= inner.imports
        return worst

    def _check_getattr(self, node: ast.Call, f: str) -> None:
        bases = self.resolve(node.args[0])
        if f == "builtins.setattr" and "builtins" in bases:
            self._hit(DYNAMIC, _H, node, f, "modifies builtins with setattr")
        elif self.fold_str(node.args[1]) is None:
            hot = sorted(b for b in bases if is_hot(b))
            if hot:
                self._hit(DYNAMIC, _H, node, f, f"{f.split('.')[1]} of a computed name on {hot[0]}")

    def _check_yaml(self, node: ast.Call, f: str) -> None:
        loader: ast.expr | None = node.args[1] if len(node.args) > 1 else None
        for kw in node.keywords:
            if kw.arg == "Loader":
                loader = kw.value
        if loader is None or not (self.resolve(loader) & SAFE_YAML_LOADERS):
            self._hit(DESERIAL, _H, node, f, f"{f} without a safe Loader constructs objects")

    def _check_env_name(self, node: ast.AST, key: ast.expr | None) -> None:
        name = self.fold_str(key) if key is not None else None
        if name is not None and is_credential_name(name):
            self._hit(CREDS, _H, node, name, f"reads the environment variable {name}")

    def _check_hf_download(self, node: ast.Call, f: str) -> None:
        target: ast.expr | None = node.args[1] if len(node.args) > 1 else None
        for kw in node.keywords:
            if kw.arg == "filename":
                target = kw.value
        name = self.fold_str(target) if target is not None else None
        if name is not None and name.endswith((".py", ".so", ".pyc")):
            self._hit(NETWORK, _H, node, f, f"{f.rsplit('.', 1)[1]} fetches code file {name!r}")

    def _check_constant(self, node: ast.Constant) -> None:
        v = node.value
        if isinstance(v, str):
            self._check_path(node, v)
        if isinstance(v, str | bytes) and len(v) >= ENCODED_MIN:
            kind = blob_kind(v)
            if kind is not None:
                what = blob_content(v, kind)
                message = f"{kind} constant of {len(v)} characters" + (
                    f" (decodes to {what})" if what else ""
                )
                self._hit(ENCODED, _H, node, "blob", message)

    def _check_path(self, node: ast.AST, text: str) -> None:
        if len(text) > 4096:
            return
        if PERSIST_PATH.search(text):
            self._hit(FILE_WRITE, _H, node, text[:80], f"names a persistence path: {text[:80]!r}")
        elif CRED_PATH.search(text):
            self._hit(CREDS, _H, node, text[:80], f"names a credential path: {text[:80]!r}")

    def _check_builtins_tamper(self, node: ast.Assign | ast.AugAssign | ast.Delete) -> None:
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        for t in targets:
            if isinstance(t, ast.Attribute | ast.Subscript):
                base = self.resolve(t.value)
                if base & {"builtins", "builtins.__dict__"}:
                    self._hit(DYNAMIC, _H, node, "builtins", "modifies builtins")

    def _decodes(self, expr: ast.AST) -> bool:
        """Whether ``expr`` decodes data or refers to an encoded blob."""
        seen = 0
        stack: list[ast.AST] = [expr]
        while stack and seen < 10_000:
            n = stack.pop()
            seen += 1
            if isinstance(n, ast.Call) and self.resolve(n.func) & DECODERS:
                return True
            if (
                isinstance(n, ast.Constant)
                and isinstance(n.value, str | bytes)
                and len(n.value) >= ENCODED_MIN
                and blob_kind(n.value) is not None
            ):
                return True
            if isinstance(n, ast.Name) and n.id in self.consts and seen < 64:
                stack.append(self.consts[n.id])
            stack.extend(ast.iter_child_nodes(n))
        return False

    @classmethod
    def from_source(cls, source: str | bytes, nesting: int = 0) -> Module:
        """Parse ``source`` (never compiled to bytecode, never run)."""
        try:
            tree = ast.parse(source)
        except _PARSE_ERRORS as exc:
            raise UnparsableError(f"{type(exc).__name__}: {exc}") from None
        return cls(tree, _source_text(source).splitlines(), nesting)


def _source_text(source: str | bytes) -> str:
    """Text of the source as Python decodes it (coding cookie), for excerpts."""
    if isinstance(source, str):
        return source
    try:
        # Honours a ``# coding:`` cookie, so a utf-7 file shows what Python would run.
        return importlib.util.decode_source(source)
    except (SyntaxError, LookupError, UnicodeError, ValueError):
        return source.decode("utf-8", errors="replace")


def _line_of(node: ast.AST) -> int:
    line = getattr(node, "lineno", None)
    return line if isinstance(line, int) and line > 0 else 1


def _kw_true(node: ast.Call, name: str) -> bool:
    return any(
        k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in node.keywords
    )

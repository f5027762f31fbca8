"""Name resolution for remote code: import aliases, assignments and constant folding.

Resolution is flow-insensitive on purpose: a name that is *ever* bound to ``os.system`` is
treated as ``os.system`` everywhere, which attackers cannot dodge by reordering code.
"""

from __future__ import annotations

import ast

from modelcustoms.engines.scan.remote_code_calls import (
    BUILTINS_ALWAYS,
    BUILTINS_SHADOWABLE,
    DECODERS,
    GETATTR_MARK,
    UNKNOWN_MODULE,
    canonical,
    is_hot,
)
from modelcustoms.engines.scan.remote_code_decoders import MAX_FOLDED, decode

MAX_EXPR_DEPTH = 40
"""Deepest expression the resolver and folder follow (they recurse; the walk does not)."""
_NAMESPACE_GETTERS = ("get", "__getitem__", "pop", "setdefault")
"""Methods of a module's ``__dict__`` that hand back one of its members."""
_SELF_MODULE_KEYS = frozenset({"__name__", "__package__", "__module__"})
"""``sys.modules[__name__]`` is the file's own module, a common and harmless idiom."""


class Bindings:
    """Pass 1 over one parsed module (or one exec'd payload): what its names refer to."""

    def __init__(self, tree: ast.Module, lines: list[str], nesting: int = 0) -> None:
        self.tree = tree
        self.lines = lines
        self.nesting = nesting
        self.aliases: dict[str, set[str]] = {}
        self.consts: dict[str, ast.expr] = {}
        self.star: set[str] = set()
        self.local: set[str] = set()
        self.imports: set[str] = set()
        self.docstrings: set[int] = set()
        self.calls: dict[int, ast.Call] = {}
        """Calls by the id of their ``func`` node, to judge a reference with its arguments."""
        self._folded: dict[str, str | bytes | None] = {}
        self._collect()

    # -- pass 1: bindings ---------------------------------------------------------------------

    def _collect(self) -> None:
        assigns: list[tuple[str, ast.expr]] = []
        params: dict[str, list[str]] = {}
        passed: list[tuple[str, ast.expr]] = []
        for node in ast.walk(self.tree):  # ast.walk is iterative (a deque), safe on deep trees
            if isinstance(node, ast.Import):
                for a in node.names:
                    self.imports.add(a.name)
                    # ``import a.b`` binds ``a``; ``import a.b as x`` binds ``x`` to ``a.b``.
                    key = a.asname or a.name.split(".", 1)[0]
                    self.aliases.setdefault(key, set()).add(a.name if a.asname else key)
            elif isinstance(node, ast.ImportFrom):
                mod = "." * node.level + (node.module or "")
                self.imports.add(mod)
                for a in node.names:
                    if a.name == "*":
                        if not node.level:
                            self.star.add(mod)
                    else:
                        self.aliases.setdefault(a.asname or a.name, set()).add(f"{mod}.{a.name}")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.local.add(node.name)
                self._docstring(node)
                if not isinstance(node, ast.ClassDef):
                    params.setdefault(node.name, []).extend(a.arg for a in node.args.args)
            elif isinstance(node, ast.arg):
                self.local.add(node.arg)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self.local.add(node.id)
            elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                assigns.extend((t.id, node.value) for t in targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.NamedExpr):
                assigns.append((node.target.id, node.value))
            elif isinstance(node, ast.Call):
                self.calls[id(node.func)] = node
                if isinstance(node.func, ast.Lambda):
                    # ``(lambda g: g["exec"])(__builtins__)``: the argument is the parameter.
                    names = [a.arg for a in node.func.args.args]
                    assigns.extend(zip(names, node.args, strict=False))
                elif isinstance(node.func, ast.Name):
                    passed.extend((f"{node.func.id}:{i}", a) for i, a in enumerate(node.args))
        self._docstring(self.tree)
        for name, value in assigns:
            if isinstance(value, ast.Constant | ast.BinOp | ast.JoinedStr | ast.Call):
                self.consts[name] = value
        # A module handed to a function of this file binds its parameter (``def f(m):
        # m.system(...)``; ``f(os)``), but only sensitive modules: parameter names are shared
        # across functions here, and ordinary values must not leak between them.
        module_args: list[tuple[str, ast.expr]] = []
        for key, value in passed[:10_000]:
            func, index = key.rsplit(":", 1)
            names = params.get(func, [])
            if int(index) < len(names):
                module_args.append((names[int(index)], value))
        # A few rounds let chains like ``a = os; b = a.system`` settle.
        for _ in range(3):
            for name, value in assigns:
                self.aliases.setdefault(name, set()).update(self.resolve(value))
            for name, value in module_args:
                hot = {q for q in self.resolve(value) if is_hot(q)}
                if hot:
                    self.aliases.setdefault(name, set()).update(hot)

    def _docstring(self, node: ast.AST) -> None:
        body = getattr(node, "body", None)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            self.docstrings.add(id(body[0].value))

    # -- resolution ---------------------------------------------------------------------------

    def resolve(self, node: ast.AST, depth: int = 0) -> set[str]:
        """Qualified names ``node`` may refer to (``{"os.system"}``), empty when unknown."""
        if depth > MAX_EXPR_DEPTH:
            return set()
        out: set[str] = set()
        if isinstance(node, ast.Name):
            out.update(self.aliases.get(node.id, ()))
            if node.id == "__builtins__":
                out.add("builtins")
            elif node.id in BUILTINS_ALWAYS or (
                node.id in BUILTINS_SHADOWABLE and node.id not in self.local
            ):
                out.add(f"builtins.{node.id}")
            if not out and node.id not in self.local:
                out.update(f"{m}.{node.id}" for m in self.star)
        elif isinstance(node, ast.Attribute):
            out.update(f"{b}.{node.attr}" for b in self.resolve(node.value, depth + 1))
        elif isinstance(node, ast.Call):
            out.update(self._resolve_call(node, depth))
        elif isinstance(node, ast.Subscript):
            out.update(self._resolve_subscript(node, depth))
        elif isinstance(node, ast.IfExp):
            out.update(self.resolve(node.body, depth + 1) | self.resolve(node.orelse, depth + 1))
        elif isinstance(node, ast.BoolOp):
            for value in node.values[:8]:
                out.update(self.resolve(value, depth + 1))
        elif isinstance(node, ast.Lambda):
            # What calling the lambda returns; only used when it is called in place.
            out.update(self.resolve(node.body, depth + 1))
        return {canonical(q) for q in list(out)[:32]}

    def _resolve_subscript(self, node: ast.Subscript, depth: int) -> set[str]:
        key = self.fold_str(node.slice, depth + 1)
        out: set[str] = set()
        for base in self.resolve(node.value, depth + 1):
            if base == "sys.modules":
                out.add(key if key is not None else self._unknown_unless_self(node.slice))
            elif key is None:
                continue
            elif base == "builtins":
                out.add(f"builtins.{key}")
            elif base.endswith(".__dict__") and "()" not in base:
                # ``os.__dict__["system"]`` is ``os.system`` (``builtins.__dict__`` included).
                out.add(f"{base[: -len('.__dict__')]}.{key}")
            elif base in ("builtins.globals", "builtins.vars") and key == "__builtins__":
                out.add("builtins")
        out.discard("")
        return out

    @staticmethod
    def _unknown_unless_self(key: ast.AST) -> str:
        if isinstance(key, ast.Name) and key.id in _SELF_MODULE_KEYS:
            return ""
        if isinstance(key, ast.Attribute) and key.attr in _SELF_MODULE_KEYS:
            return ""
        return UNKNOWN_MODULE

    def _resolve_call(self, node: ast.Call, depth: int) -> set[str]:
        funcs = self.resolve(node.func, depth + 1)
        if isinstance(node.func, ast.Lambda):
            return funcs
        # ``X()`` stands for an instance of X, so ``trace.Trace().runctx`` can be looked up.
        out = {f"{f}()" for f in funcs if "()" not in f and not f.startswith("<")}
        if not node.args:
            out.update(funcs & {"builtins.globals", "builtins.vars"})
            return out
        arg0 = node.args[0]
        if funcs & {"builtins.__import__", "importlib.__import__"}:
            out.update(n.split(".", 1)[0] for n in self._module_names(arg0, depth))
        if "importlib.import_module" in funcs:
            out.update(self._module_names(arg0, depth))
        if "builtins.getattr" in funcs and len(node.args) >= 2:
            attr = self.fold_str(node.args[1], depth + 1)
            if attr:
                out.update(f"{b}.{attr}" for b in self.resolve(arg0, depth + 1))
        if "builtins.vars" in funcs:
            out.update(f"{b}.__dict__" for b in self.resolve(arg0, depth + 1))
        if funcs & {"operator.attrgetter", "operator.methodcaller"}:
            # A pending lookup; a methodcaller call stands for the method it calls.
            attr = self.fold_str(arg0, depth + 1)
            out.add(f"{GETATTR_MARK}.{attr or '?'}")
        if "functools.reduce" in funcs and len(node.args) >= 3:
            out.update(self._resolve_reduce(node, depth))
        key = self.fold_str(arg0, depth + 1)
        for f in funcs:
            if f.startswith(f"{GETATTR_MARK}.") and not f.endswith(".?"):
                out.update(
                    f"{b}.{f[len(GETATTR_MARK) + 1 :]}" for b in self.resolve(arg0, depth + 1)
                )
            elif f == "sys.modules.get":
                out.add(key if key is not None else self._unknown_unless_self(arg0))
            elif key is None:
                continue
            elif f.rsplit(".", 1)[-1] in _NAMESPACE_GETTERS and f.rsplit(".", 2)[-2:-1] == [
                "__dict__"
            ]:
                out.add(f"{f.rsplit('.', 2)[0]}.{key}")
            elif f.endswith(".__getattribute__"):
                out.add(f"{f[: -len('.__getattribute__')]}.{key}")
        out.discard("")
        return out

    def _module_names(self, arg: ast.AST, depth: int) -> set[str]:
        """What ``import_module(arg)`` imports; unknown unless it stays in transformers/the repo."""
        name = self.fold_str(arg, depth + 1)
        if name:
            return {name}
        if literal_prefix(arg).startswith((".", "transformers.")):
            return set()
        return {UNKNOWN_MODULE}

    def _resolve_reduce(self, node: ast.Call, depth: int) -> set[str]:
        """``functools.reduce(getattr, ["path", "system"], os)`` is ``os.path.system``."""
        if "builtins.getattr" not in self.resolve(node.args[0], depth + 1):
            return set()
        names = node.args[1]
        if not isinstance(names, ast.List | ast.Tuple) or len(names.elts) > 16:
            return set()
        parts = [self.fold_str(e, depth + 1) for e in names.elts]
        if any(p is None for p in parts):
            return set()
        tail = ".".join(p for p in parts if p)
        return {f"{b}.{tail}" for b in self.resolve(node.args[2], depth + 1)}

    def fold_str(self, node: ast.AST, depth: int = 0) -> str | None:
        """The string value of ``node`` when it is computable without running anything."""
        v = self.fold(node, depth)
        if isinstance(v, bytes):
            return v.decode("utf-8", errors="replace")
        return v

    def fold(self, node: ast.AST, depth: int = 0) -> str | bytes | None:
        """Constant-fold string and bytes expressions, including bounded decoding."""
        if depth > MAX_EXPR_DEPTH:
            return None
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str | bytes) else None
        if isinstance(node, ast.Name):
            return self._fold_name(node.id, depth)
        if isinstance(node, ast.BinOp):
            return self._fold_binop(node, depth)
        if isinstance(node, ast.JoinedStr):
            parts = [
                self.fold_str(v.value if isinstance(v, ast.FormattedValue) else v, depth + 1)
                for v in node.values
            ]
            return None if None in parts else "".join(p for p in parts if p is not None)
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            s = node.slice
            if s.lower is None and s.upper is None and _is_int(s.step, -1):
                base = self.fold(node.value, depth + 1)
                return None if base is None else base[::-1]
            return None
        if isinstance(node, ast.Call):
            return self._fold_call(node, depth)
        return None

    def _fold_name(self, name: str, depth: int) -> str | bytes | None:
        # Memoised: ``a = a + a`` chains would otherwise cost 2**depth, and cycles never end.
        if name in self._folded:
            return self._folded[name]
        expr = self.consts.get(name)
        if expr is None:
            return None
        self._folded[name] = None
        value = self.fold(expr, depth + 1)
        self._folded[name] = value
        return value

    def _fold_binop(self, node: ast.BinOp, depth: int) -> str | bytes | None:
        left = self.fold(node.left, depth + 1)
        if isinstance(node.op, ast.Mult) and isinstance(node.right, ast.Constant):
            n = node.right.value
            if left is not None and isinstance(n, int) and n >= 0 and len(left) * n <= MAX_FOLDED:
                return left * n
            return None
        right = self.fold(node.right, depth + 1)
        if not isinstance(node.op, ast.Add) or left is None or right is None:
            return None
        if isinstance(left, str) and isinstance(right, str):
            return left + right if len(left) + len(right) <= MAX_FOLDED else None
        if isinstance(left, bytes) and isinstance(right, bytes):
            return left + right if len(left) + len(right) <= MAX_FOLDED else None
        return None

    def _fold_call(self, node: ast.Call, depth: int) -> str | bytes | None:
        func = node.func
        base = None
        if isinstance(func, ast.Attribute) and func.attr in ("join", "decode", "encode"):
            # A method on a foldable value; ``codecs.decode(...)`` falls through to the resolver.
            base = self.fold(func.value, depth + 1)
        if isinstance(func, ast.Attribute) and base is not None:
            if func.attr == "decode" and isinstance(base, bytes):
                return base.decode("utf-8", errors="replace")
            if func.attr == "encode" and isinstance(base, str):
                return base.encode("utf-8", errors="replace")
            if func.attr == "join" and node.args:
                items = self._fold_items(node.args[0], depth)
                if items is None:
                    return None
                strs = [i for i in items if i is not None]
                if isinstance(base, str) and len(strs) == len(items):
                    joined = base.join(strs)
                    return joined if len(joined) <= MAX_FOLDED else None
            return None
        names = self.resolve(func, depth + 1)
        if (
            "builtins.bytes" in names
            and node.args
            and isinstance(node.args[0], ast.List)
            and len(node.args[0].elts) <= MAX_FOLDED
        ):
            codes = [_int_of(e) for e in node.args[0].elts]
            if None in codes or any(c is not None and c > 255 for c in codes):
                return None
            return bytes(c for c in codes if c is not None)
        if "builtins.chr" in names and node.args and isinstance(node.args[0], ast.Constant):
            code = node.args[0].value
            return chr(code) if isinstance(code, int) and 0 <= code < 0x110000 else None
        decoder = next(iter(names & DECODERS), None)
        if decoder is None or not node.args:
            return None
        data = self.fold(node.args[0], depth + 1)
        if data is None:
            return None
        extra = self.fold_str(node.args[1], depth + 1) if len(node.args) > 1 else None
        out = decode(decoder, data, extra)
        return out if out is None or len(out) <= MAX_FOLDED else None

    def _fold_items(self, node: ast.AST, depth: int) -> list[str | None] | None:
        """The strings a ``join`` argument yields: a literal list, or ``map(chr, [ints])``."""
        if isinstance(node, ast.List | ast.Tuple):
            return [self.fold_str(e, depth + 1) for e in node.elts[:10_000]]
        if (
            isinstance(node, ast.Call)
            and len(node.args) == 2
            and "builtins.map" in self.resolve(node.func, depth + 1)
            and "builtins.chr" in self.resolve(node.args[0], depth + 1)
            and isinstance(node.args[1], ast.List | ast.Tuple)
            and len(node.args[1].elts) <= MAX_FOLDED
        ):
            codes = [_int_of(e) for e in node.args[1].elts]
            return [None if c is None or c >= 0x110000 else chr(c) for c in codes]
        return None


def literal_prefix(node: ast.AST) -> str:
    """The constant text a computed string starts with (``f"transformers.{x}"``)."""
    for _ in range(MAX_EXPR_DEPTH):
        if isinstance(node, ast.JoinedStr) and node.values:
            node = node.values[0]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            node = node.left
        else:
            break
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return ""


def _int_of(node: ast.AST) -> int | None:
    """A non-negative byte/code point literal, or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and node.value >= 0:
        return node.value if not isinstance(node.value, bool) else None
    return None


def _is_int(node: ast.AST | None, value: int) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _is_int(node.operand, -value)
    return isinstance(node, ast.Constant) and node.value == value

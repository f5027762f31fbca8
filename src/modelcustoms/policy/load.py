"""Load a policy: raw YAML/JSON → validated :class:`Policy` → merged ``extends`` → compiled.

Like the knowledge base, loading collects every problem before failing (STYLE #10): each rule,
source and waiver is validated on its own, every CEL expression is compiled, references
between them are checked, and all of it is raised as one :class:`PolicyLoadError` whose
members name the file and the rule. An empty policy is an error (STYLE #6).

A profile is named either as a built-in (``security``; see :func:`builtin_profiles`) or as a
path to a ``.yaml``/``.yml``/``.json`` file. ``extends`` entries inside a file resolve the same
way, paths relative to the file that names them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from modelcustoms.policy.cel import CelSyntaxError, Program, compile_expression
from modelcustoms.policy.errors import PolicyIssue, PolicyLoadError
from modelcustoms.policy.message import Template, TemplateError, compile_template
from modelcustoms.policy.model import Policy, Rule, Source, Waiver
from modelcustoms.policy.paths import required_paths

MAX_FILE_BYTES = 1024 * 1024
MAX_EXTENDS_DEPTH = 8
SUFFIXES = (".yaml", ".yml", ".json")

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with its expressions compiled and the fact paths it needs."""

    rule: Rule
    when: Program
    applies: Program | None
    """None when the rule always applies (``applies: "true"``, the default)."""
    message: Template
    requires: frozenset[str]
    """Declared ``requires`` plus the unguarded ``facts.…`` paths ``when`` touches."""
    applies_requires: frozenset[str]


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A merged, validated, compiled policy, ready to evaluate."""

    policy: Policy
    rules: tuple[CompiledRule, ...]
    origin: str
    """``builtin:NAME`` or the path it was loaded from."""
    files: tuple[str, ...] = ()
    """Every file that contributed (the policy and what it extends)."""
    _sources: dict[str, Source] = field(default_factory=dict, repr=False)

    def source(self, source_id: str) -> Source:
        """The citation a rule names (checked to exist when loading)."""
        return self._sources[source_id]


def builtin_profiles() -> tuple[str, ...]:
    """Names of the profiles shipped with modelcustoms."""
    folder = resources.files("modelcustoms.policy").joinpath("profiles")
    return tuple(
        sorted(
            entry.name.rsplit(".", 1)[0]
            for entry in folder.iterdir()
            if entry.name.endswith(SUFFIXES)
        )
    )


def load_policy(spec: str | Path) -> CompiledPolicy:
    """Load a built-in profile by name, or a policy file by path."""
    loader = _Loader()
    key = loader.resolve(str(spec), base=None, where=("<command line>", "--policy"))
    policy = loader.merged(key, ()) if key is not None else None
    return loader.finish(policy, key)


def parse_policy(text: str | bytes, file: str = "<policy>") -> CompiledPolicy:
    """Load a policy from text (``extends`` may name built-ins or paths relative to cwd)."""
    loader = _Loader()
    key = ("text", file)
    loader.texts[key] = text
    return loader.finish(loader.merged(key, ()), key)


_Key = tuple[str, str]
"""("builtin", name) | ("file", resolved path) | ("text", label)."""


@dataclass
class _Loader:
    errors: list[PolicyIssue] = field(default_factory=list)
    texts: dict[_Key, str | bytes] = field(default_factory=dict)
    cache: dict[_Key, Policy | None] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def issue(self, file: str, where: str, message: str) -> None:
        self.errors.append(PolicyIssue(file, where, message))

    def resolve(self, spec: str, base: Path | None, where: tuple[str, str]) -> _Key | None:
        builtins = builtin_profiles()
        looks_like_path = "/" in spec or "\\" in spec or spec.endswith(SUFFIXES)
        if not looks_like_path and spec in builtins:
            return ("builtin", spec)
        if base is None and not looks_like_path and not Path(spec).exists():
            self.issue(*where, f"unknown profile {spec!r}; built-in: {', '.join(builtins)}")
            return None
        if base is not None and not looks_like_path:
            self.issue(*where, f"unknown profile {spec!r}; built-in: {', '.join(builtins)}")
            return None
        path = Path(spec) if base is None else base / spec
        return ("file", str(path.resolve()))

    def merged(self, key: _Key, stack: tuple[_Key, ...]) -> Policy | None:
        label = _label(key)
        if key in stack:
            chain = " → ".join(_label(k) for k in (*stack, key))
            self.issue(label, "extends", f"extends itself: {chain}")
            return None
        if len(stack) >= MAX_EXTENDS_DEPTH:
            self.issue(label, "extends", f"deeper than {MAX_EXTENDS_DEPTH} levels")
            return None
        if key in self.cache:
            return self.cache[key]
        self.cache[key] = None
        own = self._own(key)
        if own is None:
            return None
        base = Path(key[1]).parent if key[0] == "file" else None
        parents: list[tuple[str, Policy]] = []
        for i, spec in enumerate(own.extends):
            where = (label, f"extends[{i}]")
            if key[0] == "builtin" and spec not in builtin_profiles():
                self.issue(*where, f"built-in profiles extend built-ins only, not {spec!r}")
                continue
            pkey = self.resolve(spec, base if key[0] == "file" else None, where)
            parent = self.merged(pkey, (*stack, key)) if pkey is not None else None
            if parent is not None:
                parents.append((spec, parent))
        result = _merge(own, parents, label, self.issue)
        self.cache[key] = result
        return result

    def _own(self, key: _Key) -> Policy | None:
        label = _label(key)
        raw = self._raw(key)
        if raw is None:
            return None
        self.files.append(label)
        return _validate(raw, label, self.issue)

    def _raw(self, key: _Key) -> dict[str, Any] | None:
        label = _label(key)
        try:
            data = self._bytes(key)
        except (OSError, ValueError) as exc:
            self.issue(label, "file", f"cannot read: {getattr(exc, 'strerror', None) or exc}")
            return None
        try:
            doc = yaml.load(data, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader subclass)
        except yaml.YAMLError as exc:
            self.issue(label, "file", f"not valid YAML/JSON: {' '.join(str(exc).split())}")
            return None
        if not isinstance(doc, dict):
            self.issue(label, "file", "a policy is a mapping (name, description, rules, …)")
            return None
        return doc

    def _bytes(self, key: _Key) -> str | bytes:
        kind, name = key
        if kind == "text":
            data = self.texts[key]
        elif kind == "builtin":
            folder = resources.files("modelcustoms.policy").joinpath("profiles")
            entry = next(
                e for e in folder.iterdir() if e.name.endswith(SUFFIXES) and _stem(e.name) == name
            )
            data = entry.read_bytes()
        else:
            path = Path(name)
            if path.stat().st_size > MAX_FILE_BYTES:
                msg = f"larger than {MAX_FILE_BYTES} bytes"
                raise ValueError(msg)
            data = path.read_bytes()
        if len(data) > MAX_FILE_BYTES:
            msg = f"larger than {MAX_FILE_BYTES} bytes"
            raise ValueError(msg)
        return data

    def finish(self, policy: Policy | None, key: _Key | None) -> CompiledPolicy:
        compiled: tuple[CompiledRule, ...] = ()
        if policy is not None:
            label = _label(key) if key else "<policy>"
            compiled = tuple(
                c for r in policy.rules if (c := _compile(r, label, self.issue)) is not None
            )
            if not policy.rules:
                self.issue(label, "rules", "a policy needs at least one rule (empty policy)")
        if self.errors or policy is None:
            n = len(self.errors)
            msg = f"policy has {n} problem{'s' if n != 1 else ''}"
            raise PolicyLoadError(msg, self.errors or [PolicyIssue("<policy>", "file", "empty")])
        return CompiledPolicy(
            policy=policy,
            rules=compiled,
            origin=_label(key) if key else "<policy>",
            files=tuple(self.files),
            _sources={s.id: s for s in policy.sources},
        )


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without anchors/aliases: a policy never needs them, and they can bomb."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "aliases are not allowed in policy files", self.get_mark()
            )
        return super().compose_node(parent, index)


_Report = Callable[[str, str, str], None]


def _validate(raw: dict[str, Any], file: str, issue: _Report) -> Policy | None:
    """Validate every rule, source and waiver on its own, then the rest; collect all errors."""
    before = _Counter()
    counted: _Report = before.wrap(issue)
    rules = _items(raw, "rules", Rule, file, counted, label="id")
    sources = _items(raw, "sources", Source, file, counted, label="id")
    waivers = _items(raw, "waivers", Waiver, file, counted, label="rule")
    rest = {k: v for k, v in raw.items() if k not in ("rules", "sources", "waivers")}
    head: Policy | None = None
    try:
        head = Policy.model_validate(rest)
    except ValidationError as exc:
        for err in exc.errors():
            counted(file, _loc(err["loc"]) or "policy", err["msg"].removeprefix("Value error, "))
    if head is None or before.count:
        # Still compile the rules that validated, so CEL errors are reported in the same run;
        # cross-references (sources, waivers) are checked only once the file is valid.
        raw_sources = raw.get("sources")
        items = raw_sources if isinstance(raw_sources, list) else []
        known = {item.get("id") for item in items if isinstance(item, dict)}
        for rule in rules:
            _compile(rule, file, issue)
            if not raw.get("extends") and rule.source not in known:
                issue(file, f"rules ({rule.id}).source", f"unknown source {rule.source!r}")
        return None
    return head.model_copy(
        update={"rules": tuple(rules), "sources": tuple(sources), "waivers": tuple(waivers)}
    )


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def wrap(self, issue: _Report) -> _Report:
        def counted(file: str, where: str, message: str) -> None:
            self.count += 1
            issue(file, where, message)

        return counted


def _items(
    raw: Mapping[str, Any], key: str, model: type[ModelT], file: str, issue: _Report, label: str
) -> list[ModelT]:
    items = raw.get(key, [])
    if items is None:
        items = []
    if not isinstance(items, list):
        issue(file, key, "must be a list")
        return []
    out: list[ModelT] = []
    for i, item in enumerate(items):
        name = item.get(label) if isinstance(item, dict) else None
        where = f"{key}[{i}]" + (f" ({name})" if isinstance(name, str) else "")
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            for err in exc.errors():
                loc = _loc(err["loc"])
                issue(
                    file,
                    f"{where}.{loc}" if loc else where,
                    err["msg"].removeprefix("Value error, "),
                )
    return out


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _merge(own: Policy, parents: list[tuple[str, Policy]], file: str, issue: _Report) -> Policy:
    """Parents' rules, sources, params and waivers, then the file's own (own params win)."""
    rules: dict[str, Rule] = {}
    sources: dict[str, Source] = {}
    params: dict[str, Any] = {}
    param_from: dict[str, str] = {}
    waivers: list[Waiver] = []
    for spec, parent in [*parents, ("", own)]:
        where = f"extends {spec}" if spec else "rules"
        if parent.unsafe and not own.unsafe:
            issue(file, where, f"{parent.name} is unsafe; only an unsafe-… policy may extend it")
        for rule in parent.rules:
            if rule.id in rules and rules[rule.id] != rule:
                issue(file, f"{where} ({rule.id})", "rule id defined twice with different content")
            rules[rule.id] = rule
        for src in parent.sources:
            overridden = spec == "" or any(s.id == src.id for s in own.sources)
            if src.id in sources and sources[src.id] != src and not overridden:
                issue(
                    file, f"sources ({src.id})", "defined differently by two profiles; set it here"
                )
            sources[src.id] = src
        waivers.extend(w for w in parent.waivers if w not in waivers)
        if spec:
            for name, value in parent.params.items():
                if name in params and params[name] != value and name not in own.params:
                    issue(
                        file,
                        f"params.{name}",
                        f"{param_from[name]} and {spec} set it differently; set it here",
                    )
                params[name], param_from[name] = value, spec
    params.update(own.params)
    for rule in rules.values():
        if rule.source not in sources:
            issue(file, f"rules ({rule.id}).source", f"unknown source {rule.source!r}")
    for w in own.waivers:
        if w.rule not in rules:
            issue(file, f"waivers ({w.rule})", "waives a rule this policy does not have")
    return own.model_copy(
        update={
            "rules": tuple(rules.values()),
            "sources": tuple(sources.values()),
            "params": params,
            "waivers": tuple(waivers),
        }
    )


def _compile(rule: Rule, file: str, issue: _Report) -> CompiledRule | None:
    ok = True
    programs: dict[str, Program] = {}
    for name in ("when", "applies"):
        text: str = getattr(rule, name)
        try:
            programs[name] = compile_expression(text)
        except CelSyntaxError as exc:
            issue(file, f"rules ({rule.id}).{name}", f"CEL error: {exc}")
            ok = False
            continue
        if not programs[name].returns_bool_or_dyn:
            issue(file, f"rules ({rule.id}).{name}", "must evaluate to a boolean")
            ok = False
    try:
        template = compile_template(rule.message)
    except TemplateError as exc:
        issue(file, f"rules ({rule.id}).message", str(exc))
        ok = False
    if not ok:
        return None
    return CompiledRule(
        rule=rule,
        when=programs["when"],
        applies=None if rule.applies.strip() == "true" else programs["applies"],
        message=template,
        requires=frozenset(rule.requires) | required_paths(rule.when),
        applies_requires=required_paths(rule.applies),
    )


def _label(key: _Key) -> str:
    kind, name = key
    return f"builtin:{name}" if kind == "builtin" else name


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0]

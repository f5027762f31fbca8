"""Check kb/data/architectures.json against the source code of the runtimes it describes.

Offline and repeatable: it reads release artifacts the user downloaded with the ordinary
package client, and never imports or runs them (a wheel is a zip, an sdist a tarball; both are
read as text and parsed with ``ast``/regular expressions)::

    pip download --no-deps transformers==5.24.0 -d dl/
    pip download --no-deps transformers==4.28.0 -d dl/   # for "since": the claimed release
    pip download --no-deps transformers==4.27.4 -d dl/   # and the one before it
    pip download --no-deps vllm==0.33.0 -d dl/
    pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36 -d dl/
    python scripts/verify_architectures.py --transformers dl/transformers-*.whl \\
        --vllm dl/vllm-*.whl --llama-cpp dl/llama_cpp_python-0.3.36.tar.gz

What each runtime status is checked against:

* transformers (the newest wheel given): ``native`` means every ``model_types`` entry is a key
  of ``CONFIG_MAPPING_NAMES`` and of an auto model mapping (``*_MAPPING_NAMES`` in
  ``modeling_auto.py``): the auto classes pick the model class by model type, so a type can load
  natively under another class name (a row without types needs its classes defined in a
  ``transformers/models/*/modeling_*.py``); ``remote-code``/``none`` mean no type is registered
  and no class defined. ``since`` X is
  confirmed when the wheel of X has it and the newest wheel given older than X does not (give
  the release just before X, e.g. 4.27.4 for 4.28.0); with no older wheel it stays unchecked.
* vLLM: ``native`` means every class is a key of the model registry (``_VLLM_MODELS`` in
  ``vllm/model_executor/models/registry.py``); ``none`` means no class is (one listed in
  ``_PREVIOUSLY_SUPPORTED_MODELS`` is reported as removed).
* llama.cpp: ``native`` means every class is registered with ``ModelBase.register`` in the
  converter (``convert_hf_to_gguf.py`` and its ``conversion/`` package) for a text model whose
  architecture name is in ``src/llama-arch.cpp``; every ``gguf_architectures`` entry must be in
  ``llama-arch.cpp`` and be what the converter writes for one of the row's classes.

Exit status: 0 when every check agrees, 1 on any disagreement, 2 on unusable input. This file is
a maintenance tool; the package never imports it.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import re
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
KB_FILE = ROOT / "src/modelcustoms/kb/data/architectures.json"
_CLASS_DEF = re.compile(r"^class\s+([A-Za-z_]\w*)\s*[(:]", re.MULTILINE)
_ARCH_NAME = re.compile(r"\{\s*LLM_ARCH_(\w+)\s*,\s*\"([^\"]+)\"\s*\}")
_VERSION = re.compile(r"^Version:\s*(\S+)\s*$", re.MULTILINE)


class InputError(Exception):
    """An artifact that is missing or not what it should be."""


# --- reading artifacts without unpacking or importing them ---------------------------------


def _read_files(path: Path, want: Callable[[str], bool]) -> dict[str, str]:
    """Text of the files under ``path`` (a wheel/zip, a tarball or a folder) whose
    archive-relative path ``want`` accepts. Paths are given without an sdist's top folder."""
    out: dict[str, str] = {}
    if path.is_dir():
        for p in path.rglob("*"):
            rel = p.relative_to(path).as_posix()
            if p.is_file() and want(rel):
                out[rel] = p.read_text(encoding="utf-8", errors="replace")
        return out
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if want(name):
                    out[name] = zf.read(name).decode("utf-8", errors="replace")
        return out
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as tf:
            for member in tf:
                # NOTE: an sdist nests everything under "<name>-<version>/"; strip it.
                rel = member.name.split("/", 1)[1] if "/" in member.name else member.name
                if member.isfile() and want(rel):
                    f = tf.extractfile(member)
                    if f is not None:
                        out[rel] = io.TextIOWrapper(f, encoding="utf-8", errors="replace").read()
        return out
    msg = f"{path}: not a folder, wheel or tarball"
    raise InputError(msg)


def _dist_version(files: dict[str, str], init_version: str | None = None) -> str:
    for name, text in files.items():
        if name.endswith((".dist-info/METADATA", "PKG-INFO")) and (m := _VERSION.search(text)):
            return m.group(1)
    if init_version is not None and (
        m := re.search(r"__version__\s*=\s*['\"]([^'\"]+)", init_version)
    ):
        return m.group(1)
    return "unknown"


def _str_pairs(node: ast.AST) -> Iterable[tuple[str, str]]:
    """``("key", "value")`` pairs of a list of tuples or a dict literal."""
    if isinstance(node, ast.List):
        for elt in node.elts:
            if (
                isinstance(elt, ast.Tuple)
                and len(elt.elts) == 2
                and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in elt.elts)
            ):
                yield elt.elts[0].value, elt.elts[1].value  # type: ignore[attr-defined]
    elif isinstance(node, ast.Dict):
        for k, v in zip(node.keys, node.values, strict=True):
            if isinstance(k, ast.Constant) and isinstance(k.value, str):
                yield k.value, ast.unparse(v)


def _model_mapping(source: str) -> dict[str, set[str]]:
    """Model type → the model classes auto classes map it to (all ``*_MAPPING_NAMES``)."""
    out: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Assign)
            and any(
                isinstance(t, ast.Name) and t.id.endswith("_MAPPING_NAMES") for t in node.targets
            )
            and isinstance(node.value, ast.Call)
            and node.value.args
        ):
            for k, v in _str_pairs(node.value.args[0]):
                out.setdefault(k, set()).add(v)
    return out


def _config_types(source: str) -> set[str]:
    """Keys given to ``CONFIG_MAPPING_NAMES`` (an ``OrderedDict([...])`` and ``.update({...})``)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Assign)
            and any(
                isinstance(t, ast.Name) and t.id == "CONFIG_MAPPING_NAMES" for t in node.targets
            )
            and isinstance(node.value, ast.Call)
            and node.value.args
        ):
            out.update(k for k, _ in _str_pairs(node.value.args[0]))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "update"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "CONFIG_MAPPING_NAMES"
            and node.args
        ):
            out.update(k for k, _ in _str_pairs(node.args[0]))
    return out


@dataclass(frozen=True)
class Transformers:
    version: str
    config_types: frozenset[str]
    """Keys of ``CONFIG_MAPPING_NAMES``: AutoConfig reads these without remote code."""
    mapped_types: frozenset[str]
    """Model types an auto model class maps to a model class (``*_MAPPING_NAMES``)."""
    classes: frozenset[str]
    class_types: dict[str, frozenset[str]] = field(hash=False)
    """Model class → the model types that map to it."""

    @classmethod
    def read(cls, path: Path) -> Transformers:
        def want(name: str) -> bool:
            p = PurePosixPath(name)
            return (
                name.endswith(".dist-info/METADATA")
                or name == "transformers/__init__.py"
                or name
                in (
                    "transformers/models/auto/configuration_auto.py",
                    "transformers/models/auto/auto_mappings.py",
                )
                or (
                    name.startswith("transformers/models/")
                    and p.name.startswith("modeling_")
                    and not p.name.startswith(("modeling_tf_", "modeling_flax_"))
                    and p.suffix == ".py"
                )
            )

        files = _read_files(path, want)
        auto = [
            v
            for k, v in files.items()
            if k.startswith("transformers/models/auto/") and "_auto" in k
        ]
        auto += [files.get("transformers/models/auto/auto_mappings.py", "")]
        types = set().union(*(_config_types(s) for s in auto if s))
        if not types:
            msg = f"{path}: no CONFIG_MAPPING_NAMES found; is this a transformers wheel?"
            raise InputError(msg)
        classes = {
            m
            for k, v in files.items()
            if k.startswith("transformers/models/") and "/auto/" not in k
            for m in _CLASS_DEF.findall(v)
        }
        mapping = _model_mapping(files.get("transformers/models/auto/modeling_auto.py", ""))
        inverse: dict[str, set[str]] = {}
        for model_type, names in mapping.items():
            for name in names:
                inverse.setdefault(name, set()).add(model_type)
        version = _dist_version(files, files.get("transformers/__init__.py"))
        class_types = {k: frozenset(v) for k, v in inverse.items()}
        return cls(version, frozenset(types), frozenset(mapping), frozenset(classes), class_types)

    def has(self, classes: Iterable[str], types: Iterable[str]) -> tuple[list[str], list[str]]:
        """The given classes this release defines, and the given model types it loads: known
        to AutoConfig and mapped to a model class by an auto model class."""
        found_types = [t for t in types if t in self.config_types and t in self.mapped_types]
        return [c for c in classes if c in self.classes], found_types

    def native(self, classes: list[str], types: list[str]) -> bool:
        """Loads without remote code. The auto classes pick the model class by ``model_type``
        (transformers maps some types to another class, e.g. ``exaone`` to
        ``LlamaForCausalLM``), so the types decide; a row without types needs its classes."""
        has_c, has_t = self.has(classes, types)
        return len(has_t) == len(types) if types else len(has_c) == len(classes)


@dataclass(frozen=True)
class Vllm:
    version: str
    registered: frozenset[str]
    backend_only: frozenset[str]
    """Served only through vLLM's Transformers backend (transformers' own model code)."""
    removed: dict[str, str] = field(hash=False)

    @classmethod
    def read(cls, path: Path) -> Vllm:
        reg = "vllm/model_executor/models/registry.py"
        files = _read_files(
            path,
            lambda n: (
                n in (reg, "vllm/_version.py", "vllm/version.py")
                or n.endswith(".dist-info/METADATA")
            ),
        )
        if reg not in files:
            msg = f"{path}: no {reg}; is this a vLLM wheel?"
            raise InputError(msg)
        tables: dict[str, dict[str, str]] = {}
        for node in ast.parse(files[reg]).body:
            if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Dict):
                target = node.targets[0] if isinstance(node, ast.Assign) else node.target
                if isinstance(target, ast.Name):
                    tables[target.id] = dict(_str_pairs(node.value))
        generic = tables.get("_TRANSFORMERS_BACKEND_MODELS", {})
        registered = {
            k
            for name, table in tables.items()
            if name.endswith("_MODELS")
            and name not in ("_PREVIOUSLY_SUPPORTED_MODELS", "_OOT_SUPPORTED_MODELS")
            for k in table
            if k not in generic
        }
        if not registered:
            msg = f"{path}: no model tables found in {reg}"
            raise InputError(msg)
        removed = {
            k: v.strip("'\"") for k, v in tables.get("_PREVIOUSLY_SUPPORTED_MODELS", {}).items()
        }
        version = _dist_version(
            files, files.get("vllm/_version.py") or files.get("vllm/version.py")
        )
        backend_only = frozenset(tables.get("_TRANSFORMERS_SUPPORTED_MODELS", {}))
        return cls(version, frozenset(registered), backend_only, removed)


@dataclass(frozen=True)
class LlamaCpp:
    version: str
    """The llama-cpp-python release whose vendored llama.cpp was read (or the folder's name)."""
    arch_names: frozenset[str]
    converts: dict[str, str] = field(hash=False)
    """HF class → the GGUF ``general.architecture`` the converter writes (text models only)."""

    @classmethod
    def read(cls, path: Path) -> LlamaCpp:
        def strip(name: str) -> str:
            # NOTE: the sdist of llama-cpp-python vendors llama.cpp under vendor/llama.cpp/.
            return name.removeprefix("vendor/llama.cpp/")

        def want(name: str) -> bool:
            n = strip(name)
            return (
                n
                in (
                    "src/llama-arch.cpp",
                    "convert_hf_to_gguf.py",
                    "gguf-py/gguf/constants.py",
                    "PKG-INFO",
                )
                or (n.startswith("conversion/") and n.endswith(".py"))
                or name == "llama_cpp/__init__.py"
            )

        raw = _read_files(path, want)
        files = {strip(k): v for k, v in raw.items()}
        for need in ("src/llama-arch.cpp", "convert_hf_to_gguf.py", "gguf-py/gguf/constants.py"):
            if need not in files:
                msg = f"{path}: no {need}; give llama.cpp's source or the llama-cpp-python sdist"
                raise InputError(msg)
        arch_names = frozenset(name for _, name in _ARCH_NAME.findall(files["src/llama-arch.cpp"]))
        gguf_names = _gguf_arch_names(files["gguf-py/gguf/constants.py"])
        converter = [
            v
            for k, v in files.items()
            if k == "convert_hf_to_gguf.py" or k.startswith("conversion/")
        ]
        converts = {
            hf: gguf_names.get(arch, f"?{arch}") for hf, arch in _registered(converter).items()
        }
        version = f"llama-cpp-python {_dist_version(files, files.get('llama_cpp/__init__.py'))}"
        if version.endswith("unknown"):
            version = f"folder {path.name}"
        return cls(version, arch_names, converts)


def _gguf_arch_names(source: str) -> dict[str, str]:
    """``MODEL_ARCH_NAMES``: enum member → name (``LLAMA`` → ``"llama"``)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name) and target.id == "MODEL_ARCH_NAMES":
                out: dict[str, str] = {}
                for k, v in zip(node.value.keys, node.value.values, strict=True):
                    if isinstance(k, ast.Attribute) and isinstance(v, ast.Constant):
                        out[k.attr] = str(v.value)
                return out
    msg = "gguf-py/gguf/constants.py: no MODEL_ARCH_NAMES"
    raise InputError(msg)


def _registered(sources: list[str]) -> dict[str, str]:
    """HF class → ``MODEL_ARCH`` member of the converter class registered for it (text only;
    ``model_arch`` is inherited through base classes, which may live in another module)."""
    bases: dict[str, list[str]] = {}
    arch: dict[str, str] = {}
    names: dict[str, list[str]] = {}
    for src in sources:
        for node in ast.walk(ast.parse(src)):
            if not isinstance(node, ast.ClassDef):
                continue
            bases[node.name] = [b.id for b in node.bases if isinstance(b, ast.Name)]
            for stmt in node.body:
                if (
                    isinstance(stmt, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "model_arch" for t in stmt.targets)
                    and isinstance(stmt.value, ast.Attribute)
                ):
                    arch[node.name] = stmt.value.attr
            for dec in node.decorator_list:
                if (
                    isinstance(dec, ast.Call)
                    and isinstance(dec.func, ast.Attribute)
                    and dec.func.attr == "register"
                ):
                    got = [
                        a.value
                        for a in dec.args
                        if isinstance(a, ast.Constant) and isinstance(a.value, str)
                    ]
                    names.setdefault(node.name, []).extend(got)

    def resolve(cls: str, depth: int = 0) -> str | None:
        if cls in arch:
            return arch[cls]
        for b in bases.get(cls, []) if depth < 20 else []:
            if (found := resolve(b, depth + 1)) is not None:
                return found
        return None

    out: dict[str, str] = {}
    for cls, hf_names in names.items():
        member = resolve(cls)
        if member is None or member == "MMPROJ":
            continue  # a vision/audio projector, not the language model
        for hf in hf_names:
            out.setdefault(hf, member)
    return out


# --- checking rows ---------------------------------------------------------------------------


@dataclass
class Check:
    row: str
    what: str
    claimed: str
    found: str
    verdict: str  # "agree", "DISAGREE", "unchecked"


@dataclass
class Runtimes:
    transformers: list[Transformers]
    vllm: Vllm | None
    llama_cpp: LlamaCpp | None

    @property
    def newest(self) -> Transformers | None:
        return self.transformers[0] if self.transformers else None


def _status_check(row: str, what: str, claimed: str, hits: int, of: int, found: str) -> Check:
    """``native`` needs every class of the row, ``none``/``remote-code`` needs none of them; a
    row that is half served is a disagreement (split it into two rows)."""
    ok = hits == of if claimed == "native" else hits == 0
    return Check(row, what, claimed, found, "agree" if ok else "DISAGREE")


def check_transformers(row: dict[str, object], rt: Runtimes) -> list[Check]:
    t = rt.newest
    rid = str(row["id"])
    if t is None:
        return [
            Check(rid, "transformers", _status(row, "transformers"), "no wheel given", "unchecked")
        ]
    classes = [str(c) for c in row["classes"]]  # type: ignore[attr-defined]
    types = [str(c) for c in row.get("model_types", [])]  # type: ignore[attr-defined]
    has_c, has_t = t.has(classes, types)
    claimed = _status(row, "transformers")
    found = f"model_types {len(has_t)}/{len(types)}, classes defined {len(has_c)}/{len(classes)}"
    missing = [x for x in (*classes, *types) if x not in (*has_c, *has_t)]
    if missing and (has_c or has_t):
        found += f" (missing {', '.join(missing)})"
    native = t.native(classes, types)
    absent = not has_c and not has_t
    out = [
        Check(rid, f"transformers {t.version}", claimed, found, "agree")
        if (native and claimed == "native") or (absent and claimed != "native")
        else Check(rid, f"transformers {t.version}", claimed, found, "DISAGREE")
    ]
    # A class transformers maps only from other model types belongs to another row.
    for c in has_c:
        owners = t.class_types.get(c, frozenset())
        if owners and types and not owners & set(types):
            got = f"mapped from {', '.join(sorted(owners))}, not this row's types"
            out.append(Check(rid, f"transformers {t.version} class {c}", "listed", got, "DISAGREE"))
    since = _since(row, "transformers")
    if since is not None:
        out.append(_check_since(rid, since, classes, types, rt.transformers))
    return out


def _check_since(
    rid: str, since: str, classes: list[str], types: list[str], wheels: list[Transformers]
) -> Check:
    at = next((w for w in wheels if w.version == since), None)
    what = f"transformers since {since}"
    if at is None:
        return Check(rid, what, since, f"no transformers {since} wheel given", "unchecked")
    if not at.native(classes, types):
        return Check(rid, what, since, f"absent from {since}", "DISAGREE")
    older = [w for w in wheels if _vkey(w.version) < _vkey(since)]
    if not older:
        return Check(rid, what, since, f"present in {since}; no older wheel given", "unchecked")
    prev = max(older, key=lambda w: _vkey(w.version))
    if prev.native(classes, types):
        return Check(rid, what, since, f"already in {prev.version}", "DISAGREE")
    return Check(rid, what, since, f"in {since}, not in {prev.version}", "agree")


def check_vllm(row: dict[str, object], rt: Runtimes) -> list[Check]:
    rid, claimed = str(row["id"]), _status(row, "vllm")
    v = rt.vllm
    if v is None:
        return [Check(rid, "vllm", claimed, "no wheel given", "unchecked")]
    classes = [str(c) for c in row["classes"]]  # type: ignore[attr-defined]
    hits = [c for c in classes if c in v.registered]
    removed = [f"{c} (last {v.removed[c]})" for c in classes if c in v.removed]
    backend = [c for c in hits if c in v.backend_only]
    found = f"registered: {', '.join(hits) or '-'}"
    if backend:
        found += f"; via Transformers backend: {', '.join(backend)}"
    if removed:
        found += f"; removed: {', '.join(removed)}"
    return [_status_check(rid, f"vllm {v.version}", claimed, len(hits), len(classes), found)]


def check_llama_cpp(row: dict[str, object], rt: Runtimes) -> list[Check]:
    rid, claimed = str(row["id"]), _status(row, "llama_cpp")
    lc = rt.llama_cpp
    if lc is None:
        return [Check(rid, "llama.cpp", claimed, "no source given", "unchecked")]
    classes = [str(c) for c in row["classes"]]  # type: ignore[attr-defined]
    written = {c: lc.converts[c] for c in classes if c in lc.converts}
    runnable = {c: a for c, a in written.items() if a in lc.arch_names}
    found = ", ".join(f"{c}->{a}" for c, a in written.items()) or "no converter"
    what = f"llama.cpp in {lc.version}"
    out = [_status_check(rid, what, claimed, len(runnable), len(classes), found)]
    for g in row.get("gguf_architectures", []):  # type: ignore[attr-defined]
        if g not in lc.arch_names:
            out.append(
                Check(rid, f"{what} gguf {g}", "listed", "not in llama-arch.cpp", "DISAGREE")
            )
        elif g not in written.values():
            out.append(
                Check(rid, f"{what} gguf {g}", "listed", f"converter writes {found}", "DISAGREE")
            )
        else:
            out.append(
                Check(rid, f"{what} gguf {g}", "listed", "in llama-arch.cpp and converter", "agree")
            )
    return out


def _status(row: dict[str, object], runtime: str) -> str:
    return str(row[runtime]["status"])  # type: ignore[index]


def _since(row: dict[str, object], runtime: str) -> str | None:
    value = row[runtime].get("since")  # type: ignore[attr-defined]
    return str(value) if value else None


def _vkey(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", version)[:3])


def verify(rows: list[dict[str, object]], rt: Runtimes) -> list[Check]:
    checks: list[Check] = []
    for row in rows:
        checks += check_transformers(row, rt) + check_vllm(row, rt) + check_llama_cpp(row, rt)
    return checks


def _table(checks: list[Check]) -> str:
    head = ("row", "check", "claimed", "found", "verdict")
    cells = [head, *((c.row, c.what, c.claimed, c.found, c.verdict) for c in checks)]
    widths = [min(60, max(len(r[i]) for r in cells)) for i in range(len(head))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument(
        "--transformers",
        type=Path,
        nargs="+",
        action="extend",
        default=[],
        help="wheels or folders",
    )
    ap.add_argument("--vllm", type=Path, help="vLLM wheel or source folder")
    ap.add_argument("--llama-cpp", type=Path, help="llama-cpp-python sdist or llama.cpp folder")
    ap.add_argument("--kb", type=Path, default=KB_FILE, help="architectures.json to check")
    ap.add_argument("--only", action="append", default=[], help="row id to check; repeat")
    ap.add_argument("--json", action="store_true", help="print the checks as JSON")
    args = ap.parse_args(argv)
    try:
        wheels = sorted(
            (Transformers.read(p) for p in args.transformers), key=lambda w: _vkey(w.version)
        )
        rt = Runtimes(
            transformers=wheels[::-1],
            vllm=Vllm.read(args.vllm) if args.vllm else None,
            llama_cpp=LlamaCpp.read(args.llama_cpp) if args.llama_cpp else None,
        )
        rows = json.loads(args.kb.read_text(encoding="utf-8"))["architectures"]
    except (InputError, OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.only:
        rows = [r for r in rows if r["id"] in args.only]
    checks = verify(rows, rt)
    if args.json:
        print(json.dumps([c.__dict__ for c in checks], indent=1))
    else:
        print(_table(checks))
    bad = [c for c in checks if c.verdict == "DISAGREE"]
    unchecked = [c for c in checks if c.verdict == "unchecked"]
    versions = ", ".join(
        [f"transformers {w.version}" for w in rt.transformers]
        + ([f"vllm {rt.vllm.version}"] if rt.vllm else [])
        + ([f"llama.cpp in {rt.llama_cpp.version}"] if rt.llama_cpp else [])
    )
    print(
        f"\n{len(rows)} rows, {len(checks)} checks: "
        f"{len(checks) - len(bad) - len(unchecked)} agree, "
        f"{len(bad)} disagree, {len(unchecked)} unchecked; read {versions}"
    )
    fully = sorted({c.row for c in checks} - {c.row for c in (*bad, *unchecked)})
    print(f"fully checked rows ({len(fully)}): {', '.join(fully)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

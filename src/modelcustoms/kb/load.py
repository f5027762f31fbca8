"""Load the knowledge base: raw JSON → validated rows → cross-checked indexes.

Loading happens in two steps so that a maintainer sees every problem at once: first each file
is parsed (a syntax error stops that file only), then every row is validated on its own, then
references between rows are checked. All errors go into one :class:`ExceptionGroup` whose
members say which file and which row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from modelcustoms.kb.schema import (
    Architecture,
    Family,
    License,
    PreTokenizer,
    Provider,
    Publisher,
)

FILES: Mapping[str, tuple[str, type[BaseModel]]] = {
    "publishers.json": ("publishers", Publisher),
    "families.json": ("families", Family),
    "licenses.json": ("licenses", License),
    "pretokenizers.json": ("pretokenizers", PreTokenizer),
    "providers.json": ("providers", Provider),
    "architectures.json": ("architectures", Architecture),
}
"""Each data file and the list key holding its rows."""

MAX_FILE_BYTES = 8 * 1024 * 1024

RowT = TypeVar("RowT", bound=BaseModel)


class KBError(ValueError):
    """One problem in a data file, with its location (``file: key[index] (id): message``)."""

    def __init__(self, file: str, where: str, message: str) -> None:
        super().__init__(f"{file}: {where}: {message}")
        self.file = file
        self.where = where


@dataclass(frozen=True)
class KnowledgeBase:
    """The validated rows and their indexes."""

    publishers: tuple[Publisher, ...]
    families: tuple[Family, ...]
    licenses: tuple[License, ...]
    pretokenizers: tuple[PreTokenizer, ...]
    providers: tuple[Provider, ...] = ()
    digests: Mapping[str, str] = field(default_factory=dict)
    """sha256 of each data file as loaded, so evidence can point into an exact KB version."""
    pointers: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """(file, row id) → JSON pointer of the row, for evidence."""
    architectures: tuple[Architecture, ...] = ()

    _by_ns: dict[str, Publisher] = field(init=False, repr=False, compare=False)
    _pub: dict[str, Publisher] = field(init=False, repr=False, compare=False)
    _fam: dict[str, Family] = field(init=False, repr=False, compare=False)
    _lic: dict[str, License] = field(init=False, repr=False, compare=False)
    _arch: dict[str, Architecture] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ns: dict[str, Publisher] = {}
        for p in self.publishers:
            for n in p.hf_namespaces:
                ns.setdefault(n.lower(), p)
        # NOTE: frozen dataclass; the indexes are derived once from the rows.
        object.__setattr__(self, "_by_ns", ns)
        object.__setattr__(self, "_pub", {p.id: p for p in self.publishers})
        object.__setattr__(self, "_fam", {f.id: f for f in self.families})
        object.__setattr__(self, "_lic", {lic.id: lic for lic in self.licenses})
        arch: dict[str, Architecture] = {}
        for a in self.architectures:
            for name in (*a.classes, *(f"type:{t}" for t in a.model_types)):
                arch.setdefault(name, a)
            for g in a.gguf_architectures:
                arch.setdefault(f"gguf:{g}", a)
        object.__setattr__(self, "_arch", arch)

    def publisher(self, pub_id: str) -> Publisher | None:
        """The publisher with this id."""
        return self._pub.get(pub_id)

    def family(self, fam_id: str) -> Family | None:
        """The family with this id."""
        return self._fam.get(fam_id)

    def license(self, lic_id: str) -> License | None:
        """The licence with this id."""
        return self._lic.get(lic_id)

    def architecture(
        self,
        class_name: str | None = None,
        *,
        model_type: str | None = None,
        gguf: str | None = None,
    ) -> Architecture | None:
        """The architecture row for a config class name, a ``model_type`` or a GGUF name."""
        for key in (class_name, model_type and f"type:{model_type}", gguf and f"gguf:{gguf}"):
            if key and (row := self._arch.get(key)) is not None:
                return row
        return None

    def publisher_of_namespace(self, namespace: str) -> Publisher | None:
        """The publisher owning a hub namespace (case-insensitive)."""
        return self._by_ns.get(namespace.lower())

    def families_of_pre(self, pre: str) -> tuple[Family, ...]:
        """Families whose tokenizer llama.cpp names ``pre``."""
        return tuple(f for f in self.families if pre in f.llamacpp_pre)

    def ancestors(self, fam_id: str) -> tuple[Family, ...]:
        """The families ``fam_id`` was built on, nearest first (cycles are refused at load)."""
        out: list[Family] = []
        cur = self.family(fam_id)
        while cur is not None and cur.base_family and len(out) < len(self.families):
            cur = self.family(cur.base_family)
            if cur is not None:
                out.append(cur)
        return tuple(out)


def load_kb(folder: Path | None = None) -> KnowledgeBase:
    """Load and validate the knowledge base in ``folder`` (default: the bundled data).

    Raises an :class:`ExceptionGroup` of :class:`KBError` listing every problem found.
    """
    errors: list[KBError] = []
    raw = _read_raw(folder, errors)
    rows: dict[str, list[Any]] = {}
    pointers: dict[tuple[str, str], str] = {}
    # Ids of rows (or whole files) already reported: references to them are not errors again.
    broken: set[str] = set()
    for fname, (key, model) in FILES.items():
        doc = raw.get(fname, {}).get("doc")
        if doc is None:
            broken.add(f"{key}:*")
        rows[key] = _validate_rows(fname, key, model, doc, errors, pointers, broken)
    kb = KnowledgeBase(
        publishers=tuple(rows["publishers"]),
        families=tuple(rows["families"]),
        licenses=tuple(rows["licenses"]),
        pretokenizers=tuple(rows["pretokenizers"]),
        providers=tuple(rows["providers"]),
        architectures=tuple(rows["architectures"]),
        digests={f: str(v["sha256"]) for f, v in raw.items()},
        pointers=pointers,
    )
    errors.extend(_cross_check(kb, broken))
    if errors:
        msg = f"knowledge base has {len(errors)} problem(s)"
        raise ExceptionGroup(msg, errors)
    return kb


@lru_cache(maxsize=1)
def default_kb() -> KnowledgeBase:
    """The bundled knowledge base, loaded once per process."""
    return load_kb()


def _read_raw(folder: Path | None, errors: list[KBError]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for fname in FILES:
        try:
            data = _read_bytes(folder, fname)
        except (OSError, ValueError) as exc:
            errors.append(KBError(fname, "file", f"cannot read: {exc}"))
            continue
        try:
            doc = json.loads(data)
        except ValueError as exc:
            errors.append(KBError(fname, "file", f"invalid JSON: {exc}"))
            continue
        out[fname] = {"doc": doc, "sha256": hashlib.sha256(data).hexdigest()}
    return out


def _read_bytes(folder: Path | None, fname: str) -> bytes:
    if folder is not None:
        path = folder / fname
        if path.stat().st_size > MAX_FILE_BYTES:
            msg = f"larger than {MAX_FILE_BYTES} bytes"
            raise ValueError(msg)
        return path.read_bytes()
    return resources.files("modelcustoms.kb").joinpath("data", fname).read_bytes()


def _validate_rows(
    fname: str,
    key: str,
    model: type[RowT],
    doc: Any,
    errors: list[KBError],
    pointers: dict[tuple[str, str], str],
    broken: set[str],
) -> list[RowT]:
    if doc is None:
        return []
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        errors.append(KBError(fname, "file", f"expected an object with a list {key!r}"))
        return []
    out: list[RowT] = []
    for i, item in enumerate(doc[key]):
        label = item.get("id") or item.get("chkhsh") if isinstance(item, dict) else None
        where = f"{key}[{i}]" + (f" ({label})" if label else "")
        try:
            row = model.model_validate(item)
        except ValidationError as exc:
            broken.add(f"{key}:{label}")
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                errors.append(KBError(fname, f"{where}.{loc}" if loc else where, err["msg"]))
            continue
        out.append(row)
        if label:
            pointers[(fname, str(label))] = f"/{key}/{i}"
    return out


def _cross_check(kb: KnowledgeBase, broken: set[str]) -> Iterable[KBError]:
    def missing(key: str, ref: str, found: object) -> bool:
        return found is None and f"{key}:*" not in broken and f"{key}:{ref}" not in broken

    yield from _duplicates("publishers.json", "publishers", [p.id for p in kb.publishers])
    yield from _duplicates("families.json", "families", [f.id for f in kb.families])
    yield from _duplicates("licenses.json", "licenses", [lic.id for lic in kb.licenses])
    seen: dict[str, str] = {}
    for p in kb.publishers:
        for n in p.hf_namespaces:
            other = seen.setdefault(n.lower(), p.id)
            if other != p.id:
                msg = f"namespace {n!r} also belongs to {other!r}"
                yield KBError("publishers.json", f"publishers ({p.id})", msg)
    for f in kb.families:
        where = f"families ({f.id})"
        if missing("publishers", f.publisher, kb.publisher(f.publisher)):
            yield KBError("families.json", where, f"unknown publisher {f.publisher!r}")
        bases = {f.base_family} | {r.base_family for r in f.releases}
        for base in sorted(b for b in bases if b):
            if missing("families", base, kb.family(base)):
                yield KBError("families.json", where, f"unknown base family {base!r}")
        for lic in f.licenses:
            if missing("licenses", lic, kb.license(lic)):
                yield KBError("families.json", where, f"unknown licence {lic!r}")
        if _cycle(kb, f.id):
            yield KBError("families.json", where, "base_family chain loops back to itself")
    for row in kb.licenses:
        for fam_id in row.families:
            if missing("families", fam_id, kb.family(fam_id)):
                msg = f"unknown family {fam_id!r}"
                yield KBError("licenses.json", f"licenses ({row.id})", msg)
    yield from _duplicates("providers.json", "providers", [p.id for p in kb.providers])
    yield from _duplicates("architectures.json", "architectures", [a.id for a in kb.architectures])
    owner: dict[str, str] = {}
    for a in kb.architectures:
        for name in a.classes:
            other = owner.setdefault(name, a.id)
            if other != a.id:
                msg = f"class {name!r} also belongs to {other!r}"
                yield KBError("architectures.json", f"architectures ({a.id})", msg)
    for prov in kb.providers:
        if prov.publisher and missing("publishers", prov.publisher, kb.publisher(prov.publisher)):
            msg = f"unknown publisher {prov.publisher!r}"
            yield KBError("providers.json", f"providers ({prov.id})", msg)
    for t in kb.pretokenizers:
        if t.family and missing("families", t.family, kb.family(t.family)):
            msg = f"unknown family {t.family!r}"
            yield KBError("pretokenizers.json", f"pretokenizers ({t.chkhsh[:12]})", msg)


def _duplicates(fname: str, key: str, ids: list[str]) -> Iterable[KBError]:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            yield KBError(fname, f"{key} ({i})", "duplicate id")
        seen.add(i)


def _cycle(kb: KnowledgeBase, fam_id: str) -> bool:
    seen = {fam_id}
    cur = kb.family(fam_id)
    while cur is not None and cur.base_family:
        if cur.base_family in seen:
            return True
        seen.add(cur.base_family)
        cur = kb.family(cur.base_family)
    return False

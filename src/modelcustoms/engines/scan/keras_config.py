"""Keras model configs: the rules and the judgement of one decoded config.

Keras rebuilds a model from its JSON config by importing the ``module`` and looking up the
``class_name`` each object names. :func:`check_config` walks one decoded config (explicit stack,
bounded) for Lambda bytecode, dangerous module references and Keras' own file/network gadgets.
Shared by the Keras analyzer and the SavedModel analyzer (whose Keras metadata holds the same
JSON); :func:`config_rules` declares the rules under each analyzer's prefix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from modelcustoms.core import Rule, Severity
from modelcustoms.engines.scan.base import Result, ScanContext

_REF_LAMBDA = "https://nvd.nist.gov/vuln/detail/CVE-2024-3660"
_REF_H5 = "https://nvd.nist.gov/vuln/detail/CVE-2025-9905"


def config_rules(prefix: str) -> tuple[Rule, ...]:
    """The Keras config rules with ids ``<prefix><name>``; another analyzer reusing
    :func:`check_config` declares them under its own prefix (rule ids are unique per analyzer).
    """
    return (
        Rule(
            id=f"{prefix}lambda",
            title="Lambda layer or lambda object with Python code",
            severity=Severity.CRITICAL,
            help="The config carries a Lambda whose function is marshalled Python bytecode (or "
            "a callable it names). Keras runs it when the model is loaded or called; legacy HDF5 "
            "loading ignores safe_mode (CVE-2025-9905) and older Keras bypassed it "
            "(CVE-2024-3660). Do not load the model.",
            references=(_REF_LAMBDA, _REF_H5),
        ),
        Rule(
            id=f"{prefix}safe-mode-bypass",
            title="Config calls a Keras function that disables safe_mode",
            severity=Severity.CRITICAL,
            help="The config names keras.config.enable_unsafe_deserialization, the global-state "
            "setter, or load_model: loading switches safe_mode off or loads another model "
            "unsafely (CVE-2025-9906), then runs code.",
            references=("https://nvd.nist.gov/vuln/detail/CVE-2025-9906",),
        ),
        Rule(
            id=f"{prefix}file-access",
            title="Config makes Keras read files or fetch URLs on load",
            severity=Severity.HIGH,
            help="The config names keras.utils.get_file (downloads and writes files, "
            "CVE-2025-8747), a lookup layer whose vocabulary is a file path or URL (local file "
            "read or SSRF, CVE-2025-12058), TFSMLayer (loads and later runs an external "
            "SavedModel graph), or a TFOpLambda calling tf.io/tf.data/py_function.",
            references=(
                "https://nvd.nist.gov/vuln/detail/CVE-2025-8747",
                "https://nvd.nist.gov/vuln/detail/CVE-2025-12058",
                "https://github.com/keras-team/keras/pull/22035",
            ),
        ),
        Rule(
            id=f"{prefix}untrusted-module",
            title="Config imports a module outside Keras",
            severity=Severity.HIGH,
            help="An object in the config names a module outside the Keras namespaces. Keras "
            "before 3.9 imports it and calls what it names even in safe_mode (CVE-2025-1550); a "
            "module such as os or subprocess means the file is built to run commands (critical).",
            references=("https://nvd.nist.gov/vuln/detail/CVE-2025-1550",),
        ),
        Rule(
            id=f"{prefix}custom-object",
            title="Model needs custom Python objects",
            severity=Severity.MEDIUM,
            help="The config names registered custom classes or functions. Loading needs their "
            "code (custom_objects or an imported package); review that code, it is not in the "
            "file.",
        ),
        Rule(
            id=f"{prefix}malformed",
            title="Keras model could not be verified",
            severity=Severity.MEDIUM,
            help="The archive or config could not be read completely; what could not be read "
            "was not verified.",
        ),
    )


MAX_CONFIG_NODES = 2_000_000
MAX_CONFIG_DEPTH = 500
MAX_CONFIG_FINDINGS = 50

_KERAS_ROOTS = ("keras", "keras_hub", "keras_nlp", "keras_cv", "tf_keras", "tensorflow.keras")
_TYPESPEC_ROOTS = ("tensorflow.python.framework", "tensorflow.python.ops")
_DANGEROUS_ROOTS = frozenset(
    {
        *("os", "posix", "nt", "subprocess", "_posixsubprocess", "sys", "importlib", "runpy"),
        *("shutil", "socket", "pickle", "_pickle", "marshal", "dill", "cloudpickle", "ctypes"),
        *("pty", "code", "codeop", "webbrowser", "http", "urllib", "urllib3", "requests", "io"),
        *("_io", "pathlib", "tempfile", "multiprocessing", "asyncio", "signal"),
    }
)
_DANGEROUS_BUILTINS = frozenset(
    {
        *("eval", "exec", "compile", "open", "__import__", "getattr", "setattr", "delattr"),
        *("globals", "locals", "vars", "input", "breakpoint", "exit", "quit"),
    }
)
_BYPASS_NAMES = frozenset(
    {"enable_unsafe_deserialization", "set_global_attribute", "load_model", "SafeModeScope"}
)
_FILE_NAMES = frozenset({"get_file", "TFSMLayer", "GFile", "read_file", "write_file"})
# tf.keras TFOpLambda layers call tf.<function>; these namespaces touch files, the network or
# call back into Python.
_TF_OP_LAMBDAS = frozenset({"TFOpLambda", "SlicingOpLambda"})
_TF_IO_PREFIXES = (
    *("io.", "compat.v1.io.", "compat.v1.gfile.", "data.", "compat.v1.data.", "saved_model."),
    *("summary.", "compat.v1.summary.", "py_function", "numpy_function", "compat.v1.py_func"),
    *("keras.", "compat.v1.keras.", "debugging.experimental.", "experimental.", "print"),
)
_VOCAB_LAYERS = frozenset({"StringLookup", "IntegerLookup", "TextVectorization", "IndexLookup"})


def load_json(data: bytes) -> object:
    """Parse a config; ValueError (also for nesting too deep for the parser) when it is not JSON."""
    try:
        return json.loads(data)
    except RecursionError as exc:
        msg = "nested too deeply to parse"
        raise ValueError(msg) from exc


def check_config(
    ctx: ScanContext,
    config: object,
    *,
    source: str,
    legacy: bool,
    offset: int | None = None,
    prefix: str = "keras.",
) -> Iterator[Result]:
    """Findings about one decoded Keras config (``legacy``: loaded without safe_mode).

    Rule ids are ``prefix`` + the names of :func:`config_rules`.
    """
    found = 0
    seen = 0
    stack: list[tuple[object, str, int]] = [(config, "", 0)]
    while stack:
        node, ptr, depth = stack.pop()
        seen += 1
        if seen > MAX_CONFIG_NODES or depth > MAX_CONFIG_DEPTH:
            yield ctx.finding(
                f"{prefix}malformed",
                f"{source}: config is larger or deeper than the analysis limits; the rest was "
                "not verified",
                pointer=f"{source}#{ptr or '/'}",
            )
            return
        if isinstance(node, dict):
            for rule, severity, message, excerpt in _judge(node, legacy):
                found += 1
                if found > MAX_CONFIG_FINDINGS:
                    continue
                yield ctx.finding(
                    prefix + rule,
                    f"{source}: {message}",
                    pointer=f"{source}#{ptr or '/'}",
                    offset=offset,
                    excerpt=excerpt,
                    severity=severity,
                )
            children = [(f"{ptr}/{_escape(str(k))}", v) for k, v in node.items()]
        elif isinstance(node, list):
            children = [(f"{ptr}/{i}", v) for i, v in enumerate(node)]
        else:
            children = []
        for child_ptr, value in reversed(children):
            if isinstance(value, dict | list):
                stack.append((value, child_ptr, depth + 1))
            elif isinstance(value, str) and value.rsplit(".", 1)[-1] in _BYPASS_NAMES - {
                "load_model"
            }:
                found += 1
                yield ctx.finding(
                    f"{prefix}safe-mode-bypass",
                    f"{source}: the config names {value!r}",
                    pointer=f"{source}#{child_ptr}",
                    offset=offset,
                    excerpt=value,
                )


_Verdict = tuple[str, Severity | None, str, str | None]


def _judge(obj: dict[str, object], legacy: bool) -> list[_Verdict]:
    """What is wrong with one serialized object (a dict with ``class_name``)."""
    cls = obj.get("class_name")
    if not isinstance(cls, str):
        return []
    inner = obj.get("config")
    module = obj.get("module")
    registered = obj.get("registered_name")
    out: list[_Verdict] = []
    if cls == "__lambda__":
        code = inner.get("value") if isinstance(inner, dict) else inner
        out.append(("lambda", None, "lambda object with marshalled bytecode", _short(code)))
    elif cls == "Lambda" and isinstance(inner, dict):
        out.extend(_judge_lambda(inner, legacy))
    name = inner if cls == "function" and isinstance(inner, str) else cls
    leaf = name.rsplit(".", 1)[-1]
    if leaf in _BYPASS_NAMES:
        out.append(("safe-mode-bypass", None, f"the config calls {name!r}", name))
    elif leaf in _FILE_NAMES:
        out.append(("file-access", None, f"the config uses {name!r}", name))
    vocab = inner.get("vocabulary") if isinstance(inner, dict) else None
    if cls in _VOCAB_LAYERS and isinstance(vocab, str):
        out.append(("file-access", None, f"{cls} reads its vocabulary from {vocab!r}", vocab))
    tf_fn = inner.get("function") if isinstance(inner, dict) else None
    if cls in _TF_OP_LAMBDAS and isinstance(tf_fn, str) and tf_fn.startswith(_TF_IO_PREFIXES):
        out.append(("file-access", None, f"{cls} calls tf.{tf_fn}", tf_fn))
    out.extend(_judge_module(cls, name, module, registered))
    return out


def _judge_lambda(inner: dict[str, object], legacy: bool) -> list[_Verdict]:
    fn = inner.get("function")
    ftype = inner.get("function_type")
    where = "legacy HDF5/SavedModel config, where safe_mode is ignored" if legacy else "config"
    if isinstance(fn, dict):
        # v3: a nested __lambda__ (reported when walked) or a reference to a named function.
        if fn.get("class_name") == "function":
            return [
                (
                    "lambda",
                    Severity.HIGH,
                    f"Lambda layer calls the named function {fn.get('config')!r} of module "
                    f"{fn.get('module')!r} ({where})",
                    _short(fn),
                )
            ]
        return []
    if ftype == "function":
        module = inner.get("module")
        severity = Severity.HIGH
        if (isinstance(module, str) and _dangerous_module(module)) or fn in _DANGEROUS_BUILTINS:
            severity = Severity.CRITICAL
        return [
            (
                "lambda",
                severity,
                f"Lambda layer calls {fn!r} looked up in module {module!r} ({where})",
                _short(fn),
            )
        ]
    if fn is None:
        return []
    return [("lambda", None, f"Lambda layer with marshalled bytecode ({where})", _short(fn))]


def _judge_module(cls: str, name: str, module: object, registered: object) -> list[_Verdict]:
    custom = isinstance(registered, str) and ">" in registered
    if not isinstance(module, str) or not module:
        if custom or ">" in cls:
            label = registered if custom else cls
            return [("custom-object", None, f"custom object {label!r}", str(label))]
        return []
    if module == "builtins":
        if cls == "function" and name in _DANGEROUS_BUILTINS:
            return [
                (
                    "untrusted-module",
                    Severity.CRITICAL,
                    f"the config calls builtins.{name}",
                    f"builtins.{name}",
                )
            ]
        return []
    if _dangerous_module(module):
        return [
            (
                "untrusted-module",
                Severity.CRITICAL,
                f"the config imports {name!r} from module {module!r}",
                f"{module}.{name}",
            )
        ]
    if _under(module, _KERAS_ROOTS) or (cls == "__typespec__" and _under(module, _TYPESPEC_ROOTS)):
        return []
    if custom:
        return [
            (
                "custom-object",
                None,
                f"custom object {registered!r} from module {module!r}",
                f"{module}.{name}",
            )
        ]
    return [
        (
            "untrusted-module",
            None,
            f"the config imports {name!r} from non-Keras module {module!r}",
            f"{module}.{name}",
        )
    ]


def _dangerous_module(module: str) -> bool:
    return module.split(".", 1)[0] in _DANGEROUS_ROOTS


def _under(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == r or module.startswith(r + ".") for r in roots)


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)[:300]
    return text[:200]


def _escape(key: str) -> str:
    """A JSON-pointer reference token."""
    return key.replace("~", "~0").replace("/", "~1")

"""Static analysis of the Python files a model repository ships (``trust_remote_code``).

Hugging Face repositories may carry ``modeling_*.py``, ``configuration_*.py`` and
``tokenization_*.py`` files that ``from_pretrained(..., trust_remote_code=True)`` imports, so
they run with the user's rights the moment the model is loaded. This analyzer parses them with
:mod:`ast` (it never imports, compiles or runs them), resolves what each name really refers to
through import aliases, assignments, ``__import__``/``getattr`` with foldable strings,
``sys.modules``/``__builtins__`` subscripts and star imports, and reports process spawning,
dynamic code, network and file access, unsafe deserialisation, encoded payloads, credential
access and native libraries.

Strings handed to ``exec``/``eval`` are folded (concatenation, ``join``, reversal, base64, hex,
zlib, bz2, lzma, all bounded) and the result is analysed in turn, so ``exec(b64decode("..."))``
reports what the hidden code does. Resolution is flow-insensitive on purpose: a name that is
*ever* bound to ``os.system`` counts as ``os.system`` everywhere, which an attacker cannot
dodge by reordering code.
"""

from __future__ import annotations

import ast
import base64
import bz2
import importlib.util
import lzma
import math
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from modelcustoms.core import Format, Rule, Severity
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext

MAX_SOURCE_BYTES = 10 * 1024 * 1024
"""Larger Python files are not parsed (real modeling files are well under 1 MB)."""
MAX_FINDINGS = 300
"""Most findings reported for one file; the rest are counted in a skip."""
MAX_IMPORTS_FACT = 200
MAX_EXPR_DEPTH = 40
"""Deepest expression the resolver and folder follow (they recurse; the walk does not)."""
MAX_FOLDED = 4 * 1024 * 1024
"""Largest string the folder builds or a decoder produces."""
MAX_EXEC_NESTING = 3
"""How many layers of exec'd, decoded code are analysed."""
ENCODED_MIN = 512
"""Shortest constant reported as an encoded blob."""

_REFS = (
    "https://huggingface.co/docs/transformers/custom_models",
    "https://jfrog.com/blog/data-scientists-targeted-by-malicious-hugging-face-ml-models-with-silent-backdoor/",
)
_C, _H, _M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM
# NOTE: the catalog pattern (core/catalog.py) allows no hyphen in the first segment, so the
# area is spelled ``remotecode`` rather than ``remote-code``.
AREA = "remotecode"
PROCESS, DYNAMIC, NETWORK = f"{AREA}.process", f"{AREA}.dynamic-code", f"{AREA}.network"
FILE_WRITE, DESERIAL = f"{AREA}.file-write", f"{AREA}.unsafe-deserialization"
ENCODED, CREDS = f"{AREA}.encoded-payload", f"{AREA}.credential-access"
NATIVE, UNPARSABLE = f"{AREA}.native-library", f"{AREA}.unparsable"

RULES: tuple[Rule, ...] = (
    Rule(
        id=PROCESS,
        title="Remote code spawns a process",
        severity=_C,
        help="The repository's Python code starts a process or a shell (os.system, subprocess, "
        "pty.spawn, ...). It runs on from_pretrained(..., trust_remote_code=True). Do not load it.",
        references=_REFS,
    ),
    Rule(
        id=DYNAMIC,
        title="Remote code runs dynamically built code",
        severity=_H,
        help="exec/eval/compile, imports of computed module names, computed attribute lookups on "
        "sensitive modules, import hooks or tampering with builtins hide what the code does. "
        "Critical when the executed text is decoded from an embedded blob.",
        references=_REFS,
    ),
    Rule(
        id=NETWORK,
        title="Remote code uses the network or fetches other code",
        severity=_H,
        help="The code opens sockets or HTTP connections, or fetches and runs code from another "
        "repository (torch.hub.load, hf_hub_download of .py files, nested trust_remote_code), "
        "which this scan did not see.",
        references=(*_REFS, "https://github.com/advisories/GHSA-8fr4-5q9j-m8gm"),
    ),
    Rule(
        id=FILE_WRITE,
        title="Remote code deletes files, changes permissions or touches persistence paths",
        severity=_H,
        help="The code deletes files, changes permissions, or names shell start-up files, SSH "
        "authorized_keys, crontabs or Python start-up hooks: ways to persist on the machine.",
        references=_REFS,
    ),
    Rule(
        id=DESERIAL,
        title="Remote code deserialises data unsafely",
        severity=_H,
        help="pickle/marshal/dill/joblib loads, torch.load without weights_only=True, "
        "numpy.load(allow_pickle=True) or yaml.load without a safe loader run code embedded in "
        "the data they read.",
        references=(
            *_REFS,
            "https://nvd.nist.gov/vuln/detail/CVE-2023-7018",
            "https://nvd.nist.gov/vuln/detail/CVE-2023-6730",
        ),
    ),
    Rule(
        id=ENCODED,
        title="Remote code embeds an encoded blob",
        severity=_H,
        help="A long base64, hex or binary constant hides content from review. Critical when it "
        "is decoded and executed or unmarshalled.",
        references=_REFS,
    ),
    Rule(
        id=CREDS,
        title="Remote code reads credentials",
        severity=_H,
        help="The code reads secret-looking environment variables (tokens, keys, AWS_*), dumps "
        "the whole environment, or names credential files (~/.aws, ~/.netrc, SSH keys).",
        references=_REFS,
    ),
    Rule(
        id=NATIVE,
        title="Remote code loads native code",
        severity=_H,
        help="ctypes, cffi or torch extension loaders run native code this scan cannot see.",
        references=_REFS,
    ),
    Rule(
        id=UNPARSABLE,
        title="Python file could not be analysed",
        severity=_M,
        help="The file is not valid Python for this scanner (syntax error, newer syntax, nesting "
        "too deep, too large), so it is NOT verified. High when its text names dangerous calls.",
    ),
)


# -- what names mean --------------------------------------------------------------------------
# Any *reference* to these (called, passed or aliased) is reported.
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_REF_TABLE: tuple[tuple[str, Severity, str], ...] = (
    (
        PROCESS,
        _C,
        "os.system os.popen os.posix_spawn os.posix_spawnp pty.spawn platform.popen "
        "subprocess.Popen subprocess.run subprocess.call subprocess.check_call "
        "subprocess.check_output subprocess.getoutput subprocess.getstatusoutput "
        "asyncio.create_subprocess_exec asyncio.create_subprocess_shell commands.getoutput "
        "_posixsubprocess.fork_exec multiprocessing.popen_fork.Popen",
    ),
    (PROCESS, _H, "os.fork os.forkpty os.startfile os.kill os.killpg webbrowser.open"),
    (
        DYNAMIC,
        _H,
        "builtins.exec builtins.eval types.CodeType types.FunctionType code.interact "
        "code.InteractiveInterpreter runpy.run_path runpy.run_module sys.meta_path.append "
        "sys.meta_path.insert sys.path_hooks.append sys.path_hooks.insert sys.settrace "
        "sys.setprofile",
    ),
    (
        NETWORK,
        _H,
        "socket.socket socket.create_connection socket.create_server "
        "socket.socketpair socket.fromfd socket.getaddrinfo socket.gethostbyname "
        "urllib.request.urlopen urllib.request.urlretrieve urllib.request.Request "
        "urllib.request.build_opener urllib.urlopen urllib.urlretrieve urllib2.urlopen "
        "http.client.HTTPConnection http.client.HTTPSConnection aiohttp.ClientSession "
        "aiohttp.request ftplib.FTP ftplib.FTP_TLS smtplib.SMTP smtplib.SMTP_SSL telnetlib.Telnet "
        "paramiko.SSHClient pycurl.Curl websocket.create_connection websockets.connect "
        "xmlrpc.client.ServerProxy wget.download torch.hub.load torch.hub.load_state_dict_from_url "
        "torch.hub.download_url_to_file "
        "transformers.dynamic_module_utils.get_class_from_dynamic_module "
        "transformers.dynamic_module_utils.get_cached_module_file",
    ),
    (
        FILE_WRITE,
        _H,
        "os.remove os.unlink os.rmdir os.removedirs os.chmod os.lchmod os.fchmod "
        "os.chown os.lchown os.fchown shutil.rmtree shutil.chown",
    ),
    (
        DESERIAL,
        _H,
        "pickle.load pickle.loads pickle.Unpickler _pickle.load _pickle.loads "
        "_pickle.Unpickler cPickle.load cPickle.loads dill.load dill.loads cloudpickle.load "
        "cloudpickle.loads marshal.load marshal.loads joblib.load shelve.open pandas.read_pickle "
        "jsonpickle.decode yaml.unsafe_load yaml.unsafe_load_all",
    ),
    (
        CREDS,
        _H,
        "huggingface_hub.get_token huggingface_hub.HfFolder.get_token "
        "keyring.get_password os.environ.copy os.environ.items os.environ.values",
    ),
    (
        NATIVE,
        _H,
        "ctypes.CDLL ctypes.PyDLL ctypes.WinDLL ctypes.OleDLL ctypes.cdll ctypes.pydll "
        "ctypes.windll ctypes.oledll ctypes.pythonapi ctypes.LibraryLoader ctypes.memmove "
        "ctypes.string_at _ctypes.dlopen cffi.FFI torch.ops.load_library "
        "torch.classes.load_library torch.utils.cpp_extension.load "
        "torch.utils.cpp_extension.load_inline",
    ),
)
_REF_EXACT = {name: (rule, sev) for rule, sev, names in _REF_TABLE for name in names.split()}
"""Any *reference* to these names (called, passed or aliased) is reported."""
_REF_PREFIX: tuple[tuple[str, str, Severity], ...] = (
    ("os.exec", PROCESS, _C),
    ("os.spawn", PROCESS, _C),
    ("requests.", NETWORK, _H),
    ("httpx.", NETWORK, _H),
)
_FETCHERS = _words(
    "requests.get requests.head httpx.get httpx.head urllib.request.urlopen "
    "urllib.request.urlretrieve urllib.request.Request"
)
"""Downloads that are only medium when the URL is not fixed in the code."""
_HTTP_INERT = _words(
    "exceptions codes status_codes utils structures compat __version__ HTTPError "
    "RequestException Timeout ConnectionError Response HTTPStatusError"
)
"""Attributes of requests/httpx that are data, not I/O."""
_BUILTINS_ALWAYS = _words("exec eval __import__ getattr setattr globals vars")
"""Builtins resolved even where the name is bound somewhere: a parameter named ``eval`` in one
function must not blind the scan to ``eval`` everywhere else."""
_BUILTINS_SHADOWABLE = _words("compile open dict str repr list bytes chr print")
"""Builtins resolved only when the file never binds the name (``compile`` is a common param)."""
_DECODERS = _words(
    "base64.b64decode base64.standard_b64decode base64.urlsafe_b64decode base64.b32decode "
    "base64.b16decode base64.b85decode base64.a85decode base64.decodebytes binascii.a2b_base64 "
    "binascii.unhexlify binascii.a2b_hex builtins.bytes.fromhex zlib.decompress bz2.decompress "
    "lzma.decompress gzip.decompress codecs.decode"
)
_UNMARSHAL = _words("marshal.loads pickle.loads _pickle.loads dill.loads")
_SENSITIVE_MODULES = _words(
    "os posix nt subprocess builtins sys pty importlib pickle marshal socket ctypes shutil runpy "
    "code types codecs io"
)
_SAFE_YAML_LOADERS = _words(
    "yaml.SafeLoader yaml.CSafeLoader yaml.BaseLoader yaml.CBaseLoader yaml.loader.SafeLoader"
)
_HF_DOWNLOAD = _words(
    "huggingface_hub.hf_hub_download huggingface_hub.file_download.hf_hub_download "
    "transformers.utils.hub.cached_file transformers.utils.cached_file"
)
_CRED_SEGMENTS = _words("TOKEN SECRET PASSWORD PASSWD APIKEY KEY CREDENTIAL CREDENTIALS PRIVATE")
_CRED_PREFIXES = ("AWS_", "AZURE_", "GCP_", "GOOGLE_APPLICATION_CREDENTIALS")
_CRED_PATH = re.compile(
    r"(?:^|[/\\~])\.(?:aws|netrc|git-credentials|pypirc|npmrc|docker[/\\]config\.json|"
    r"kube[/\\]config|gnupg)(?:$|[/\\])|\.ssh[/\\]id_|(?:^|[/\\~])\.ssh$|huggingface[/\\]token|"
    r"/etc/shadow|Login Data|\.config[/\\]gcloud"
)
_PERSIST_PATH = re.compile(
    r"(?:^|[/\\~])\.(?:bashrc|bash_profile|bash_login|profile|zshrc|zprofile|zshenv)$|"
    r"authorized_keys|/etc/cron|crontab|/var/spool/cron|/etc/rc\.local|/etc/profile|"
    r"ld\.so\.preload|sitecustomize\.py|usercustomize\.py|\.config[/\\]autostart|"
    r"/etc/systemd|/etc/sudoers"
)
_B64 = re.compile(r"[A-Za-z0-9+/=_-]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_WS = re.compile(r"\s+")
_SUSPICIOUS_TEXT = re.compile(
    r"\b(?:os\.system|os\.popen|subprocess|pty\.spawn|socket\.socket|__import__|exec\s*\(|"
    r"eval\s*\(|marshal\.loads|pickle\.loads?|b64decode|ctypes|urlopen|requests\.(?:get|post))"
)
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


class _Module:
    """Name resolution and checks over one parsed module (or one exec'd payload)."""

    def __init__(self, tree: ast.Module, lines: list[str], nesting: int = 0) -> None:
        self.tree = tree
        self.lines = lines
        self.nesting = nesting
        self.aliases: dict[str, set[str]] = {}
        self.consts: dict[str, ast.expr] = {}
        self.star: set[str] = set()
        self.local: set[str] = set()
        self.imports: set[str] = set()
        self.hits: dict[tuple[str, int, str], Hit] = {}
        self.docstrings: set[int] = set()
        self.calls: dict[int, ast.Call] = {}
        """Calls by the id of their ``func`` node, to judge a reference with its arguments."""
        self.outer_line: int | None = None
        self._folded: dict[str, str | bytes | None] = {}
        self._collect()

    # -- pass 1: bindings ---------------------------------------------------------------------

    def _collect(self) -> None:
        assigns: list[tuple[str, ast.expr]] = []
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
        self._docstring(self.tree)
        for name, value in assigns:
            if isinstance(value, ast.Constant | ast.BinOp | ast.JoinedStr | ast.Call):
                self.consts[name] = value
        # A few rounds let chains like ``a = os; b = a.system`` settle.
        for _ in range(3):
            for name, value in assigns:
                self.aliases.setdefault(name, set()).update(self.resolve(value))

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
            elif node.id in _BUILTINS_ALWAYS or (
                node.id in _BUILTINS_SHADOWABLE and node.id not in self.local
            ):
                out.add(f"builtins.{node.id}")
            if not out and node.id not in self.local:
                out.update(f"{m}.{node.id}" for m in self.star)
        elif isinstance(node, ast.Attribute):
            out.update(f"{b}.{node.attr}" for b in self.resolve(node.value, depth + 1))
        elif isinstance(node, ast.Call):
            out.update(self._resolve_call(node, depth))
        elif isinstance(node, ast.Subscript):
            key = self.fold_str(node.slice, depth + 1)
            if key is not None:
                for base in self.resolve(node.value, depth + 1):
                    if base == "sys.modules":
                        out.add(key)
                    elif base in ("builtins", "builtins.__dict__", "builtins.builtins.__dict__"):
                        out.add(f"builtins.{key}")
                    elif base in ("builtins.globals", "builtins.vars") and key == "__builtins__":
                        out.add("builtins")
        return {_canonical(q) for q in list(out)[:32]}

    def _resolve_call(self, node: ast.Call, depth: int) -> set[str]:
        funcs = self.resolve(node.func, depth + 1)
        out: set[str] = set()
        if not node.args:
            if funcs & {"builtins.globals", "builtins.vars"}:
                out.add(next(iter(funcs & {"builtins.globals", "builtins.vars"})))
            return out
        if funcs & {"builtins.__import__", "importlib.__import__"}:
            name = self.fold_str(node.args[0], depth + 1)
            if name:
                out.add(name.split(".", 1)[0])
        if "importlib.import_module" in funcs:
            name = self.fold_str(node.args[0], depth + 1)
            if name:
                out.add(name)
        if "builtins.getattr" in funcs and len(node.args) >= 2:
            attr = self.fold_str(node.args[1], depth + 1)
            if attr:
                out.update(f"{b}.{attr}" for b in self.resolve(node.args[0], depth + 1))
        if "builtins.vars" in funcs:
            out.update(f"{b}.__dict__" for b in self.resolve(node.args[0], depth + 1))
        return out

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
            if func.attr == "join" and node.args and isinstance(node.args[0], ast.List | ast.Tuple):
                items = [self.fold_str(e, depth + 1) for e in node.args[0].elts[:10_000]]
                strs = [i for i in items if i is not None]
                if isinstance(base, str) and len(strs) == len(items):
                    joined = base.join(strs)
                    return joined if len(joined) <= MAX_FOLDED else None
            return None
        names = self.resolve(func, depth + 1)
        if "builtins.chr" in names and node.args and isinstance(node.args[0], ast.Constant):
            code = node.args[0].value
            return chr(code) if isinstance(code, int) and 0 <= code < 0x110000 else None
        decoder = next(iter(names & _DECODERS), None)
        if decoder is None or not node.args:
            return None
        data = self.fold(node.args[0], depth + 1)
        if data is None:
            return None
        extra = self.fold_str(node.args[1], depth + 1) if len(node.args) > 1 else None
        out = _decode(decoder, data, extra)
        return out if out is None or len(out) <= MAX_FOLDED else None

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
            found = _classify(q)
            if found is None:
                continue
            rule, sev = found
            call = self.calls.get(id(node))
            if q in ("builtins.exec", "builtins.eval") and (
                call is not None or (isinstance(node, ast.Name) and node.id in self.local)
            ):
                # Calls are judged with their arguments in _check_call; a bare ``eval`` that
                # the file binds (``def forward(self, x, eval=False)``) is a flag, not a builtin.
                continue
            if q in _FETCHERS and call is not None and not self._constant_url(call):
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
            elif f in ("builtins.__import__", "importlib.import_module", "importlib.__import__"):
                name = self.fold_str(arg0) if arg0 is not None else None
                if name is not None:
                    self.imports.add(name)
                elif arg0 is not None:
                    sev = _M if _literal_prefix(arg0).startswith((".", "transformers.")) else _H
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
            elif f in _HF_DOWNLOAD:
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
        for f in funcs & _UNMARSHAL:
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

    def _analyse_payload(self, node: ast.Call, source: str | bytes) -> None:
        try:
            inner = _Module.from_source(source, self.nesting + 1)
        except UnparsableError:
            return
        inner.aliases = {k: set(v) for k, v in self.aliases.items()} | inner.aliases
        inner.outer_line = self.outer_line or node.lineno
        for hit in inner.run():
            key = (hit.rule, hit.line, hit.what)
            if key not in self.hits or self.hits[key].severity < hit.severity:
                self.hits[key] = hit
        self.imports |= inner.imports

    def _check_getattr(self, node: ast.Call, f: str) -> None:
        bases = self.resolve(node.args[0])
        if f == "builtins.setattr" and "builtins" in bases:
            self._hit(DYNAMIC, _H, node, f, "modifies builtins with setattr")
        elif self.fold_str(node.args[1]) is None:
            hot = sorted(b for b in bases if b.split(".", 1)[0] in _SENSITIVE_MODULES)
            if hot:
                self._hit(DYNAMIC, _H, node, f, f"{f.split('.')[1]} of a computed name on {hot[0]}")

    def _check_yaml(self, node: ast.Call, f: str) -> None:
        loader: ast.expr | None = node.args[1] if len(node.args) > 1 else None
        for kw in node.keywords:
            if kw.arg == "Loader":
                loader = kw.value
        if loader is None or not (self.resolve(loader) & _SAFE_YAML_LOADERS):
            self._hit(DESERIAL, _H, node, f, f"{f} without a safe Loader constructs objects")

    def _check_env_name(self, node: ast.AST, key: ast.expr | None) -> None:
        name = self.fold_str(key) if key is not None else None
        if name is not None and _is_credential_name(name):
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
            kind = _blob_kind(v)
            if kind is not None:
                what = _blob_content(v, kind)
                message = f"{kind} constant of {len(v)} characters" + (
                    f" (decodes to {what})" if what else ""
                )
                self._hit(ENCODED, _H, node, "blob", message)

    def _check_path(self, node: ast.AST, text: str) -> None:
        if len(text) > 4096:
            return
        if _PERSIST_PATH.search(text):
            self._hit(FILE_WRITE, _H, node, text[:80], f"names a persistence path: {text[:80]!r}")
        elif _CRED_PATH.search(text):
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
            if isinstance(n, ast.Call) and self.resolve(n.func) & _DECODERS:
                return True
            if (
                isinstance(n, ast.Constant)
                and isinstance(n.value, str | bytes)
                and len(n.value) >= ENCODED_MIN
                and _blob_kind(n.value) is not None
            ):
                return True
            if isinstance(n, ast.Name) and n.id in self.consts and seen < 64:
                stack.append(self.consts[n.id])
            stack.extend(ast.iter_child_nodes(n))
        return False

    @classmethod
    def from_source(cls, source: str | bytes, nesting: int = 0) -> _Module:
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


def _canonical(q: str) -> str:
    # posix/nt are what os re-exports; __builtins__.__dict__ is builtins.
    if q.startswith(("posix.", "nt.")):
        return "os." + q.split(".", 1)[1]
    if q.startswith("builtins.builtins."):
        return q[len("builtins.") :]
    if q.startswith("builtins.__dict__."):
        return "builtins." + q[len("builtins.__dict__.") :]
    return q


def _classify(q: str) -> tuple[str, Severity] | None:
    found = _REF_EXACT.get(q)
    if found is not None:
        return found
    for prefix, rule, sev in _REF_PREFIX:
        if q.startswith(prefix):
            rest = q[len(prefix) :]
            if prefix in ("requests.", "httpx.") and (
                not rest or rest.split(".")[0] in _HTTP_INERT
            ):
                return None
            return rule, sev
    return None


def _decode(decoder: str, data: str | bytes, extra: str | None) -> str | bytes | None:
    raw = data.encode("latin-1", errors="replace") if isinstance(data, str) else data
    try:
        if decoder == "codecs.decode":
            if isinstance(data, str) and extra in ("rot13", "rot_13"):
                return data.translate(_ROT13)
            decoder = {
                "base64": "base64.b64decode",
                "hex": "binascii.unhexlify",
                "zlib": "zlib.decompress",
                "bz2": "bz2.decompress",
            }.get(extra or "", "")
        if decoder in (
            "base64.b64decode",
            "base64.standard_b64decode",
            "base64.decodebytes",
            "binascii.a2b_base64",
        ):
            return base64.b64decode(raw)
        if decoder == "base64.urlsafe_b64decode":
            return base64.urlsafe_b64decode(raw)
        if decoder == "base64.b32decode":
            return base64.b32decode(raw)
        if decoder == "base64.b16decode":
            return base64.b16decode(raw)
        if decoder == "base64.b85decode":
            return base64.b85decode(raw)
        if decoder == "base64.a85decode":
            return base64.a85decode(raw)
        if decoder in ("binascii.unhexlify", "binascii.a2b_hex", "builtins.bytes.fromhex"):
            return bytes.fromhex(raw.decode("ascii"))
        if decoder == "zlib.decompress":
            return zlib.decompressobj().decompress(raw, MAX_FOLDED)
        if decoder == "gzip.decompress":
            return zlib.decompressobj(wbits=31).decompress(raw, MAX_FOLDED)
        if decoder == "bz2.decompress":
            return bz2.BZ2Decompressor().decompress(raw, MAX_FOLDED)
        if decoder == "lzma.decompress":
            return lzma.LZMADecompressor().decompress(raw, MAX_FOLDED)
    except (ValueError, zlib.error, OSError, EOFError, lzma.LZMAError, UnicodeError):
        return None
    return None


_ROT13 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)


def _blob_kind(v: str | bytes) -> str | None:
    """``base64``/``hex``/``binary`` when a long constant looks encoded, else None."""
    if isinstance(v, bytes):
        sample = v[:65536]
        binary = sum(1 for b in sample if b < 9 or 13 < b < 32 or b > 126)
        if binary > len(sample) * 0.3:
            return "binary"
        v = sample.decode("latin-1")
    compact = _WS.sub("", v[: 1 << 20])
    if len(compact) < ENCODED_MIN or len(compact) < len(v[: 1 << 20]) * 0.9:
        return None  # prose and code have many spaces; encodings have few line breaks
    if _entropy(compact[:65536]) < 3.0:
        return None
    if _HEX.fullmatch(compact):
        return "hex"
    if _B64.fullmatch(compact):
        return "base64"
    nonprint = sum(1 for c in compact[:65536] if not c.isprintable())
    return "binary" if nonprint > len(compact[:65536]) * 0.3 else None


_MAGICS = (
    (b"BZh", "bz2 data"),
    (b"\x1f\x8b", "gzip data"),
    (b"\xfd7zXZ", "xz data"),
    (b"\x7fELF", "an ELF executable"),
    (b"MZ", "a Windows executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\x80", "a pickle"),
    (b"\xe3", "a marshalled code object"),
    (b"x\x9c", "zlib data"),
    (b"x\xda", "zlib data"),
    (b"x\x01", "zlib data"),
)


def _blob_content(v: str | bytes, kind: str) -> str | None:
    """What the first bytes of an encoded constant decode to, for the reviewer."""
    head: bytes
    try:
        if kind == "base64":
            text = _WS.sub("", v[:4096] if isinstance(v, str) else v[:4096].decode("latin-1"))
            # urlsafe and standard alphabets alike; only the first bytes matter.
            text = text.replace("-", "+").replace("_", "/")
            head = base64.b64decode(text[: len(text) // 4 * 4])
        elif kind == "hex":
            text = _WS.sub("", v[:4096] if isinstance(v, str) else v[:4096].decode("latin-1"))
            head = bytes.fromhex(text[: len(text) // 2 * 2])
        else:
            head = v[:16] if isinstance(v, bytes) else v[:16].encode("latin-1", errors="replace")
    except (ValueError, UnicodeError):
        return None
    for magic, name in _MAGICS:
        if head.startswith(magic):
            return name
    sample = head[:256]
    if sample and all(32 <= b < 127 or b in (9, 10, 13) for b in sample):
        return "text"
    return None


def _entropy(s: str) -> float:
    counts = Counter(s)
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def _is_int(node: ast.AST | None, value: int) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _is_int(node.operand, -value)
    return isinstance(node, ast.Constant) and node.value == value


def _kw_true(node: ast.Call, name: str) -> bool:
    return any(
        k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in node.keywords
    )


def _literal_prefix(node: ast.AST) -> str:
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


def _is_credential_name(name: str) -> bool:
    upper = name.upper()
    if upper.startswith(_CRED_PREFIXES):
        return True
    return any(seg in _CRED_SEGMENTS for seg in re.split(r"[^A-Z0-9]+", upper))


class RemoteCodeAnalyzer(Analyzer):
    """AST analysis of Python files a model repository ships for ``trust_remote_code``."""

    name = "remote-code"
    formats = frozenset({Format.PYTHON})
    rules = RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        """Parse the file without running it and report what its code would do on load."""
        if ctx.blob.size > MAX_SOURCE_BYTES:
            yield ctx.skip("too-large", f"Python file over {MAX_SOURCE_BYTES} bytes not parsed")
            yield ctx.finding(
                UNPARSABLE,
                f"Python file of {ctx.blob.size} bytes is too large to analyse; not verified",
            )
            return
        source = ctx.blob.read(0, ctx.blob.size)
        try:
            module = _Module.from_source(source)
            hits = module.run()
        except UnparsableError as exc:
            yield from _unparsable(ctx, source, str(exc))
            return
        except RecursionError:
            yield from _unparsable(ctx, source, "nesting too deep")
            return
        yield ctx.fact("python.imports", sorted(module.imports)[:MAX_IMPORTS_FACT])
        for n, hit in enumerate(hits):
            if n == MAX_FINDINGS:
                yield ctx.skip("findings-capped", f"{len(hits) - n} more findings not reported")
                break
            yield ctx.finding(
                hit.rule,
                hit.message,
                line=hit.line,
                pointer=f"line {hit.line}",
                excerpt=hit.excerpt,
                severity=hit.severity,
            )


def _unparsable(ctx: ScanContext, source: bytes, why: str) -> Iterator[Result]:
    text = source.decode("utf-8", errors="replace")
    names = sorted({m.group(0).rstrip("( \t") for m in _SUSPICIOUS_TEXT.finditer(text)})
    if names:
        listed = ", ".join(names[:8])
        yield ctx.finding(
            UNPARSABLE,
            f"could not parse the file ({why}) and its text mentions {listed}; not verified",
            severity=_H,
            excerpt=listed,
            confidence=0.6,
        )
    else:
        yield ctx.finding(UNPARSABLE, f"could not parse the file ({why}); not verified")

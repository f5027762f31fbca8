"""What qualified names mean to the remote-code analyzer: call tables, paths, rule ids.

Any *reference* to a name in these tables (called, passed or aliased) is reported; the
resolver in :mod:`~modelcustoms.engines.scan.remote_code_names` turns source expressions into
the qualified names looked up here.
"""

from __future__ import annotations

import re

from modelcustoms.core import Severity

_C, _H, _M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM
# NOTE: the catalog pattern (core/catalog.py) allows no hyphen in the first segment, so the
# area is spelled ``remotecode`` rather than ``remote-code``.
AREA = "remotecode"
PROCESS, DYNAMIC, NETWORK = f"{AREA}.process", f"{AREA}.dynamic-code", f"{AREA}.network"
FILE_WRITE, DESERIAL = f"{AREA}.file-write", f"{AREA}.unsafe-deserialization"
ENCODED, CREDS = f"{AREA}.encoded-payload", f"{AREA}.credential-access"
NATIVE, UNPARSABLE = f"{AREA}.native-library", f"{AREA}.unparsable"


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
        "_posixsubprocess.fork_exec multiprocessing.popen_fork.Popen pydoc.pipepager "
        "pydoc.tempfilepager distutils.spawn.spawn",
    ),
    (PROCESS, _H, "os.fork os.forkpty os.startfile os.kill os.killpg webbrowser.open"),
    (
        DYNAMIC,
        _H,
        "builtins.exec builtins.eval types.CodeType types.FunctionType code.interact "
        "code.InteractiveInterpreter runpy.run_path runpy.run_module sys.meta_path.append "
        "sys.meta_path.insert sys.path_hooks.append sys.path_hooks.insert sys.settrace "
        "sys.setprofile importlib.util.spec_from_file_location importlib.util.spec_from_loader "
        "importlib.machinery.SourceFileLoader importlib.machinery.SourcelessFileLoader "
        "importlib.machinery.ExtensionFileLoader imp.load_source imp.load_module "
        "imp.load_compiled imp.load_dynamic site.addsitedir zipimport.zipimporter "
        "code.InteractiveConsole",
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
        "os.chown os.lchown os.fchown shutil.rmtree shutil.chown "
        # NOTE: moving or linking files replaces code or data elsewhere (a cached module, a
        # shell profile); copies are left out because tokenizers' save_vocabulary copy files.
        "os.rename os.renames os.replace os.symlink os.link os.truncate shutil.move "
        "pathlib.Path().rename pathlib.Path().replace pathlib.Path().unlink "
        "pathlib.Path().rmdir pathlib.Path().symlink_to pathlib.Path().hardlink_to",
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

# Callables that compile and run a string of Python, and where that string goes: positional
# indexes and keyword names. ``X()`` is an instance of X (``trace.Trace().runctx``).
_RUN = {
    "timeit.timeit timeit.repeat timeit.Timer": ((0, 1), ("stmt", "setup")),
    "cProfile.run cProfile.runctx profile.run profile.runctx pdb.run pdb.runctx "
    "cProfile.Profile().run cProfile.Profile().runctx profile.Profile().run "
    "profile.Profile().runctx pdb.Pdb().run pdb.Pdb().runctx bdb.Bdb().run bdb.Bdb().runctx": (
        (0,),
        ("statement", "cmd"),
    ),
    "pdb.runeval pdb.Pdb().runeval bdb.Bdb().runeval": ((0,), ("expression", "expr")),
    "trace.Trace().run trace.Trace().runctx": ((0,), ("cmd",)),
    "code.InteractiveInterpreter().runsource code.InteractiveInterpreter().runcode "
    "code.InteractiveConsole().runsource code.InteractiveConsole().runcode "
    "code.InteractiveConsole().push code.compile_command doctest.debug_src": (
        (0,),
        ("source", "code", "line", "src"),
    ),
}
CODE_RUNNERS: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    name: where for names, where in _RUN.items() for name in names.split()
}
"""Standard-library entry points that run a string as Python: judged with their argument."""
_REF_EXACT = {name: (rule, sev) for rule, sev, names in _REF_TABLE for name in names.split()}
_REF_EXACT.update((name, (DYNAMIC, _H)) for name in CODE_RUNNERS)
"""Any *reference* to these names (called, passed or aliased) is reported."""
_REF_PREFIX: tuple[tuple[str, str, Severity], ...] = (
    ("os.exec", PROCESS, _C),
    ("os.spawn", PROCESS, _C),
    ("requests.", NETWORK, _H),
    ("httpx.", NETWORK, _H),
)
FETCHERS = _words(
    "requests.get requests.head httpx.get httpx.head urllib.request.urlopen "
    "urllib.request.urlretrieve urllib.request.Request"
)
"""Downloads that are only medium when the URL is not fixed in the code."""
_HTTP_INERT = _words(
    "exceptions codes status_codes utils structures compat __version__ HTTPError "
    "RequestException Timeout ConnectionError Response HTTPStatusError"
)
"""Attributes of requests/httpx that are data, not I/O."""
BUILTINS_ALWAYS = _words("exec eval __import__ getattr setattr globals vars")
"""Builtins resolved even where the name is bound somewhere: a parameter named ``eval`` in one
function must not blind the scan to ``eval`` everywhere else."""
BUILTINS_SHADOWABLE = _words("compile open dict str repr list bytes chr print map")
"""Builtins resolved only when the file never binds the name (``compile`` is a common param)."""
DECODERS = _words(
    "base64.b64decode base64.standard_b64decode base64.urlsafe_b64decode base64.b32decode "
    "base64.b16decode base64.b85decode base64.a85decode base64.decodebytes binascii.a2b_base64 "
    "binascii.unhexlify binascii.a2b_hex builtins.bytes.fromhex zlib.decompress bz2.decompress "
    "lzma.decompress gzip.decompress codecs.decode"
)
UNMARSHAL = _words("marshal.loads pickle.loads _pickle.loads dill.loads")
SENSITIVE_MODULES = _words(
    "os posix nt subprocess builtins sys pty importlib pickle marshal socket ctypes shutil runpy "
    "code types codecs io"
)
"""Modules whose namespace a model file has no reason to walk or index by a computed name."""
UNKNOWN_MODULE = "<module>"
"""What a module imported or looked up by a name the scan cannot compute resolves to."""
GETATTR_MARK = "<getattr>"
"""Prefix of a pending attribute lookup: ``operator.attrgetter("system")`` resolves to
``<getattr>.system``, and calling it on ``os`` to ``os.system`` (``?`` when not computable)."""


def is_hot(q: str) -> bool:
    """Whether ``q`` names a sensitive module (or a part of one), or a module we cannot name."""
    if q == UNKNOWN_MODULE:
        return True
    return "()" not in q and not q.startswith("<") and q.split(".", 1)[0] in SENSITIVE_MODULES


SAFE_YAML_LOADERS = _words(
    "yaml.SafeLoader yaml.CSafeLoader yaml.BaseLoader yaml.CBaseLoader yaml.loader.SafeLoader"
)
HF_DOWNLOAD = _words(
    "huggingface_hub.hf_hub_download huggingface_hub.file_download.hf_hub_download "
    "transformers.utils.hub.cached_file transformers.utils.cached_file"
)
_CRED_SEGMENTS = _words("TOKEN SECRET PASSWORD PASSWD APIKEY KEY CREDENTIAL CREDENTIALS PRIVATE")
_CRED_PREFIXES = ("AWS_", "AZURE_", "GCP_", "GOOGLE_APPLICATION_CREDENTIALS")
CRED_PATH = re.compile(
    r"(?:^|[/\\~])\.(?:aws|netrc|git-credentials|pypirc|npmrc|docker[/\\]config\.json|"
    r"kube[/\\]config|gnupg)(?:$|[/\\])|\.ssh[/\\]id_|(?:^|[/\\~])\.ssh$|huggingface[/\\]token|"
    r"/etc/shadow|Login Data|\.config[/\\]gcloud"
)
PERSIST_PATH = re.compile(
    r"(?:^|[/\\~])\.(?:bashrc|bash_profile|bash_login|profile|zshrc|zprofile|zshenv)$|"
    r"authorized_keys|/etc/cron|crontab|/var/spool/cron|/etc/rc\.local|/etc/profile|"
    r"ld\.so\.preload|sitecustomize\.py|usercustomize\.py|\.config[/\\]autostart|"
    r"/etc/systemd|/etc/sudoers"
)


def canonical(q: str) -> str:
    """One spelling for names with several (``posix.system`` is ``os.system``)."""
    # posix/nt are what os re-exports; __builtins__.__dict__ is builtins.
    if q.startswith(("posix.", "nt.")):
        return "os." + q.split(".", 1)[1]
    if q.startswith("builtins.builtins."):
        return q[len("builtins.") :]
    if q.startswith("builtins.__dict__."):
        return "builtins." + q[len("builtins.__dict__.") :]
    return q


def classify(q: str) -> tuple[str, Severity] | None:
    """The rule and severity a reference to ``q`` raises, or None."""
    found = _REF_EXACT.get(q)
    if found is not None or "()" in q:
        # ``requests.get()`` is the response of a call, not the requests API.
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


def is_credential_name(name: str) -> bool:
    """Whether an environment variable name looks like it holds a credential."""
    upper = name.upper()
    if upper.startswith(_CRED_PREFIXES):
        return True
    return any(seg in _CRED_SEGMENTS for seg in re.split(r"[^A-Z0-9]+", upper))

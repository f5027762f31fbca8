"""What a pickle may import: the knowledge behind the pickle analyzer, kept as data.

Four tiers, judged on the fully qualified dotted path ``module.name``:

* **allowed**: what ordinary checkpoints contain (tensor and array rebuild helpers, containers,
  value types) and class constructors of ML libraries;
* **dangerous**: anything that executes code, spawns processes, touches files or the network,
  loads another pickle, or hands out arbitrary attributes. Critical whenever referenced, because
  importing it is already a choice no legitimate checkpoint makes;
* **I/O on call**: classes and functions, mostly under the ML prefixes, whose constructor or
  call reads, writes or downloads (``pandas.ExcelFile``, ``SummaryWriter``): a reference is
  benign (NEWOBJ skips ``__init__``), a call is high;
* **unknown**: everything else. Reported, never silenced: a capitalised class from an unknown
  module (``__main__.MyModel``) needs custom code; an unknown function that is invoked may do
  anything.

Matching is by dotted prefix on a ``.`` boundary, so ``torch.hub`` covers ``torch.hub.load``
and ``os`` covers ``os.path.join`` but ``builtins.eval`` does not cover ``builtins.evaluate``.
Protocol 4 names may be dotted (``Class.method``): the unpickler walks attributes, so a dotted
name from an allowed module (``torch._utils`` + ``os.system``) is judged on every component.
"""

from __future__ import annotations

import _compat_pickle
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache


class Tier(StrEnum):
    """The judgement on one import."""

    ALLOWED = "allowed"
    DANGEROUS = "dangerous"
    LOADER = "loader"
    """Deserialises a nested payload (``torch.storage._load_from_bytes``): scan the payload."""
    UNKNOWN_CLASS = "unknown-class"
    UNKNOWN_CALLABLE = "unknown-callable"
    IO_ON_CALL = "io-on-call"
    """Does file or network I/O when called (``pandas.ExcelFile``): high when called."""


@dataclass(frozen=True, slots=True)
class Judgement:
    """The tier of an import, why, and whether it deserialises its first argument."""

    tier: Tier
    reason: str
    loader: bool = False
    """The callee unpickles (or unmarshals) its first argument: a nested payload."""
    calls: tuple[int, int | None] | None = None
    """(index of the argument the callee calls, index of that call's argument tuple or None)."""


def _words(text: str) -> list[str]:
    return text.split()


# -- allowed --------------------------------------------------------------------------------

# NOTE: torch/_utils.py and torch/_tensor.py (`_rebuild_*` are what Tensor.__reduce_ex__ and
# Parameter.__reduce_ex__ emit), the same list torch.load(weights_only=True) accepts
# (torch/_weights_only_unpickler.py, `_get_allowed_globals`).
_TORCH_REBUILD = (
    "_rebuild_tensor",
    "_rebuild_tensor_v2",
    "_rebuild_tensor_v3",
    "_rebuild_parameter",
    "_rebuild_parameter_with_state",
    "_rebuild_qtensor",
    "_rebuild_sparse_tensor",
    "_rebuild_sparse_csr_tensor",
    "_rebuild_nested_tensor",
    "_rebuild_meta_tensor_no_storage",
    "_rebuild_wrapper_subclass",
    "_rebuild_device_tensor_from_numpy",
    "_rebuild_device_tensor_from_cpu_tensor",
    "_rebuild_xla_tensor",
    "_rebuild_mtia_tensor",
)
# torch dtypes, layouts and memory formats are pickled by name (`torch.float32`).
_TORCH_VALUES = _words(
    "float32 float float64 double float16 half bfloat16 uint8 uint16 uint32 uint64 int8 int16 "
    "short int32 int int64 long bool complex32 chalf complex64 cfloat complex128 cdouble quint8 "
    "qint8 qint32 quint4x2 quint2x4 float8_e4m3fn float8_e5m2 float8_e4m3fnuz float8_e5m2fnuz "
    "float8_e8m0fnu float4_e2m1fn_x2 bits8 bits16 bits1x8 bits2x4 bits4x2 int1 int2 int3 int4 "
    "int5 int6 int7 uint1 uint2 uint3 uint4 uint5 uint6 uint7 strided sparse_coo sparse_csr "
    "sparse_csc sparse_bsr sparse_bsc _mkldnn contiguous_format channels_last channels_last_3d "
    "preserve_format device dtype layout memory_format"
)

ALLOWED: frozenset[str] = frozenset(
    [f"torch._utils.{n}" for n in _TORCH_REBUILD]
    + [f"torch.{n}" for n in _TORCH_VALUES]
    + [
        "torch._tensor._rebuild_from_type",
        "torch._tensor._rebuild_from_type_v2",
        "torch.serialization._get_layout",
        "torch._utils._rebuild_parameter_with_state",
        # numpy arrays and scalars: ndarray.__reduce__ / __reduce_ex__(5) (numpy/_core/
        # src/multiarray/methods.c), numpy 1.x and 2.x module paths.
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray.scalar",
        "numpy.core.numeric._frombuffer",
        "numpy._core.numeric._frombuffer",
        "numpy.dtype",
        "numpy.ndarray",
        "numpy.ma.core._mareconstruct",
        # numpy random state (numpy/random/_pickle.py; numpy < 1.17 used mtrand).
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random._pickle.__generator_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random.__RandomState_ctor",
        # py2-compatible bytes in protocol 2 (Lib/pickle.py save_bytes).
        "_codecs.encode",
        "codecs.encode",
        # Lib/copyreg.py: what object.__reduce_ex__ emits.
        "copyreg._reconstructor",
        "copyreg.__newobj__",
        "copyreg.__newobj_ex__",
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.deque",
        "collections.Counter",
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "datetime.timezone",
        "decimal.Decimal",
        "fractions.Fraction",
        "uuid.UUID",
        "uuid.SafeUUID",
        "pathlib.Path",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
        "pathlib.PurePath",
        "pathlib.PurePosixPath",
        "pathlib.PureWindowsPath",
        "argparse.Namespace",
        "types.SimpleNamespace",
        "array.array",
        "array._array_reconstructor",
        "re._compile",
        # Logger.__reduce__ returns (getLogger, (name,)): looks a logger up, runs nothing.
        "logging.getLogger",
        # OmegaConf configs in Lightning/Hydra checkpoints annotate nodes with typing.Any.
        "typing.Any",
        # partial.__reduce__ emits REDUCE partial(func) + BUILD: constructing runs nothing, the
        # wrapped callable is an import judged on its own, and calling the partial later is a
        # pickle.dynamic-call (and marks the wrapped callable as invoked).
        "functools.partial",
        "_functools.partial",
        "io.BytesIO",
        # joblib numpy_pickle.py: the array wrapper; the array bytes follow it in the stream.
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
        # pandas unpickling helpers (pandas/core/internals, pandas/_libs/*.pyx __reduce__).
        "pandas.core.indexes.base._new_Index",
        "pandas.core.internals.blocks.new_block",
        "pandas.core.internals.blocks._unpickle_block",
        "pandas._libs.internals._unpickle_block",
        "pandas._libs.tslibs.timestamps._unpickle_timestamp",
        "pandas._libs.tslibs.timedeltas._timedelta_unpickle",
        "pandas._libs.tslibs.nattype.__nat_unpickle",
        "pandas.core.arrays.categorical._unpickle_categorical",
    ]
    + [
        f"builtins.{n}"
        for n in _words(
            "set frozenset slice complex bytearray bytes range object list dict tuple int float "
            "bool str Ellipsis NotImplemented"
        )
    ]
)
"""Exact dotted paths that legitimate checkpoints contain."""

# Allow-listed helpers that call one of their arguments: (index of the callee, index of the
# tuple it is called with, or None). The callee is judged as if REDUCE called it.
# NOTE: torch/_tensor.py `_rebuild_from_type(func, type, args, dict)` and
# `_rebuild_from_type_v2(func, new_type, args, state)` both run `func(*args)`;
# Lib/copyreg.py `_reconstructor(cls, base, state)` runs `base.__init__(obj, state)`.
CALLS_ARGUMENT: dict[str, tuple[int, int | None]] = {
    "torch._tensor._rebuild_from_type": (0, 2),
    "torch._tensor._rebuild_from_type_v2": (0, 2),
    "torch._utils._rebuild_from_type": (0, 2),
    "torch._utils._rebuild_from_type_v2": (0, 2),
    "copyreg._reconstructor": (1, None),
}
PARTIALS = frozenset({"functools.partial", "_functools.partial"})
"""Constructing these calls nothing; calling the constructed object calls its first argument."""

# Class constructors from these libraries are benign (a CapitalizedName, not dotted); their
# functions and attribute paths are not (`torch.load`, `pandas.read_pickle`).
ML_PREFIXES: tuple[str, ...] = (
    "torch",
    "torchvision",
    "torchaudio",
    "numpy",
    "sklearn",
    "scipy.sparse",
    "scipy.stats",
    "pandas",
    "xgboost",
    "lightgbm",
    "catboost",
    "transformers",
    "tokenizers",
    "accelerate",
    "peft",
    "lightning",
    "lightning_fabric",
    "pytorch_lightning",
    "timm",
    "sentence_transformers",
    "diffusers",
    "omegaconf",
)
# scipy.sparse matrix classes are lowercase (scipy/sparse/_csr.py etc.).
_LOWER_CLASSES = re.compile(
    r"^scipy\.sparse(\.[\w.]+)?\.(csr|csc|coo|lil|dok|bsr|dia)_(matrix|array)$"
    r"|^scipy\.stats\.[\w.]+\.(\w+_gen|rv_\w*frozen)$"
)
# Cython's generated pickle helper (`__pyx_unpickle_<Class>`) rebuilds an extension type.
_PYX_UNPICKLE = re.compile(r"^__pyx_unpickle_[A-Za-z]\w*$")

# -- dangerous ------------------------------------------------------------------------------

# Every entry covers itself and everything under it.
# NOTE: sources, by entry group: the pickle docs' warning and Lib/pickle.py find_class;
# fickling's UNSAFE_IMPORTS; picklescan advisories CVE-2025-1716 (pip.main), CVE-2025-10155/
# 10156 (distutils.file_util, _io.FileIO, shutil), CVE-2025-10157 (asyncio.unix_events.
# _UnixSubprocessTransport._start), GHSA-m273-6v24-x4m4 / GHSA-955r-x9j8-7rhh (operator),
# GHSA-46h3-79wf-xr6c / GHSA-4675-36f9-wf6r (profile, trace, pdb, bdb, timeit, doctest),
# GHSA-84r2-jw7c-4r5q (nested pickle), GHSA-vqmv-47xg-9wpr (pip, venv, ensurepip),
# GHSA-hgrh-qx5j-jfwx (network), GHSA-r8g5-cgf2-4m4m (idlelib, lib2to3), CVE-2026-56315
# (uuid._get_command_stdout, imaplib, _pyrepl.pager, _osx_support, _aix_support); and
# torch.load's weights_only gadgets (GHSA-53q9-r3pm-6pq6, CVE-2025-32434).
DANGEROUS: dict[str, str] = {}


def _deny(reason: str, *paths: str) -> None:
    for p in paths:
        DANGEROUS[p] = reason


_deny(
    "runs Python code",
    *(
        f"builtins.{n}"
        for n in _words(
            "eval exec compile __import__ execfile open input breakpoint help exit quit "
            "__build_class__ __loader__ __spec__"
        )
    ),
    "code",
    "codeop",
    "runpy",
    "importlib",
    "imp",
    "zipimport",
    "pkgutil",
    "types.CodeType",
    "types.FunctionType",
    "types.LambdaType",
    "types.MethodType",
    "types.ModuleType",
    "types.new_class",
    "marshal",
    "ctypes",
    "_ctypes",
    "cffi",
    "_pyrepl",
    "IPython",
    "jinja2",
    "numexpr",
    "sympy.sympify",
    "numpy.testing",
    "sympy.parsing",
    "dis",
    "inspect",
    "gc",
    "sys",
    "site",
    "builtins.globals",
    "builtins.locals",
    "builtins.vars",
    "builtins.dir",
)
_deny(
    "hands out arbitrary attributes or calls (indirection gadget)",
    "builtins.getattr",
    "builtins.setattr",
    "builtins.delattr",
    "builtins.hasattr",
    "builtins.__getattribute__",
    "operator",
    "_operator",
    "functools",
    "_functools",
    "copyreg.add_extension",
    "copyreg.pickle",
    "copyreg.constructor",
)
_deny(
    "spawns processes",
    "os",
    "posix",
    "nt",
    "subprocess",
    "_posixsubprocess",
    "pty",
    "commands",
    "popen2",
    "platform.popen",
    "platform._syscmd_file",
    "platform._syscmd_ver",
    "asyncio",
    "_asyncio",
    "multiprocessing",
    "_multiprocessing",
    "concurrent",
    "threading",
    "_thread",
    "signal",
    "atexit",
    "webbrowser",
    "_winapi",
    "msvcrt",
    "winreg",
    "_winreg",
    "uuid._get_command_stdout",
    "uuid._popen",
    "_osx_support",
    "_aix_support",
    "ctypes.util",
    "imaplib",
    "pydoc",
    "_sitebuiltins",
    "sched",
)
_deny(
    "runs code under a debugger, profiler or test runner",
    "pdb",
    "bdb",
    "timeit",
    "cProfile",
    "profile",
    "_lsprof",
    "trace",
    "doctest",
    "unittest",
    "idlelib",
    "lib2to3",
    "turtledemo",
    "tkinter",
)
_deny(
    "installs packages or builds native code",
    "pip",
    "ensurepip",
    "venv",
    "distutils",
    "setuptools",
    "pkg_resources",
    "numpy.distutils",
    "numpy.f2py",
    "numpy.ctypeslib",
    "torch.utils.cpp_extension",
)
_deny(
    "reads or writes files",
    "shutil",
    "tempfile",
    "glob",
    "fileinput",
    "io.open",
    "io.open_code",
    "io.FileIO",
    "_io",
    "codecs.open",
    "codecs.getreader",
    "codecs.getwriter",
    "pathlib.Path.write_text",
    "pathlib.Path.write_bytes",
    "pathlib.Path.unlink",
    "shelve",
    "dbm",
    "zipfile",
    "tarfile",
    "gzip.open",
    "gzip.GzipFile",
    "bz2.open",
    "bz2.BZ2File",
    "lzma.open",
    "lzma.LZMAFile",
    "_compression",
    "_pyio",
    "sqlite3",
    "_sqlite3",
    "wave",
    "aifc",
    "sunau",
    "netrc",
    "mailbox",
    "filecmp",
    "py_compile",
    "compileall",
    "zipapp",
    "logging.basicConfig",
    "mimetypes.read_mime_types",
    "mmap",
    "fcntl",
    "resource",
    "linecache",
    "logging.config",
    "logging.FileHandler",
    "logging.handlers",
    "numpy.save",
    "numpy.savez",
    "numpy.savez_compressed",
    "numpy.savetxt",
    "numpy.loadtxt",
    "numpy.genfromtxt",
    "numpy.fromfile",
    "numpy.memmap",
    "numpy.DataSource",
    "numpy.lib.npyio",
    "numpy.lib._npyio_impl",
    "numpy.lib.format",
    "numpy.lib.utils",
    "numpy.lib._utils_impl",
    "numpy.lib._datasource",
    "pandas.read_pickle",
    "pandas.to_pickle",
    "pandas.io",
    "pandas.HDFStore",
    "pandas.eval",
    "pandas.core.computation",
    "sklearn.datasets",
    "huggingface_hub",
    "transformers.dynamic_module_utils",
    "transformers.utils.hub",
)
_deny(
    "opens network connections",
    "socket",
    "_socket",
    "ssl",
    "select",
    "selectors",
    "socketserver",
    "http",
    "httplib",
    "urllib",
    "urllib2",
    "urllib3",
    "requests",
    "httpx",
    "aiohttp",
    "ftplib",
    "smtplib",
    "smtpd",
    "poplib",
    "nntplib",
    "telnetlib",
    "xmlrpc",
    "xmlrpclib",
    "asyncore",
    "asynchat",
    "wsgiref",
)
_deny(
    "loads another serialised payload (nested deserialisation)",
    "pickle",
    "_pickle",
    "cPickle",
    "pickletools",
    "dill",
    "cloudpickle",
    "joblib.load",
    "joblib.numpy_pickle.load",
    "numpy.load",
    "numpy.loads",
    "numpy.core.numeric.loads",
    "yaml",
    "ruamel",
    "jsonpickle",
    "shelve",
    "torch.load",
    "torch.serialization.load",
    "torch.serialization._load",
    "torch.serialization._legacy_load",
)
_deny(
    "torch internals that load code, compile or execute (torch.load weights_only gadget class)",
    "torch.hub",
    "torch.jit",
    "torch.package",
    "torch.fx",
    "torch._dynamo",
    "torch._inductor",
    "torch.compile",
    "torch.compiler",
    "torch.export",
    "torch._export",
    "torch.utils.bottleneck",
    "torch.utils.collect_env",
    "torch.utils.data.datapipes",
    "torch.distributed",
    "torch.multiprocessing",
    "torch.testing",
    "torch.library",
    "torch._ops",
    "torch.ops",
    "torch.classes",
    "torch._classes",
)

# -- I/O when called ------------------------------------------------------------------------

# Classes and functions under allow-listed ML prefixes (or popular ML add-ons) whose
# constructor or call reads/writes files, creates directories or downloads. Pickles reference
# such classes legitimately (torch.save(model) rebuilds via NEWOBJ / copyreg, which skips
# __init__), so a reference alone is not dangerous; calling them (REDUCE, INST, OBJ, or through
# an argument-calling helper) runs the I/O: high. Every entry covers itself and what is under it.
IO_ON_CALL: dict[str, str] = {}


def _io(reason: str, *paths: str) -> None:
    for p in paths:
        IO_ON_CALL[p] = reason


_io(
    "pandas reader/writer: opens a path or URL",
    "pandas.ExcelFile",
    "pandas.ExcelWriter",
    *(
        f"pandas.{n}"
        for n in _words(
            "read_csv read_table read_fwf read_excel read_json read_html read_xml read_parquet "
            "read_feather read_orc read_sas read_spss read_stata read_sql read_sql_query "
            "read_sql_table read_gbq read_clipboard read_hdf"
        )
    ),
)
_io(
    "tensorboard writer: creates directories and event files",
    "torch.utils.tensorboard",
    "tensorboardX",
    "torch.profiler",
    "lightning.pytorch.loggers",
    "lightning.fabric.loggers",
    "pytorch_lightning.loggers",
)
_io(
    "downloads or reads a model from a path or the Hub",
    "sentence_transformers.SentenceTransformer",
    "sentence_transformers.CrossEncoder",
    "sentence_transformers.cross_encoder",
    "sentence_transformers.SparseEncoder",
    "sentence_transformers.sparse_encoder",
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.CLIPModel",
    "transformers.pipeline",
    "transformers.pipelines",
    "timm.create_model",
    "timm.models.create_model",
    "xgboost.Booster",
    "xgboost.DMatrix",
    "lightgbm.Booster",
    "accelerate.Accelerator",
)
_io(
    "downloads or reads a dataset",
    "datasets.load_dataset",
    "datasets.load_from_disk",
    "datasets.load_dataset_builder",
    "datasets.load",
    "torchvision.datasets",
    "torchvision.io",
    "torchaudio.datasets",
    "torchaudio.io",
    "torchtext.datasets",
)
_io(
    "tokenizer that reads vocabulary files",
    "tokenizers.implementations",
    "tokenizers.ByteLevelBPETokenizer",
    "tokenizers.CharBPETokenizer",
    "tokenizers.SentencePieceBPETokenizer",
    "tokenizers.SentencePieceUnigramTokenizer",
    "tokenizers.BertWordPieceTokenizer",
)
# transformers Auto* entry points (AutoModel, AutoTokenizer, AutoConfig...): from_pretrained
# downloads; under any transformers submodule.
_TRANSFORMERS_AUTO = re.compile(r"^transformers(\.\w+)*\.Auto[A-Z]\w*(\.\w+)*$")

# Loaders whose first argument is a nested payload to scan (also listed as dangerous above,
# except torch.storage._load_from_bytes, which TypedStorage.__reduce__ emits legitimately).
LOADERS: frozenset[str] = frozenset(
    {
        "pickle.loads",
        "pickle._loads",
        "_pickle.loads",
        "cPickle.loads",
        "dill.loads",
        "dill._dill.loads",
        "cloudpickle.loads",
        "numpy.loads",
        "numpy.core.numeric.loads",
        "marshal.loads",
        "torch.storage._load_from_bytes",
        "torch.serialization._load_from_bytes",
    }
)

# Top-level module names that are dangerous wherever they appear in an attribute path.
_DANGEROUS_TOP = frozenset(p for p in DANGEROUS if "." not in p)
# Final attribute names that run commands or code whatever module they come from.
_DANGEROUS_NAMES = frozenset(
    _words(
        "system popen popen2 popen3 popen4 exec execfile eval __import__ import_module "
        "getoutput getstatusoutput check_output check_call spawnl spawnle spawnlp spawnv spawnve "
        "spawnvp execl execle execlp execv execve execvp execvpe startfile runcode runsource "
        "runctx runcall run_path run_module load_inline pipepager tempfilepager "
        "__getattribute__ __globals__ __builtins__ __subclasses__ __code__ __reduce__ "
        "__reduce_ex__ __setstate__ __class__ __dict__ __init_subclass__"
    )
)
_DUNDER = re.compile(r"^__\w+__$")

_RANK = {
    Tier.ALLOWED: 0,
    Tier.UNKNOWN_CLASS: 1,
    Tier.UNKNOWN_CALLABLE: 2,
    Tier.IO_ON_CALL: 3,
    Tier.LOADER: 4,
    Tier.DANGEROUS: 5,
}


def _covered(path: str, table: dict[str, str] | frozenset[str]) -> str | None:
    """The entry of ``table`` that covers ``path`` (itself or a dotted prefix), if any."""
    probe = path
    while True:
        if probe in table:
            return probe
        cut = probe.rfind(".")
        if cut <= 0:
            return None
        probe = probe[:cut]


@lru_cache(maxsize=4096)
def judge(module: str, name: str) -> Judgement:
    """The judgement on ``module.name`` as a pickle would import it (GLOBAL/STACK_GLOBAL/INST)."""
    own = _judge_one(module, name)
    # Protocol < 3 pickles are read with fix_imports: py2 names are remapped
    # (Lib/_compat_pickle.py). The py2 original does not exist on Python 3, so the mapped name
    # is what loads; the original still counts when it is dangerous in its own right.
    mapped = _compat(module, name)
    if mapped is None or own.tier is Tier.DANGEROUS:
        return own
    return _judge_one(*mapped)


def _compat(module: str, name: str) -> tuple[str, str] | None:
    pair = _compat_pickle.NAME_MAPPING.get((module, name))
    if pair is not None:
        return pair
    if module in _compat_pickle.IMPORT_MAPPING:
        return _compat_pickle.IMPORT_MAPPING[module], name
    return None


def _judge_one(module: str, name: str) -> Judgement:
    full = f"{module}.{name}"
    parts = name.split(".")
    loader = full in LOADERS
    calls = CALLS_ARGUMENT.get(full)
    if full in ALLOWED:
        return Judgement(Tier.ALLOWED, "allow-listed checkpoint global", calls=calls)
    hit = _covered(full, DANGEROUS)
    if hit is not None:
        return Judgement(Tier.DANGEROUS, f"{DANGEROUS[hit]} ({hit})", loader=loader)
    if loader:
        return Judgement(Tier.LOADER, "deserialises its argument (nested payload)", loader=True)
    top = module.split(".", 1)[0]
    if top in _DANGEROUS_TOP:
        return Judgement(Tier.DANGEROUS, f"module {top} is never needed by model data")
    for part in parts:
        if part in _DANGEROUS_TOP or part in _DANGEROUS_NAMES:
            return Judgement(Tier.DANGEROUS, f"attribute path reaches {part!r}")
        if _DUNDER.match(part) and len(parts) > 1:
            return Judgement(Tier.DANGEROUS, f"attribute path through dunder {part!r}")
    io = _covered(full, IO_ON_CALL)
    if io is not None:
        return Judgement(Tier.IO_ON_CALL, f"{IO_ON_CALL[io]} ({io})")
    if _TRANSFORMERS_AUTO.match(full):
        return Judgement(Tier.IO_ON_CALL, "transformers Auto* entry point: downloads when called")
    if any(not p or not p.isidentifier() for p in (*module.split("."), *parts)):
        return Judgement(Tier.UNKNOWN_CALLABLE, "not a valid Python name")
    dotted = len(parts) > 1
    # A class by naming convention: CapitalizedName, private ones included (`_BinMapper`).
    capitalised = name.lstrip("_")[:1].isupper()
    ml = next((p for p in ML_PREFIXES if module == p or module.startswith(p + ".")), None)
    if ml is not None and not dotted:
        if capitalised or _LOWER_CLASSES.match(full) or _PYX_UNPICKLE.match(name):
            return Judgement(Tier.ALLOWED, f"class constructor from {ml}")
        return Judgement(Tier.UNKNOWN_CALLABLE, f"function from {ml} that is not on the allow-list")
    if dotted:
        return Judgement(Tier.UNKNOWN_CALLABLE, "attribute path (protocol 4 dotted name)")
    if capitalised:
        return Judgement(Tier.UNKNOWN_CLASS, "class from a module outside the allow-list")
    return Judgement(Tier.UNKNOWN_CALLABLE, "callable from a module outside the allow-list")


def rank(tier: Tier) -> int:
    """Order of tiers from allowed (0) to dangerous (5)."""
    return _RANK[tier]

"""RemoteCodeAnalyzer: AST analysis of the Python files a repository ships for trust_remote_code."""

from __future__ import annotations

import base64
import textwrap
import time
import zlib

import pytest

from modelcustoms.core import Finding, Severity
from modelcustoms.engines.scan import remote_code
from modelcustoms.engines.scan.remote_code import RemoteCodeAnalyzer

PROCESS = "remotecode.process"
DYNAMIC = "remotecode.dynamic-code"
NETWORK = "remotecode.network"
FILE_WRITE = "remotecode.file-write"
DESERIAL = "remotecode.unsafe-deserialization"
ENCODED = "remotecode.encoded-payload"
CREDS = "remotecode.credential-access"
NATIVE = "remotecode.native-library"
UNPARSABLE = "remotecode.unparsable"

# A benign modeling file in the style of real Qwen / ChatGLM / Phi remote code. Everything in
# it appears in such files; none of it may be reported at high or above.
BENIGN_MODELING = '''\
# coding=utf-8
# Copyright 2024 The Example Team. All rights reserved.
"""PyTorch Example model. See ~/.bashrc? No: docstrings are prose and are not flagged."""

import math
import os
import warnings
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn
from torch.nn import CrossEntropyLoss

from transformers.activations import ACT2FN
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast
from transformers.modeling_utils import PreTrainedModel
from transformers.utils import (
    is_flash_attn_2_available,
    is_flash_attn_greater_or_equal_2_10,
    logging,
)

from .configuration_example import ExampleConfig

if is_flash_attn_2_available():
    from flash_attn import flash_attn_func, flash_attn_varlen_func  # noqa

try:
    import importlib.util
    _has_rotary = importlib.util.find_spec("rotary_emb") is not None
except ImportError:
    _has_rotary = False

logger = logging.get_logger(__name__)
_CONFIG_FOR_DOC = "ExampleConfig"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
_DEBUG = os.environ.get("EXAMPLE_DEBUG_ATTENTION", "0") == "1"
_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "example")


class ExampleRMSNorm(nn.Module):
    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


class ExampleRotaryEmbedding(nn.Module):
    def __init__(self, dim, max_position_embeddings=2048, base=10000, device=None):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float().to(device) / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.max_seq_len_cached = max_position_embeddings

    def forward(self, x, seq_len=None):
        t = torch.arange(seq_len, device=x.device, dtype=self.inv_freq.dtype)
        freqs = torch.outer(t, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


class ExampleAttention(nn.Module):
    def __init__(self, config: ExampleConfig, layer_idx: Optional[int] = None):
        super().__init__()
        self.config = config
        self.hidden_size = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = self.hidden_size // self.num_heads
        self.q_proj = nn.Linear(self.hidden_size, self.hidden_size, bias=True)
        self.k_proj = nn.Linear(self.hidden_size, self.hidden_size, bias=True)
        self.v_proj = nn.Linear(self.hidden_size, self.hidden_size, bias=True)
        self.o_proj = nn.Linear(self.hidden_size, self.hidden_size, bias=False)
        self.rotary_emb = ExampleRotaryEmbedding(self.head_dim)
        self.use_flash = is_flash_attn_greater_or_equal_2_10()

    def forward(self, hidden_states, attention_mask=None, compile=False, output_attentions=False):
        bsz, q_len, _ = hidden_states.size()
        q = self.q_proj(hidden_states).view(bsz, q_len, self.num_heads, self.head_dim)
        k = self.k_proj(hidden_states).view(bsz, q_len, self.num_heads, self.head_dim)
        v = self.v_proj(hidden_states).view(bsz, q_len, self.num_heads, self.head_dim)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        if attention_mask is not None:
            scores = scores + attention_mask
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v).reshape(bsz, q_len, self.hidden_size)
        return self.o_proj(out), (probs if output_attentions else None)


class ExampleMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)
        self.act_fn = ACT2FN[config.hidden_act]

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class ExamplePreTrainedModel(PreTrainedModel):
    config_class = ExampleConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _no_split_modules = ["ExampleDecoderLayer"]

    def _init_weights(self, module):
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=std)


class ExampleForCausalLM(ExamplePreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.attn = ExampleAttention(config)
        self.mlp = ExampleMLP(config)
        self.norm = ExampleRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.torch_dtype = getattr(torch, str(config.torch_dtype).replace("torch.", ""))
        if _DEBUG:
            warnings.warn("debug attention enabled", stacklevel=2)
        self.post_init()

    def forward(self, input_ids=None, labels=None, return_dict=True):
        h = self.embed(input_ids)
        h, _ = self.attn(h)
        h = self.norm(h + self.mlp(h))
        logits = self.lm_head(h).float()
        loss = None
        if labels is not None:
            loss = CrossEntropyLoss()(logits.view(-1, logits.size(-1)), labels.view(-1))
        return CausalLMOutputWithPast(loss=loss, logits=logits)

    def compile_model(self):
        self.eval()
        return torch.compile(self)
'''

BENIGN_TOKENIZATION = '''\
"""Tokenization classes for Example."""
import json
import os
import re
import unicodedata
from shutil import copyfile
from typing import Dict, List, Optional

import sentencepiece as spm
from transformers import PreTrainedTokenizer, AutoTokenizer
from transformers.utils import logging

logger = logging.get_logger(__name__)
VOCAB_FILES_NAMES = {"vocab_file": "tokenizer.model"}
PAT_STR = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"""


class ExampleTokenizer(PreTrainedTokenizer):
    vocab_files_names = VOCAB_FILES_NAMES

    def __init__(self, vocab_file, eos_token="</s>", **kwargs):
        self.vocab_file = vocab_file
        self.sp_model = spm.SentencePieceProcessor()
        self.sp_model.Load(vocab_file)
        self.pattern = re.compile(PAT_STR)
        super().__init__(eos_token=eos_token, **kwargs)

    def save_vocabulary(self, save_directory, filename_prefix=None):
        if not os.path.isdir(save_directory):
            logger.error(f"Vocabulary path ({save_directory}) should be a directory")
            return
        out_vocab_file = os.path.join(save_directory, "tokenizer.model")
        if os.path.abspath(self.vocab_file) != os.path.abspath(out_vocab_file):
            copyfile(self.vocab_file, out_vocab_file)
        with open(os.path.join(save_directory, "vocab.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(self.get_vocab(), ensure_ascii=False))
        return (out_vocab_file,)
'''


def _scan(scan_files, source: str | bytes, name: str = "modeling_example.py"):
    data = source.encode("utf-8") if isinstance(source, str) else source
    return scan_files({name: data}, analyzers=[RemoteCodeAnalyzer()])


def _findings(scan_files, source: str | bytes, name: str = "modeling_example.py") -> list[Finding]:
    return list(_scan(scan_files, source, name).run.findings)


def _worst(findings: list[Finding], rule: str) -> Severity | None:
    sev = [f.severity for f in findings if f.rule_id == rule]
    return max(sev, key=lambda s: s.rank) if sev else None


def _src(code: str) -> str:
    # Every sample starts with a comment line, as real modeling files do.
    return "# modeling_example.py\n" + textwrap.dedent(code)


def test_benign_modeling_file_has_nothing_high(scan_files):
    result = _scan(scan_files, BENIGN_MODELING)
    assert result.run.analysed == 1
    high = [f for f in result.run.findings if f.severity >= Severity.HIGH]
    assert high == [], high
    facts = {f.key: f.value for f in result.run.facts}
    assert "torch.nn.functional" in facts["python.imports"]
    assert ".configuration_example" in facts["python.imports"]


def test_benign_tokenization_file_has_nothing_high(scan_files):
    findings = _findings(scan_files, BENIGN_TOKENIZATION, "tokenization_example.py")
    assert [f for f in findings if f.severity >= Severity.HIGH] == []


@pytest.mark.parametrize(
    "code",
    [
        "import os\nos.system('echo pwned')",
        "import subprocess as sp\nsp.Popen(['echo', 'pwned'])",
        "from os import system as s\ns('echo pwned')",
        "o = __import__('o' + 's')\no.system('echo pwned')",
        "getattr(__import__('os'), 'sys' + 'tem')('echo pwned')",
        "import importlib\nimportlib.import_module('subprocess').run(['echo', 'pwned'])",
        "import sys\nsys.modules['os'].popen('echo pwned')",
        "from subprocess import *\ncheck_output(['echo', 'pwned'])",
        "import posix\nposix.system('echo pwned')",
        "import pty\npty.spawn('/bin/sh')",
        "import asyncio\nasyncio.create_subprocess_shell('echo pwned')",
        "import os\nos.execv('/bin/echo', ['echo', 'pwned'])",
        "import os\nf = os.system\nf('echo pwned')",
        "import os\nlist(map(os.system, ['echo pwned']))",
        "import os as _o\nrunner = getattr(_o, ''.join(['sy', 'st', 'em']))\nrunner('echo')",
        "import os\ngetattr(os, 'metsys'[::-1])('echo pwned')",
        "def f():\n    import subprocess\n    subprocess.call('echo pwned', shell=True)",
    ],
)
def test_process_spawning_through_aliases_is_critical(scan_files, code):
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, PROCESS) is Severity.CRITICAL, findings


def test_finding_carries_line_and_excerpt(scan_files):
    findings = _findings(scan_files, _src("import os\n\nx = 1\nos.system('echo pwned')\n"))
    (f,) = [f for f in findings if f.rule_id == PROCESS]
    loc = f.evidence[0].location
    assert loc.line == 5
    assert f.evidence[0].excerpt == "os.system('echo pwned')"


@pytest.mark.parametrize(
    ("code", "severity"),
    [
        ("code = open('x').read()\nexec(code)", Severity.HIGH),
        ("eval(input_text)", Severity.HIGH),
        ("c = compile(src, 'x', 'exec')", Severity.HIGH),
        ("name = cfg['m']\nmod = __import__(name)", Severity.HIGH),
        ("import importlib\nm = importlib.import_module(cfg.backend)", Severity.HIGH),
        ("import os\nfn = getattr(os, cfg.fn)", Severity.HIGH),
        ("import builtins\nbuiltins.open = my_open", Severity.HIGH),
        ("import builtins\nsetattr(builtins, 'print', hook)", Severity.HIGH),
        ("__builtins__['eval'](payload)", Severity.HIGH),
        ("import sys\nsys.meta_path.insert(0, Finder())", Severity.HIGH),
        ("import base64\nexec(base64.b64decode(blob))", Severity.CRITICAL),
    ],
)
def test_dynamic_code(scan_files, code, severity):
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, DYNAMIC) is severity, findings


def test_relative_dynamic_import_is_only_medium(scan_files):
    code = "import importlib\nm = importlib.import_module(f'.{name}', package=__package__)"
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, DYNAMIC) is Severity.MEDIUM


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_exec_of_base64_payload_reveals_the_hidden_call(scan_files):
    payload = _b64("import subprocess; subprocess.run(['echo', 'pwned'])")
    findings = _findings(scan_files, _src(f"import base64\nexec(base64.b64decode('{payload}'))"))
    assert _worst(findings, DYNAMIC) is Severity.CRITICAL
    assert _worst(findings, ENCODED) is Severity.CRITICAL
    (hidden,) = [f for f in findings if f.rule_id == PROCESS]
    assert hidden.severity is Severity.CRITICAL
    assert hidden.evidence[0].location.line == 3
    assert hidden.evidence[0].excerpt.startswith("[decoded code]")


def test_exec_of_zlib_base64_payload_through_variables(scan_files):
    blob = base64.b64encode(zlib.compress(b"import os\nos.system('echo pwned')\n")).decode()
    code = f"""
        import base64, zlib
        _d = '{blob}'
        _c = zlib.decompress(base64.b64decode(_d))
        exec(_c)
    """
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, PROCESS) is Severity.CRITICAL
    assert _worst(findings, DYNAMIC) is Severity.CRITICAL


def test_exec_of_joined_and_reversed_strings(scan_files):
    code = """
        exec(''.join(['imp', 'ort os; os.sys', 'tem("echo pwned")']))
        eval(")'dewnp ohce'(metsys.)'so'(__tropmi__"[::-1])
    """
    findings = _findings(scan_files, _src(code))
    lines = {f.evidence[0].location.line for f in findings if f.rule_id == PROCESS}
    assert lines == {3, 4}


def test_marshal_of_decoded_blob_is_critical(scan_files):
    code = "import marshal, base64\nf = marshal.loads(base64.b64decode(B))"
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, ENCODED) is Severity.CRITICAL
    assert _worst(findings, DESERIAL) is Severity.HIGH


@pytest.mark.parametrize(
    "code",
    [
        "import socket\ns = socket.socket()\ns.connect(('192.0.2.1', 4242))",
        "import urllib.request\nurllib.request.urlopen('http://192.0.2.1/x')",
        "from urllib.request import urlretrieve as get\nget('http://192.0.2.1/x', 'y')",
        "import requests\nrequests.post('http://192.0.2.1', data=b'x')",
        "import httpx\nhttpx.get('http://192.0.2.1')",
        "import http.client\nc = http.client.HTTPSConnection('192.0.2.1')",
        "import torch\nm = torch.hub.load('someone/repo', 'model')",
        "from huggingface_hub import hf_hub_download\n"
        "p = hf_hub_download('other/repo', filename='modeling_other.py')",
        "from transformers import AutoModel\n"
        "m = AutoModel.from_pretrained('other/repo', trust_remote_code=True)",
        "from transformers.dynamic_module_utils import get_class_from_dynamic_module\n"
        "cls = get_class_from_dynamic_module('other/repo--modeling.X', 'x')",
    ],
)
def test_network_and_foreign_code(scan_files, code):
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, NETWORK) is Severity.HIGH, findings


@pytest.mark.parametrize(
    "code",
    [
        # Processors fetch images from URLs their caller passes (Qwen-VL's visual.py does).
        "import requests\nimg = requests.get(image_url, stream=True).raw",
        "import urllib.request\ndata = urllib.request.urlopen(url).read()",
        # Inference handlers load their own folder with trust_remote_code.
        "from transformers import AutoModel\n"
        "m = AutoModel.from_pretrained(path, trust_remote_code=True)",
    ],
)
def test_runtime_urls_and_paths_are_medium(scan_files, code):
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, NETWORK) is Severity.MEDIUM, findings


@pytest.mark.parametrize(
    "code",
    [
        "import requests\ntry:\n    pass\nexcept requests.exceptions.HTTPError:\n    pass",
        "from huggingface_hub import hf_hub_download\n"
        "p = hf_hub_download(repo_id, filename='vision_tower.safetensors')",
        "from urllib.parse import urlparse\nu = urlparse(url)",
    ],
)
def test_inert_network_names_are_quiet(scan_files, code):
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, NETWORK) is None, findings


@pytest.mark.parametrize(
    "code",
    [
        "import os\nos.remove(path)",
        "import shutil\nshutil.rmtree(cache_dir)",
        "import os\nos.chmod(p, 0o777)",
        "import os\nwith open(os.path.expanduser('~/.bashrc'), 'a') as f:\n    f.write('x')",
        "from pathlib import Path\nk = Path.home() / '.ssh' / 'authorized_keys'",
        "p = '/etc/cron' + '.d/job'",
        "import os\nos.rename(src, dst)",
        "import os\nos.replace(tmp, target)",
        "import shutil as sh\nsh.move(a, b)",
        "from os import symlink\nsymlink(a, b)",
        "from pathlib import Path\nPath(p).unlink()",
        "import pathlib\npathlib.Path(cache).rename(other)",
    ],
)
def test_file_writes_and_persistence(scan_files, code):
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, FILE_WRITE) is Severity.HIGH, findings


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import pickle\nobj = pickle.load(open(vocab_file, 'rb'))", True),
        ("import torch\nsd = torch.load(path, map_location='cpu')", True),
        ("import numpy as np\na = np.load(path, allow_pickle=True)", True),
        ("import yaml\nc = yaml.load(text)", True),
        ("import yaml\nc = yaml.load(text, Loader=yaml.FullLoader)", True),
        ("import dill\nx = dill.loads(b)", True),
        ("import joblib\nx = joblib.load(p)", True),
        ("import torch\nsd = torch.load(path, weights_only=True)", False),
        ("import numpy as np\na = np.load(path)", False),
        ("import yaml\nc = yaml.load(text, Loader=yaml.SafeLoader)", False),
        ("import yaml\nc = yaml.safe_load(text)", False),
    ],
)
def test_unsafe_deserialization(scan_files, code, expected):
    findings = _findings(scan_files, _src(code))
    assert (_worst(findings, DESERIAL) is Severity.HIGH) is expected, findings


def test_long_encoded_constants(scan_files):
    blob = base64.b64encode(bytes(range(256)) * 3).decode()
    hexblob = (bytes(range(256)) * 2).hex()
    code = f"A = '{blob}'\nB = '{hexblob}'\nC = {bytes(range(256)) * 3!r}\n"
    findings = _findings(scan_files, _src(code))
    lines = sorted(f.evidence[0].location.line for f in findings if f.rule_id == ENCODED)
    assert lines == [2, 3, 4]
    assert all(f.severity is Severity.HIGH for f in findings if f.rule_id == ENCODED)


def test_encoded_blob_says_what_it_decodes_to(scan_files):
    blob = base64.b64encode(zlib.compress(bytes(range(256)) * 8, 0)).decode()
    findings = _findings(scan_files, _src(f"KERNEL = '{blob}'\n"))
    (f,) = [f for f in findings if f.rule_id == ENCODED]
    assert "decodes to zlib data" in f.message


def test_long_prose_and_cjk_strings_are_not_blobs(scan_files):
    prose = "You are a helpful assistant. " * 40
    cjk = "你是一个乐于助人的助手请用中文回答问题" * 40
    code = f"SYSTEM = {prose!r}\nZH = {cjk!r}\n"
    assert _worst(_findings(scan_files, _src(code)), ENCODED) is None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import os\nt = os.environ['HF_TOKEN']", True),
        ("import os\nt = os.getenv('AWS_SECRET_ACCESS_KEY')", True),
        ("from os import environ\nk = environ.get('OPENAI_API_KEY')", True),
        ("import os, json\nd = json.dumps(dict(os.environ))", True),
        ("import os\nfor k in os.environ:\n    pass", True),
        ("import os\np = os.path.expanduser('~/.aws/credentials')", True),
        ("import os\np = os.path.join(os.path.expanduser('~'), '.netrc')", True),
        ("import os\nx = os.environ.get('TOKENIZERS_PARALLELISM')", False),
        ("import os\nx = os.environ['CUDA_VISIBLE_DEVICES']", False),
        ("import os\nos.environ['HF_TOKEN'] = 'set-not-read'", False),
    ],
)
def test_credential_access(scan_files, code, expected):
    findings = _findings(scan_files, _src(code))
    assert (_worst(findings, CREDS) is Severity.HIGH) is expected, findings


@pytest.mark.parametrize(
    "code",
    [
        "import ctypes\nlib = ctypes.CDLL('./libx.so')",
        "from ctypes import cdll\nlib = cdll.LoadLibrary('libx.so')",
        "import cffi\nffi = cffi.FFI()",
        "import torch\ntorch.ops.load_library('ext.so')",
    ],
)
def test_native_libraries(scan_files, code):
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, NATIVE) is Severity.HIGH, findings


@pytest.mark.parametrize(
    "code",
    [
        "import re\np = re.compile(r'\\s+')",
        "import torch\nm = torch.compile(model)",
        "model.eval()",
        "def f(compile=False):\n    return compile",
        "def forward(x, eval=False):\n    return x if eval else -x",
        "import ast\nv = ast.literal_eval(s)",
        "import importlib\nok = importlib.util.find_spec('flash_attn') is not None",
        "x = importlib.import_module('flash_attn')",
        "import torch\ndt = getattr(torch, cfg.torch_dtype)",
        "import os\np = os.path.join(os.path.dirname(__file__), 'model.pth')",
    ],
)
def test_benign_idioms_are_quiet(scan_files, code):
    findings = _findings(scan_files, _src(code))
    assert [f for f in findings if f.severity >= Severity.MEDIUM] == []


def test_syntax_error_is_could_not_verify(scan_files):
    findings = _findings(scan_files, _src("def broken(:\n    pass\n"))
    assert [(f.rule_id, f.severity) for f in findings] == [(UNPARSABLE, Severity.MEDIUM)]
    assert "not verified" in findings[0].message


def test_syntax_error_naming_dangerous_calls_is_high(scan_files):
    # Newer syntax than ours must not hide a payload: the text is still searched.
    findings = _findings(scan_files, _src("type X = int\nimport os\nos.system('echo pwned')\n"))
    (f,) = findings
    assert (f.rule_id, f.severity) == (UNPARSABLE, Severity.HIGH)
    assert "os.system" in f.message


@pytest.mark.parametrize(
    "code",
    ["x = " + "-" * 100_000 + "1", "x = y" + ".a" * 100_000, "x = " + "(" * 300 + ")" * 300],
)
def test_deep_nesting_is_contained(scan_files, code):
    result = _scan(scan_files, _src(code))
    assert {f.rule_id for f in result.run.findings} == {UNPARSABLE}


def test_deep_but_parsable_expressions_are_bounded(scan_files):
    chain = "import os\nx = os" + ".path" * 400 + "\nos.system('echo')\n"
    nested = "y = " + "[" * 150 + "]" * 150 + "\n"
    findings = _findings(scan_files, _src(chain + nested))
    assert _worst(findings, PROCESS) is Severity.CRITICAL


def test_exponential_folding_is_bounded(scan_files):
    lines = ["a0 = 'x'"] + [f"a{i} = a{i - 1} + a{i - 1}" for i in range(1, 80)]
    lines += ["b = b + b", "exec(a79)", "exec(b)"]
    started = time.perf_counter()
    findings = _findings(scan_files, _src("\n".join(lines)))
    assert time.perf_counter() - started < 5
    assert _worst(findings, DYNAMIC) is Severity.HIGH


def test_too_large_file_is_skipped_not_passed(scan_files, monkeypatch):
    monkeypatch.setattr(remote_code, "MAX_SOURCE_BYTES", 100)
    result = _scan(scan_files, _src("x = 1\n" * 50))
    assert [f.rule_id for f in result.run.findings] == [UNPARSABLE]
    assert [s.reason for s in result.run.skips] == ["too-large"]


def test_utf7_coding_cookie_does_not_hide_code(scan_files):
    hidden = "os.system('echo pwned')".encode("utf-7")
    source = b"# -*- coding: utf-7 -*-\nimport os\n" + hidden + b"\n"
    findings = _findings(scan_files, source)
    (f,) = [f for f in findings if f.rule_id == PROCESS]
    assert f.evidence[0].excerpt == "os.system('echo pwned')"


def test_imports_fact_includes_dynamic_imports(scan_files):
    result = _scan(scan_files, _src("import torch\nm = __import__('sub' + 'process')\n"))
    facts = {f.key: f.value for f in result.run.facts}
    assert facts["python.imports"] == ["subprocess", "torch"]


def test_rules_are_declared_and_well_formed():
    ids = {r.id for r in RemoteCodeAnalyzer.rules}
    assert ids == {
        PROCESS,
        DYNAMIC,
        NETWORK,
        FILE_WRITE,
        DESERIAL,
        ENCODED,
        CREDS,
        NATIVE,
        UNPARSABLE,
    }
    assert RemoteCodeAnalyzer.__doc__


@pytest.mark.parametrize(
    "code",
    [
        "v = getattr(self.config, name, None)",
        "from torch import nn\nact = getattr(nn, activation_name)()",
        "import torch\ndt = getattr(torch, dtype_str)",
        "import shutil, os\ndef save_vocabulary(self, d):\n"
        "    shutil.copyfile(self.vocab_file, os.path.join(d, 'v.model'))",
        "import importlib.metadata\nv = importlib.metadata.version('transformers')",
        "import sys\ncls = getattr(sys.modules[__name__], name)",
        "import sys\ncls = getattr(sys.modules[self.__module__], name)",
        "import sys\nx = sys.modules.get('torch_npu')\nok = 'flash_attn' in sys.modules",
        "import importlib\nm = importlib.import_module(f'transformers.models.{t}')\n"
        "c = getattr(m, n)",
        "d = vars(self)\ne = self.__dict__\nf = config.__dict__.get('x')",
        "import functools, operator\nn = functools.reduce(operator.mul, shape, 1)",
        "import functools\nsub = functools.reduce(getattr, name.split('.'), model)",
        "import operator\nw = operator.attrgetter('weight')(layer)",
        "import timeit\nt0 = timeit.default_timer()",
        "import requests\nimg = requests.get(url).raw",
        "def f(m):\n    return getattr(m, n)\nf(model)",
    ],
)
def test_namespace_idioms_of_modeling_code_are_not_high(scan_files, code):
    findings = _findings(scan_files, _src(code))
    assert [f for f in findings if f.severity >= Severity.HIGH] == []


def test_module_passed_to_a_local_function_binds_its_parameter(scan_files):
    code = "import os\ndef run(m, c):\n    m.system(c)\nrun(os, 'echo pwned')\n"
    assert _worst(_findings(scan_files, _src(code)), PROCESS) is Severity.CRITICAL

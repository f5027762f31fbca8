"""Discover engine behaviours: value flow, comments, limits, binary files and GGUF headers."""

from __future__ import annotations

import struct
from pathlib import Path

from modelcustoms.core import EngineStatus
from modelcustoms.core.references import ReferenceKind, Via
from modelcustoms.engines.discover import DiscoverEngine, DiscoverOptions
from modelcustoms.engines.discover.python_ast import scan_python
from modelcustoms.engines.discover.text import Syntax, strip_comments
from modelcustoms.engines.discover.vocab import default_vocabulary


def _models(source: str) -> dict[str, tuple[int, Via]]:
    hits, error = scan_python(default_vocabulary(), source)
    assert error is None
    return {(h.model or h.endpoint or ""): (h.line, h.via) for h in hits}


def test_values_are_followed_through_constants_dicts_env_defaults_and_fstrings() -> None:
    src = (
        "import os\n"
        "ORG = 'Qwen'\n"
        "M = {'chat': 'deepseek-ai/DeepSeek-V3'}\n"
        "a = AutoModel.from_pretrained(f'{ORG}/Qwen2.5-7B')\n"
        "b = AutoModel.from_pretrained(M['chat'])\n"
        "c = LLM(model=os.environ.get('X', 'THUDM/glm-4-9b'))\n"
    )
    got = _models(src)
    assert got["Qwen/Qwen2.5-7B"] == (4, Via.CONSTANT)
    assert got["deepseek-ai/DeepSeek-V3"] == (5, Via.DICT)
    assert got["THUDM/glm-4-9b"] == (6, Via.ENV_DEFAULT)
    assert len(got) == 3  # consumed literals are not reported a second time


def test_comments_docstrings_and_local_paths_are_not_references() -> None:
    src = (
        '"""Uses Qwen/Qwen2.5-7B."""\n'
        "# AutoModel.from_pretrained('Qwen/Qwen2.5-7B')\n"
        "m = AutoModel.from_pretrained('./out/ckpt')\n"
        "p = pipeline('text-generation')\n"
    )
    assert _models(src) == {}


def test_openai_client_base_url_gives_the_host_of_later_requests() -> None:
    hits, _ = scan_python(
        default_vocabulary(),
        "c = OpenAI(base_url='https://api.moonshot.cn/v1')\n"
        "c.chat.completions.create(model='moonshot-v1-8k', messages=[])\n",
    )
    kinds = {h.kind: h for h in hits}
    assert kinds[ReferenceKind.API_ENDPOINT].line == 1
    request = kinds[ReferenceKind.MODEL_STRING]
    assert request.provider is not None and request.provider.id == "moonshot-api"


def test_comment_stripping_keeps_urls_and_line_numbers() -> None:
    lines = strip_comments("a: https://x.io/v1 # note\n# b: 1\nc: '#x'\n", Syntax.HASH)
    assert lines == ["a: https://x.io/v1", "", "c: '#x'"]
    slash = strip_comments('u = "https://a.b"; // c\n/* x\ny */ z\n', Syntax.SLASH)
    assert slash == ['u = "https://a.b"; ', "", " z"]


def _gguf(kv: dict[str, str | int]) -> bytes:
    def s(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<Q", len(raw)) + raw

    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv))
    for k, v in kv.items():
        if isinstance(v, int):
            out += s(k) + struct.pack("<I", 4) + struct.pack("<I", v)
        else:
            out += s(k) + struct.pack("<I", 8) + s(v)
    return out


def test_gguf_headers_binary_files_and_limits(tmp_path: Path) -> None:
    (tmp_path / "m.gguf").write_bytes(
        _gguf(
            {
                "general.organization": "Qwen",
                "general.basename": "Qwen2.5-Coder",
                "general.base_model.count": 1,
                "general.base_model.0.repo_url": "https://huggingface.co/Qwen/Qwen2.5-Coder-7B",
            }
        )
    )
    (tmp_path / "weights.bin").write_bytes(b"\x00\x01 Qwen/Qwen2.5-7B")
    (tmp_path / "big.py").write_text("M = 'Qwen/Qwen2.5-7B'\n" * 200)
    (tmp_path / "bad.py").write_text("print 'x'\nMODEL='deepseek-ai/DeepSeek-V3'\n")
    result = DiscoverEngine(DiscoverOptions(max_source_bytes=1000)).run(tmp_path)
    by_file = {(r.file, r.model) for r in result.references}
    assert ("m.gguf", "Qwen/Qwen2.5-Coder") in by_file
    assert ("m.gguf", "Qwen/Qwen2.5-Coder-7B") in by_file
    assert ("bad.py", "deepseek-ai/DeepSeek-V3") in by_file  # unparseable: scanned as lines
    assert not any(r.file in ("weights.bin", "big.py") for r in result.references)
    reasons = {s.artifact: s.reason for s in result.run.skips}
    assert reasons["big.py"] == "too-large" and reasons["bad.py"] == "unparseable"
    assert result.run.status is EngineStatus.PARTIAL
    gguf = next(r for r in result.references if r.file == "m.gguf")
    assert gguf.publisher == "alibaba" and gguf.kind is ReferenceKind.GGUF_FILE

"""scripts/verify_architectures.py reads runtime releases as text and checks the kb rows."""

from __future__ import annotations

import importlib.util
import json
import sys
import zipfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "verify_architectures.py"


@pytest.fixture(scope="module")
def va():
    spec = importlib.util.spec_from_file_location("verify_architectures", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _transformers(folder: Path, version: str, types: dict[str, str]) -> Path:
    """A wheel laid out like transformers' with these model types → classes."""
    wheel = folder / f"transformers-{version}-py3-none-any.whl"
    config = "CONFIG_MAPPING_NAMES = OrderedDict([{}])".format(
        ", ".join(f'("{t}", "{c.replace("ForCausalLM", "Config")}")' for t, c in types.items())
    )
    mapping = "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES = OrderedDict([{}])".format(
        ", ".join(f'("{t}", "{c}")' for t, c in types.items())
    )
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(f"transformers-{version}.dist-info/METADATA", f"Version: {version}\n")
        zf.writestr("transformers/models/auto/configuration_auto.py", config)
        zf.writestr("transformers/models/auto/modeling_auto.py", mapping)
        for t, c in types.items():
            zf.writestr(f"transformers/models/{t}/modeling_{t}.py", f"class {c}(Base):\n    pass\n")
    return wheel


def _vllm(folder: Path, classes: list[str], removed: dict[str, str]) -> Path:
    root = folder / "vllm-src"
    reg = root / "vllm" / "model_executor" / "models" / "registry.py"
    reg.parent.mkdir(parents=True)
    text_models = ", ".join(f'"{c}": ("m", "{c}")' for c in classes)
    gone = ", ".join(f'"{c}": "{v}"' for c, v in removed.items())
    reg.write_text(
        f"_TEXT_GENERATION_MODELS = {{{text_models}}}\n_PREVIOUSLY_SUPPORTED_MODELS = {{{gone}}}\n"
    )
    (root / "vllm" / "version.py").write_text('__version__ = "0.99.0"\n')
    return root


def _row(rid: str, cls: str, mtype: str, tf: str, vllm: str, since: str | None) -> dict:
    support = {"status": tf, "source": "https://example.org/t"}
    if since:
        support["since"] = since
    return {
        "id": rid,
        "classes": [cls],
        "model_types": [mtype],
        "transformers": support,
        "vllm": {"status": vllm, "source": "https://example.org/v"},
        "llama_cpp": {"status": "none", "source": "https://example.org/l"},
    }


def _kb(folder: Path, rows: list[dict]) -> Path:
    path = folder / "architectures.json"
    path.write_text(json.dumps({"architectures": rows}))
    return path


def test_a_true_table_agrees_and_a_wrong_one_is_caught(va, tmp_path, capsys) -> None:
    old = _transformers(tmp_path, "4.40.0", {"llama": "LlamaForCausalLM"})
    new = _transformers(
        tmp_path, "4.41.0", {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM"}
    )
    vllm = _vllm(tmp_path, ["LlamaForCausalLM"], {"Qwen2ForCausalLM": "0.5.0"})
    good = _kb(
        tmp_path,
        [
            _row("llama", "LlamaForCausalLM", "llama", "native", "native", None),
            _row("qwen2", "Qwen2ForCausalLM", "qwen2", "native", "none", "4.41.0"),
        ],
    )
    argv = ["--transformers", str(old), str(new), "--vllm", str(vllm), "--kb", str(good)]
    assert va.main(argv) == 0
    out = capsys.readouterr().out
    assert "0 disagree" in out and "transformers 4.41.0" in out and "vllm 0.99.0" in out
    assert "removed: Qwen2ForCausalLM (last 0.5.0)" in out

    wrong = _kb(
        tmp_path,
        [
            # Claims: vLLM serves qwen2 (it removed it), qwen2 since 4.40.0 (it came in 4.41.0),
            # and transformers needs remote code for llama (it is native).
            _row("llama", "LlamaForCausalLM", "llama", "remote-code", "native", None),
            _row("qwen2", "Qwen2ForCausalLM", "qwen2", "native", "native", "4.40.0"),
        ],
    )
    argv[-1] = str(wrong)
    assert va.main([*argv, "--json"]) == 1
    checks = json.loads(capsys.readouterr().out.split("\n\n")[0])
    bad = {(c["row"], c["what"].split(" ")[0]) for c in checks if c["verdict"] == "DISAGREE"}
    assert bad == {("llama", "transformers"), ("qwen2", "vllm"), ("qwen2", "transformers")}


def test_unusable_input_is_exit_2(va, tmp_path, capsys) -> None:
    not_a_wheel = tmp_path / "x.whl"
    not_a_wheel.write_bytes(b"nope")
    assert va.main(["--transformers", str(not_a_wheel)]) == 2
    assert "error:" in capsys.readouterr().err

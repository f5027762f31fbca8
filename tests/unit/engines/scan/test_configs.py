"""ConfigAnalyzer: configs recognised by content; templates, remote code and flags reported."""

from __future__ import annotations

import json

from modelcustoms.core import Fact, Severity
from modelcustoms.engines.scan.configs import ConfigAnalyzer, classify
from tests.conftest import ScanFiles, rule_ids
from tests.unit.engines.scan.test_templates import CHATML_QWEN, GEMMA

EVIL = "{{ lipsum.__globals__.os.popen('echo pwned').read() }}"


def _scan(scan_files: ScanFiles, files: dict[str, object]):  # type: ignore[no-untyped-def]
    raw = {k: v if isinstance(v, bytes) else json.dumps(v).encode() for k, v in files.items()}
    return scan_files(raw, analyzers=[ConfigAnalyzer()])


def _facts(res) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {f.key: f.value for f in res.run.facts if isinstance(f, Fact)}


TOKENIZER_CONFIG = {
    "tokenizer_class": "Qwen2Tokenizer",
    "model_max_length": 32768,
    "bos_token": None,
    "eos_token": "<|im_end|>",
    "added_tokens_decoder": {"151643": {"content": "<|endoftext|>", "special": True}},
    "chat_template": CHATML_QWEN,
}
MODEL_CONFIG = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "hidden_size": 896,
    "num_hidden_layers": 24,
    "vocab_size": 151936,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.43.1",
}
TOKENIZER_JSON = {
    "version": "1.0",
    "truncation": None,
    "padding": None,
    "added_tokens": [],
    "normalizer": {"type": "NFC"},
    "pre_tokenizer": {
        "type": "Sequence",
        "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(?i:'s|'t)"}}],
    },
    "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
}


def test_benign_repo_is_clean(scan_files: ScanFiles) -> None:
    res = _scan(
        scan_files,
        {
            "tokenizer_config.json": TOKENIZER_CONFIG,
            "config.json": MODEL_CONFIG,
            "tokenizer.json": TOKENIZER_JSON,
            "generation_config.json": {"do_sample": True, "temperature": 0.7, "top_p": 0.8},
            "chat_template.jinja": GEMMA.encode(),
        },
    )
    assert res.run.findings == ()
    kinds = sorted(f.value for f in res.run.facts if f.key == "config.kind")
    assert kinds == [
        "chat-template",
        "generation-config",
        "model-config",
        "tokenizer",
        "tokenizer-config",
    ]


def test_kind_is_by_content_not_name() -> None:
    assert classify(MODEL_CONFIG, "tokenizer.json") == "model-config"
    assert classify(TOKENIZER_JSON, "config.json") == "tokenizer"
    assert classify({"chat_template": "x"}) == "chat-template"
    assert classify({"model_type": "x", "do_sample": True}, "config.json") == "model-config"
    assert (
        classify({"model_type": "x", "do_sample": True}, "generation_config.json")
        == "generation-config"
    )


def test_evil_template_in_tokenizer_config(scan_files: ScanFiles) -> None:
    res = _scan(scan_files, {"renamed.json": {**TOKENIZER_CONFIG, "chat_template": EVIL}})
    (f,) = [f for f in res.run.findings if f.rule_id == "template.sandbox-escape"]
    assert f.severity is Severity.CRITICAL and f.evidence[0].location.pointer == "/chat_template"


def test_template_list_and_chat_template_json(scan_files: ScanFiles) -> None:
    doc = {
        **TOKENIZER_CONFIG,
        "chat_template": [
            {"name": "default", "template": CHATML_QWEN},
            {"name": "tool_use", "template": EVIL},
            {"nope": 1},
        ],
    }
    res = _scan(
        scan_files, {"tokenizer_config.json": doc, "chat_template.json": {"chat_template": EVIL}}
    )
    pointers = {
        f.evidence[0].location.pointer
        for f in res.run.findings
        if f.rule_id == "template.sandbox-escape"
    }
    assert pointers == {"/chat_template/tool_use", "/chat_template"}
    assert "config.malformed" in rule_ids(res)


def test_jinja_file_sniffed_as_json_is_a_template(scan_files: ScanFiles) -> None:
    # A template that starts with ``{%`` is sniffed as JSON; content decides it is Jinja.
    res = _scan(
        scan_files,
        {
            "chat_template.jinja": b"{%- if true %}" + EVIL.encode() + b"{% endif %}",
            "t2.txt": b"Use " + EVIL.encode(),
        },
    )
    escapes = [f for f in res.run.findings if f.rule_id == "template.sandbox-escape"]
    assert [f.evidence[0].location.artifact for f in escapes] == ["chat_template.jinja"]


def test_auto_map_is_remote_code(scan_files: ScanFiles) -> None:
    doc = {
        **MODEL_CONFIG,
        "model_type": "phi3small",
        "auto_map": {
            "AutoConfig": "configuration_phi3.Phi3Config",
            "AutoModelForCausalLM": "other/repo--modeling_phi3.Phi3ForCausalLM",
            "AutoTokenizer": ["tokenization_x.XTokenizer", None],
        },
    }
    res = _scan(scan_files, {"config.json": doc})
    (f,) = [f for f in res.run.findings if f.rule_id == "config.remote-code"]
    assert f.severity is Severity.MEDIUM and "another repository" in f.message
    assert "modeling_phi3" in str(_facts(res)["config.remote_code_modules"])
    # Custom model types go with auto_map: no separate unknown-type finding.
    assert "config.unknown-model-type" not in rule_ids(res)


def test_custom_pipelines_diffusers_and_sentence_transformers(scan_files: ScanFiles) -> None:
    res = _scan(
        scan_files,
        {
            "config.json": {
                **MODEL_CONFIG,
                "custom_pipelines": {"text-x": {"impl": "pipe.MyPipe", "pt": ["AutoModel"]}},
            },
            "model_index.json": {
                "_class_name": "StableDiffusionPipeline",
                "_diffusers_version": "0.30.0",
                "unet": ["diffusers", "UNet2DConditionModel"],
                "scheduler": ["my_sched", "EvilScheduler"],
            },
            "modules.json": [
                {"idx": 0, "name": "0", "path": "", "type": "custom_st.Module"},
                {
                    "idx": 1,
                    "name": "1",
                    "path": "1_Pooling",
                    "type": "sentence_transformers.models.Pooling",
                },
            ],
        },
    )
    hits = [f for f in res.run.findings if f.rule_id == "config.remote-code"]
    assert len(hits) == 3


def test_trust_remote_code_true_anywhere(scan_files: ScanFiles) -> None:
    doc = {
        "model_kwargs": {"trust_remote_code": True},
        "__version__": {"sentence_transformers": "3.0"},
    }
    res = _scan(scan_files, {"config_sentence_transformers.json": doc})
    (f,) = [f for f in res.run.findings if f.rule_id == "config.trust-remote-code"]
    assert f.evidence[0].location.pointer == "/model_kwargs/trust_remote_code"


def test_unknown_model_type_is_low(scan_files: ScanFiles) -> None:
    res = _scan(scan_files, {"config.json": {**MODEL_CONFIG, "model_type": "totally_new"}})
    (f,) = res.run.findings
    assert f.rule_id == "config.unknown-model-type" and f.severity is Severity.LOW


def test_duplicate_sensitive_key_is_high(scan_files: ScanFiles) -> None:
    raw = b'{"tokenizer_class": "X", "chat_template": "{{ 1 }}", "chat_template": "{{ 2 }}"}'
    res = _scan(scan_files, {"tokenizer_config.json": raw})
    (f,) = [f for f in res.run.findings if f.rule_id == "config.duplicate-key"]
    assert f.severity is Severity.HIGH


def test_invalid_json_and_too_large(scan_files: ScanFiles) -> None:
    res = _scan(scan_files, {"config.json": b'{"model_type": "llama",,}'})
    assert rule_ids(res) == {"config.malformed"}
    # The padding keeps the nesting out of the sniffer's 4 KiB head (see the report on sniff.py).
    deep = b'{"pad": "' + b"x" * 5000 + b'", "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert rule_ids(_scan(scan_files, {"x.json": deep})) == {"config.malformed"}


def test_plain_text_is_ignored(scan_files: ScanFiles) -> None:
    res = _scan(scan_files, {"README.md": b"# A model\nUse {{ lipsum.__globals__ }} responsibly."})
    assert res.run.findings == () and res.run.skips == ()

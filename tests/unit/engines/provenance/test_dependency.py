"""Dependency-risk facts (remote code, native runtime support, licence terms) and the
``dependency`` policy profile that uses them, on real engine runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from modelcustoms.core import Decision
from modelcustoms.kb import default_kb
from modelcustoms.pipeline import inspect_paths
from modelcustoms.policy import evaluate, load_policy
from tests.unit.engines.provenance.helpers import facts, run, write

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
CHATGLM = {
    "architectures": ["ChatGLMModel"],
    "model_type": "chatglm",
    "auto_map": {"AutoModel": "modeling_chatglm.ChatGLMForConditionalGeneration"},
}
CARD_APACHE = b"---\nlicense: apache-2.0\n---\n# m\n"


def _dep(result):
    return {k: v for k, v in facts(result).items() if k.startswith("dependency.")}


def test_remote_code_with_native_runtimes(tmp_path):
    got = _dep(run(tmp_path, {"config.json": CHATGLM, "modeling_chatglm.py": b"x = 1\n"}))
    assert got["dependency.trust_remote_code"] is True
    assert got["dependency.code_files"] == ["modeling_chatglm.py"]
    assert got["dependency.architecture"] == "ChatGLMModel"
    assert got["dependency.native_support.transformers"] == "remote-code"
    assert got["dependency.native_support.vllm"] == "native"
    assert got["dependency.native_runtimes"] == ["vllm", "llama_cpp"]


def test_native_architecture_without_remote_code(tmp_path):
    cfg = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"}
    got = _dep(run(tmp_path, {"config.json": cfg, "README.md": CARD_APACHE}))
    assert got["dependency.trust_remote_code"] is False
    assert got["dependency.native_runtimes"] == ["transformers", "vllm", "llama_cpp"]
    assert got["dependency.license.basis"] == "declared"
    assert got["dependency.license.redistribution"] == "yes"
    assert got["dependency.license.internal_mirroring"] == "yes"
    assert got["dependency.license.remote_restriction"] is False
    assert all("apache" in i for i in got["dependency.license.ids"])


def test_unknown_architecture_is_said_not_guessed(tmp_path):
    cfg = {"architectures": ["BrandNewForCausalLM"], "model_type": "brand_new"}
    got = _dep(run(tmp_path, {"config.json": cfg}))
    assert got["dependency.architecture"] == "BrandNewForCausalLM"
    assert got["dependency.native_support.llama_cpp"] == "unknown"
    assert "dependency.native_runtimes" not in got
    assert got["dependency.license.known"] is False


def test_a_folder_of_weights_only_makes_no_remote_code_claim(tmp_path):
    got = _dep(run(tmp_path, {"weights.bin": b"\x00" * 64}))
    assert "dependency.trust_remote_code" not in got


def test_remote_code_evidence_points_at_auto_map(tmp_path):
    result = run(tmp_path, {"config.json": CHATGLM})
    fact = next(f for f in result.facts if f.key == "dependency.trust_remote_code")
    assert fact.evidence[0].location.artifact == "config.json"
    assert fact.evidence[0].location.pointer == "/auto_map"
    support = next(f for f in result.facts if f.key == "dependency.native_support.vllm")
    assert any(e.location.artifact == "kb/architectures.json" for e in support.evidence)


@pytest.mark.parametrize(
    ("licence", "remote"),
    [("gemma", True), ("deepseek", True), ("llama3.1", False), ("mit", False)],
)
def test_licence_terms_from_the_declared_licence(tmp_path, licence, remote):
    card = f"---\nlicense: {licence}\n---\n# m\n".encode()
    got = _dep(run(tmp_path, {"config.json": {"model_type": "llama"}, "README.md": card}))
    assert got["dependency.license.remote_restriction"] is remote
    assert got["dependency.license.redistribution"] in ("yes", "conditional")


def test_every_architecture_row_cites_each_runtime():
    kb = default_kb()
    assert len(kb.architectures) >= 30
    for row in kb.architectures:
        for runtime in ("transformers", "vllm", "llama_cpp"):
            assert getattr(row, runtime).source.startswith("https://")
    assert kb.architecture("DeepseekV3ForCausalLM") is not None
    assert kb.architecture(gguf="qwen2") is kb.architecture("Qwen2ForCausalLM")


def test_every_licence_row_has_copy_terms():
    for lic in default_kb().licenses:
        assert lic.redistribution in ("yes", "conditional", "no"), lic.id
        assert lic.internal_mirroring in ("yes", "conditional", "no"), lic.id
        assert lic.remote_restriction is not None, lic.id
        assert lic.terms_verification, lic.id
        if lic.remote_restriction:
            assert lic.remote_restriction_clause, lic.id


def _judge(tmp_path, files, policy="dependency"):
    write(tmp_path, files)
    report = inspect_paths([tmp_path], now=NOW)
    verdict = evaluate(report, load_policy(policy)).verdict
    return verdict.decision, set(verdict.fired_rules)


def test_profile_warns_on_remote_code_only(tmp_path):
    cfg = {"architectures": ["OnlyMineForCausalLM"], "auto_map": {"AutoModel": "m.X"}}
    decision, fired = _judge(tmp_path, {"config.json": cfg, "README.md": CARD_APACHE})
    assert decision is Decision.WARN
    assert "dependency.remote-code-only" in fired


def test_profile_reports_remote_code_that_runtimes_can_replace(tmp_path):
    decision, fired = _judge(tmp_path, {"config.json": CHATGLM, "README.md": CARD_APACHE})
    assert decision is Decision.ALLOW
    assert "dependency.remote-code" in fired
    assert "dependency.remote-code-only" not in fired


def test_profile_warns_on_remote_restriction(tmp_path):
    card = b"---\nlicense: gemma\n---\n# m\n"
    cfg = {"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2"}
    decision, fired = _judge(tmp_path, {"config.json": cfg, "README.md": card})
    assert decision is Decision.WARN
    assert "dependency.remote-restriction" in fired


def test_profile_stands_aside_when_the_licence_is_unknown(tmp_path):
    card = b"---\nlicense: other\n---\n# m\n"
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}
    decision, fired = _judge(tmp_path, {"config.json": cfg, "README.md": card})
    assert decision is Decision.ALLOW
    assert not fired


def test_profile_warns_when_an_internal_copy_is_conditional(tmp_path):
    card = b"---\nlicense: cc-by-nc-4.0\n---\n# m\n"
    cfg = {"architectures": ["CohereForCausalLM"], "model_type": "cohere"}
    decision, fired = _judge(tmp_path, {"config.json": cfg, "README.md": card})
    assert decision is Decision.WARN
    assert {"dependency.conditional-mirror", "dependency.termination"} <= fired

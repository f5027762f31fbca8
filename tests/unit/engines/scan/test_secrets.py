"""SecretsAnalyzer: credentials in repository text files, redacted, without false alarms."""

from __future__ import annotations

import base64
import json
import random
import string
import time

import pytest

from modelcustoms.core import Finding, Severity
from modelcustoms.engines.scan import secrets
from modelcustoms.engines.scan.secrets import SecretsAnalyzer, is_vocabulary, redact

RULE = "secrets.credential"
# Secrets are generated at run time from a seeded generator so that no token-shaped literal
# is committed (and push protection never trips on the test suite).
_RNG = random.Random(20240227)
ALNUM = string.ascii_letters + string.digits


def _rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def _jwt() -> str:
    def enc(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc({'sub': '42'})}.{_rand(43)}"


TOKENS = {
    "Hugging Face token": "hf_" + _rand(34, string.ascii_letters),
    "OpenAI API key": "sk-proj-" + _rand(48, ALNUM + "_-"),
    "OpenAI API key (legacy)": "sk-" + _rand(48),
    "Anthropic API key": "sk-ant-api03-" + _rand(93, ALNUM + "_-"),
    "GitHub token": "ghp_" + _rand(36),
    "GitHub fine-grained token": "github_pat_" + _rand(22) + "_" + _rand(59),
    "GitLab token": "glpat-" + _rand(20),
    "Slack token": f"xoxb-{_rand(11, string.digits)}-{_rand(12, string.digits)}-{_rand(24)}",
    "Google API key": "AIza" + _rand(35, ALNUM + "_-"),
    "Stripe live key": "sk_live_" + _rand(24),
    "JSON web token": _jwt(),
}


def _scan(scan_files, files: dict[str, str | bytes]):
    data = {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}
    return scan_files(data, analyzers=[SecretsAnalyzer()])


def _findings(scan_files, name: str, text: str) -> list[Finding]:
    return list(_scan(scan_files, {name: text}).run.findings)


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_known_token_formats_are_found_and_redacted(scan_files, kind):
    token = TOKENS[kind]
    text = f"# notes\n\nuse this one: {token} (do not share)\n"
    (f,) = _findings(scan_files, "NOTES.md", text)
    assert (f.rule_id, f.severity) == (RULE, Severity.HIGH)
    assert f.evidence[0].location.line == 3
    everything = f.message + (f.evidence[0].excerpt or "")
    assert token not in everything
    assert token[4:12] not in everything
    assert f"{token[:4]}…[redacted, {len(token)} chars]" in f.evidence[0].excerpt


def test_python_assignment_in_remote_code(scan_files):
    token = TOKENS["Hugging Face token"]
    src = f'# modeling_x.py\nimport os\n\nHF_TOKEN = "{token}"\n'
    (f,) = _findings(scan_files, "modeling_x.py", src)
    assert f.evidence[0].location.line == 4
    assert f.evidence[0].excerpt == f'HF_TOKEN = "{redact(token)}"'


def test_generic_high_entropy_assignments(scan_files):
    text = (
        f'{{"wandb_api_key": "{_rand(40, "0123456789abcdef")}x", '
        f'"db": {{"password": "{_rand(20)}"}}, "clientSecret": "{_rand(32)}"}}'
    )
    findings = _findings(scan_files, "config.json", text)
    assert len(findings) == 3
    assert all(f.evidence[0].location.line == 1 for f in findings)
    assert all("column" in (f.evidence[0].location.pointer or "") for f in findings)


def test_env_file_unquoted_values(scan_files):
    text = f"# .env\nMODEL=llama\nexport OPENAI_SECRET={_rand(40)}\nDEBUG=1\n"
    (f,) = _findings(scan_files, "deploy.env", text)
    assert f.evidence[0].location.line == 3


def test_aws_key_pair_is_high_and_lone_id_is_medium(scan_files):
    key_id = "AKIA" + _rand(16, string.ascii_uppercase + string.digits)
    secret = _rand(40, ALNUM + "/+")
    pair = f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
    findings = _findings(scan_files, "credentials.txt", pair)
    assert {f.severity for f in findings} == {Severity.HIGH}
    assert any("secret key" in f.message for f in findings)
    lone = f"deployed with {key_id}\n"
    (f,) = _findings(scan_files, "notes.txt", lone)
    assert f.severity is Severity.MEDIUM


def test_private_key_block(scan_files):
    body = "\n".join(_rand(64, ALNUM + "+/") for _ in range(4))
    pem = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n"
    (f,) = _findings(scan_files, "deploy_key.txt", "key:\n" + pem)
    assert f.evidence[0].location.line == 3
    assert body.splitlines()[0] not in f.message + (f.evidence[0].excerpt or "")
    # The same block escaped inside a JSON string.
    doc = json.dumps({"service_account": {"private_key": pem}})
    assert len(_findings(scan_files, "sa.json", doc)) >= 1


@pytest.mark.parametrize(
    "text",
    [
        'HF_TOKEN = "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
        'OPENAI_API_KEY = "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
        'api_key = "<your-token>"',
        'token = "YOUR_HF_TOKEN_GOES_HERE_PLEASE"',
        'api_key = "sk-...redacted..."',
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        'secret = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"',
        'HF_TOKEN = "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"',
        "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
        'token = os.environ["HF_TOKEN"]',
        'password = "example-password-1234567"',
    ],
)
def test_placeholders_are_quiet(scan_files, text):
    assert _findings(scan_files, "README.md", text + "\n") == []


def test_hashes_in_lockfiles_are_quiet(scan_files):
    sha = _rand(64, "0123456789abcdef")
    poetry = f'[[package]]\nname = "torch"\nfiles = [\n    {{hash = "sha256:{sha}"}},\n]\n'
    npm = json.dumps(
        {
            "packages": {
                "x": {"integrity": "sha512-" + base64.b64encode(_RNG.randbytes(64)).decode()}
            }
        }
    )
    index = json.dumps({"metadata": {"total_size": 1}, "weight_map": {"a.weight": "m.safetensors"}})
    files = {"poetry.lock": poetry, "package-lock.json": npm, "model.safetensors.index.json": index}
    assert list(_scan(scan_files, files).run.findings) == []


def test_tokenizer_files_are_quiet(scan_files):
    vocab = {_rand(_RNG.randint(2, 40), ALNUM + "Ġ▁"): i for i in range(3000)}
    vocab["token_" + _rand(40)] = 3000
    tokenizer = {
        "version": "1.0",
        "added_tokens": [{"id": 0, "content": "<|endoftext|>", "special": True}],
        "model": {"type": "BPE", "vocab": vocab, "merges": ["Ġ t", "Ġ a"]},
    }
    config = {
        "bos_token": "<|im_start|>",
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "tokenizer_class": "Qwen2Tokenizer",
        "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}",
        "auth_token": None,
    }
    files = {
        "tokenizer.json": json.dumps(tokenizer),
        "vocab.json": json.dumps(vocab),
        "tokenizer_config.json": json.dumps(config, indent=2),
        "qwen.tiktoken": "\n".join(
            f"{base64.b64encode(_RNG.randbytes(8)).decode()} {i}" for i in range(2000)
        ),
    }
    result = _scan(scan_files, files)
    assert list(result.run.findings) == []
    assert sum(1 for f in result.run.facts if f.key == "secrets.vocabulary") == 2


def test_prefixed_token_inside_a_vocabulary_is_still_found(scan_files):
    vocab = {f"tok{i}": i for i in range(2000)}
    doc = {"model": {"type": "BPE", "vocab": vocab}, "note": TOKENS["GitHub token"]}
    (f,) = _findings(scan_files, "tokenizer.json", json.dumps(doc))
    assert "GitHub" in f.message


def test_vocabulary_detection_by_structure():
    assert is_vocabulary(json.dumps({"model": {"vocab": {}}}), complete=True)
    assert is_vocabulary(json.dumps({f"t{i}": i for i in range(1500)}), complete=True)
    assert is_vocabulary(json.dumps([f"t{i}" for i in range(1500)]), complete=True)
    assert not is_vocabulary(json.dumps({"hidden_size": 4096}), complete=True)
    head = '{"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0, '
    assert is_vocabulary(head, complete=False)


def test_only_the_first_bytes_are_scanned(scan_files, monkeypatch):
    monkeypatch.setattr(secrets, "MAX_SCAN_BYTES", 64)
    text = "x" * 100 + "\n" + TOKENS["GitLab token"] + "\n"
    result = _scan(scan_files, {"big.txt": text})
    assert list(result.run.findings) == []
    assert [s.reason for s in result.run.skips] == ["partially-scanned"]


def test_large_random_text_is_fast_and_quiet(scan_files):
    blob = base64.b64encode(_RNG.randbytes(3 * 1024 * 1024)).decode()
    text = "token" * 2000 + "\n" + blob + "\n"
    started = time.perf_counter()
    result = _scan(scan_files, {"data.txt": text})
    assert time.perf_counter() - started < 5
    assert [f for f in result.run.findings if f.severity >= Severity.HIGH] == []


def test_duplicates_are_reported_once(scan_files):
    token = TOKENS["Hugging Face token"]
    (f,) = _findings(scan_files, "a.txt", f"{token}\n{token}\n")
    assert f.evidence[0].location.line == 1


def test_rules_are_declared():
    assert [r.id for r in SecretsAnalyzer.rules] == [RULE]
    assert SecretsAnalyzer.__doc__

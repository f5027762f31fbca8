"""``customs inspect hf:org/name --policy dependency`` against a local hub: release and ecosystem
dependency facts, end to end through the real CLI.

    .venv/bin/python benchmarks/dependency_hub_demo.py

It starts ``tests/hubserver.py`` (a real HTTP server on 127.0.0.1 with the Hub's repo-info and
``/api/models?filter=base_model:…`` routes), publishes ``acme/base-7b`` (created 2023-06-01,
last changed 2024-03-15) with three quantizations by two other publishers, a fine-tune by
acme itself and one adapter, then runs the ``customs`` command on it twice: the terminal
output and ``-f json``, printing the ``dependency.*`` facts, the hub requests and the verdict.
Days are counted from the moment it runs (the CLI uses the clock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hubserver import HubServer  # noqa: E402

CONFIG = {"architectures": ["AcmeForCausalLM"], "model_type": "acme", "hidden_size": 64}
DERIVED = (
    ("bartowski/base-7b-GGUF", "quantized"),
    ("bartowski/base-7b-AWQ", "quantized"),
    ("unsloth/base-7b-bnb-4bit", "quantized"),
    ("acme/base-7b-instruct", "finetune"),
    ("someone/base-7b-lora", "adapter"),
)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, HubServer(Path(tmp) / "hub") as hub:
        files = {
            "config.json": json.dumps(CONFIG).encode(),
            "README.md": b"---\nlicense: apache-2.0\n---\n# Acme base 7B\n",
        }
        hub.add_repo(
            "acme/base-7b",
            files,
            created_at="2023-06-01T09:00:00.000Z",
            last_modified="2024-03-15T17:30:00.000Z",
        )
        for repo, relation in DERIVED:
            hub.add_repo(repo, {"README.md": b"# derived\n"}, base_model=(relation, "acme/base-7b"))
        env = {
            **os.environ,
            "HF_ENDPOINT": hub.url,
            "HF_HUB_CACHE": str(Path(tmp) / "cache"),
            "NO_PROXY": "127.0.0.1",
        }
        cmd = [str(ROOT / ".venv/bin/customs"), "inspect", "hf:acme/base-7b", "-p", "dependency"]
        print("$ " + " ".join(cmd[1:]), flush=True)
        term = subprocess.run([*cmd, "--color", "never"], env=env, text=True, capture_output=True)
        print(term.stdout + term.stderr)
        print(f"exit {term.returncode}")
        hub.reset_counters()
        out = subprocess.run([*cmd, "-f", "json"], env=env, text=True, capture_output=True)
        listings = [h.path for h in hub.hits if h.path.startswith("/api/models?")]
    doc = json.loads(out.stdout)
    facts = {
        f["key"]: f["value"]
        for run in doc["runs"]
        for f in run.get("facts", [])
        if f["key"].startswith(("dependency.release", "dependency.ecosystem"))
    }
    print(json.dumps(facts, indent=2))
    print(f"hub requests: {len(hub.hits)} in all, {len(listings)} of them listings:")
    print("\n".join("  " + p for p in listings))
    verdict = doc.get("policy", {}).get("verdict") or doc.get("verdict")
    print("verdict:", json.dumps(verdict)[:600] if verdict else "(see terminal output)")


if __name__ == "__main__":
    main()

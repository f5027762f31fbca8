"""Time ``discover`` over a generated tree of 100k small files (not a unit test).

    .venv/bin/python benchmarks/discover_speed.py [--files 100000] [--dir /tmp/discover-bench]

The tree mixes Python, TypeScript, YAML, JSON, .env, Markdown and shell files; about 1 in 200
files names a model. The generated tree is kept between runs (pass --fresh to rebuild).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from modelcustoms.engines.discover import DiscoverEngine

TEMPLATES = {
    ".py": "import os\n\n\ndef handler_{i}(x: int) -> int:\n    '''Doc {i}.'''\n"
    "    return x + {i}\n",
    ".ts": "export function f{i}(a: number): number {{\n  // helper\n  return a * {i};\n}}\n",
    ".yaml": "name: svc-{i}\nreplicas: 2\nimage: registry.local/app:{i}\n",
    ".json": '{{"name": "pkg-{i}", "version": "1.0.{i}", "private": true}}\n',
    ".env": "PORT={i}\nLOG_LEVEL=info\n",
    ".md": "# Module {i}\n\nSome text about the module.\n",
    ".sh": "#!/bin/sh\necho building {i}\n",
}
REFERENCES = {
    ".py": "from transformers import AutoModel\nm = AutoModel.from_pretrained('Qwen/Qwen2.5-7B')\n",
    ".ts": 'const c = new OpenAI({ baseURL: "https://api.deepseek.com" });\n',
    ".yaml": 'args: ["--model", "meta-llama/Llama-3.1-8B-Instruct"]\n',
    ".env": "LLM_MODEL=deepseek-chat\n",
}


def build(root: Path, n: int) -> int:
    """Write ``n`` files under ``root`` (100 per folder); return how many name a model."""
    exts = list(TEMPLATES)
    refs = 0
    for i in range(n):
        folder = root / f"pkg{i // 1000:03d}" / f"mod{(i // 100) % 10}"
        if i % 100 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        ext = exts[i % len(exts)]
        body = TEMPLATES[ext].format(i=i)
        if i % 200 == 0 and ext in REFERENCES:
            body += REFERENCES[ext]
            refs += 1
        (folder / f"f{i}{ext}").write_text(body)
    return refs


def main() -> int:
    """Build (once) and time the engine."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/discover-bench"))
    ap.add_argument("--fresh", action="store_true")
    args = ap.parse_args()
    root: Path = args.dir / str(args.files)
    if args.fresh and root.exists():
        shutil.rmtree(root)
    if not root.exists():
        t = time.perf_counter()
        refs = build(root, args.files)
        print(
            f"built {args.files} files ({refs} with a reference) in {time.perf_counter() - t:.1f}s"
        )
    t = time.perf_counter()
    result = DiscoverEngine().run(root)
    elapsed = time.perf_counter() - t
    print(
        f"engine (in process, report model): {args.files} files, analysed "
        f"{result.run.analysed}, {len(result.references)} references, {elapsed:.2f}s "
        f"({args.files / elapsed:,.0f} files/s)"
    )
    # The command a user runs, start-up and JSON output included (bytecode written first).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = args.dir / "discover.json"
    cmd = [str(Path(sys.executable).with_name("customs")), "discover", str(root), "-f", "json"]
    cmd += ["-o", str(out), "--fail-on", "never"]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env)
    elapsed = time.perf_counter() - t
    print(f"customs discover -f json: {args.files} files, {elapsed:.2f}s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())

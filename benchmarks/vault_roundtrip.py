"""Vault round trip against the real CNCF distribution registry on 127.0.0.1.

    .venv/bin/python benchmarks/vault_roundtrip.py [--size-mb 1024] [--keep DIR] [--json OUT]

1. Builds a model folder of ``--size-mb`` MiB (config, a 7 MB tokenizer, four safetensors
   shards of random bytes), scans it and signs a passport (``customs scan``, ``customs passport
   sign``).
2. Starts ``docker-registry`` with token auth (the test suite's token service) and runs, each
   as its own ``customs vault`` process so its peak RSS is its own: push, pull, verify (with
   ``--local``). Reports wall time, MB/s and peak RSS per step, and checks that every restored
   file is byte-identical and that ``customs passport verify`` passes on the restored folder.
3. Pushes a second model that shares the tokenizer, the config and half the shards (a
   fine-tune of the second half) and reports the bytes it actually uploaded.
4. With ``--oras-python PY`` (a Python with ``oras`` installed, e.g. a scratch venv: oras is
   never a dependency), pushes the base model's files with oras-py, monolithic and chunked, to
   the same registry (no auth, another repository), for the client comparison in docs/design.md.

Nothing leaves this machine. Needs the ``docker-registry`` binary (Debian package).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.unit.vault.helpers import tokenizer_bytes  # noqa: E402
from tests.unit.vault.servers import REGISTRY_BIN, registry, token_service  # noqa: E402

SHARDS = 4
WRITE_CHUNK = 16 * 1024 * 1024


def run(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``customs ARGV`` as a child; wall time, peak RSS (MiB), exit code, output."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelcustoms", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate()
    return {
        "argv": argv,
        "rc": proc.returncode,
        "seconds": round(time.monotonic() - start, 2),
        "stdout": out.decode(errors="replace"),
        "stderr": err.decode(errors="replace"),
    }


def run_measured(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Like :func:`run`, with the child's own peak RSS from ``wait4``."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelcustoms", *argv], env=env, stdout=out_f, stderr=err_f
        )
        # NOTE: wait4 gives this child's own rusage (RUSAGE_CHILDREN would be a running max).
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_f.seek(0)
        err_f.seek(0)
        return {
            "argv": argv,
            "rc": proc.returncode,
            "seconds": round(time.monotonic() - start, 2),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "stdout": out_f.read().decode(errors="replace"),
            "stderr": err_f.read().decode(errors="replace"),
        }


def write_random(path: Path, size: int) -> None:
    """``size`` random bytes, written in bounded chunks."""
    with path.open("wb") as fh:
        left = size
        while left:
            n = min(WRITE_CHUNK, left)
            fh.write(os.urandom(n))
            left -= n


def build_models(folder: Path, size: int) -> tuple[Path, Path]:
    """The base model and a derivative sharing tokenizer, config and half the shards."""
    base, tuned = folder / "base", folder / "tuned"
    base.mkdir()
    tuned.mkdir()
    tok = tokenizer_bytes() * 220  # ~7 MB, like a 150k-vocabulary tokenizer.json
    (base / "tokenizer.json").write_bytes(tok)
    (base / "config.json").write_text('{"model_type": "llama", "hidden_size": 2048}')
    shard = (size - len(tok)) // SHARDS
    for i in range(SHARDS):
        write_random(base / f"model-{i + 1:05d}-of-{SHARDS:05d}.safetensors", shard)
    for p in base.iterdir():
        idx = p.name.split("-")[1] if p.name.startswith("model-") else None
        if idx is not None and int(idx) > SHARDS // 2:
            write_random(tuned / p.name, shard)  # fine-tuned: new bytes
        else:
            os.link(p, tuned / p.name)  # shared: same bytes (hard link saves disk)
    return base, tuned


def tree_digests(root: Path) -> dict[str, str]:
    """Relative path → sha256 of every file."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h = hashlib.sha256()
            with p.open("rb") as fh:
                while data := fh.read(WRITE_CHUNK):
                    h.update(data)
            out[p.relative_to(root).as_posix()] = h.hexdigest()
    return out


def sign(model: Path, keys: Path, env: dict[str, str]) -> tuple[Path, Path]:
    """Scan and sign: the report and passport for ``model``."""
    report = model.parent / f"{model.name}.report.json"
    passport = model.parent / f"{model.name}.passport.json"
    for argv in (
        ["scan", str(model), "-f", "json", "-o", str(report)],
        ["passport", "sign", str(report), "--key", str(keys / "passport.key"), "-o", str(passport)],
    ):
        r = run(argv, env)
        if r["rc"] != 0:
            raise SystemExit(f"{argv[0]} failed: {r['stderr']}")
    return report, passport


ORAS_PUSH = """
import os, resource, sys, time
import oras.provider
host, target, chunked, folder = sys.argv[1:5]
os.chdir(folder)
files = sorted(os.listdir("."))
start = time.monotonic()
oras.provider.Registry(host, insecure=True).push(
    target=f"{host}/{target}", files=files, do_chunked=chunked == "1"
)
print(time.monotonic() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def compare_oras(python: str, model: Path, work: Path) -> dict[str, Any]:
    """oras-py pushing the same files (monolithic, then chunked) to a registry without auth."""
    out: dict[str, Any] = {}
    with registry(work / "registry-oras") as reg:
        for mode, flag in (("monolithic", "0"), ("chunked", "1")):
            argv = [python, "-c", ORAS_PUSH, reg.host, f"oras/{mode}:1", flag, str(model)]
            r = subprocess.run(argv, capture_output=True, text=True, check=False)
            if r.returncode != 0:
                out[mode] = {"error": r.stderr[-500:]}
                continue
            seconds, rss_kib = r.stdout.split()
            out[mode] = {
                "seconds": round(float(seconds), 2),
                "peak_rss_mib": round(int(rss_kib) / 1024, 1),
            }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--oras-python", help="a Python with oras-py, for the client comparison")
    args = ap.parse_args()
    if REGISTRY_BIN is None:
        print("docker-registry is not installed (apt-get install docker-registry)")
        return 2
    work = args.keep or Path(tempfile.mkdtemp(prefix="vault-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), XDG_CACHE_HOME=str(work / "cache"))
    results: dict[str, Any] = {"size_mb": args.size_mb}
    try:
        t0 = time.monotonic()
        base, tuned = build_models(work, args.size_mb * 1024 * 1024)
        results["build_seconds"] = round(time.monotonic() - t0, 1)
        keys = work / "keys"
        if run(["passport", "keygen", "--out", str(keys)], env)["rc"] != 0:
            return 2
        t0 = time.monotonic()
        base_ev = sign(base, keys, env)
        tuned_ev = sign(tuned, keys, env)
        results["scan_and_sign_seconds_both"] = round(time.monotonic() - t0, 1)
        pub = str(keys / "passport.pub")
        with token_service(work) as tok, registry(work / "registry", tok) as reg:
            env.update(CUSTOMS_VAULT_USERNAME=tok.username, CUSTOMS_VAULT_PASSWORD=tok.password)
            ref = f"{reg.host}/models/base:1.0"
            common = ["--plain-http", "-f", "json"]
            steps = {
                "push": ["vault", "push", str(base), "--to", ref, "--report", str(base_ev[0]),
                         "--passport", str(base_ev[1]), "--key", pub, *common],
                "pull": ["vault", "pull", ref, "-o", str(work / "restored"), "--key", pub,
                         *common],
                "verify": ["vault", "verify", ref, "--key", pub, "--local",
                           str(work / "restored"), *common],
                "push_second_model": ["vault", "push", str(tuned), "--to",
                                      f"{reg.host}/models/base:tuned", "--report",
                                      str(tuned_ev[0]), "--passport", str(tuned_ev[1]),
                                      "--key", pub, *common],
            }  # fmt: skip
            for name, argv in steps.items():
                r = run_measured(argv, env)
                if r["rc"] != 0:
                    print(f"{name} failed (rc {r['rc']}): {r['stderr']}")
                    return 1
                doc = json.loads(r["stdout"])
                mb = args.size_mb
                results[name] = {
                    "seconds": r["seconds"],
                    "MiB_per_s": round(mb / r["seconds"], 1),
                    "peak_rss_mib": r["peak_rss_mib"],
                    **{
                        k: doc[k]
                        for k in ("uploaded_bytes", "reused_blobs", "total_bytes", "passport")
                        if k in doc
                    },
                }
            stored = sum(p.stat().st_size for p in reg.storage.rglob("data") if p.is_file())
            results["registry_bytes_on_disk_after_both"] = stored
        results["restored_identical"] = tree_digests(base) == tree_digests(work / "restored")
        r = run(
            ["passport", "verify", str(work / "restored"), "--passport", str(base_ev[1]),
             "--key", pub, "--report", str(base_ev[0])],
            env,
        )  # fmt: skip
        results["passport_verify_restored_rc"] = r["rc"]
        if args.oras_python:
            results["oras"] = compare_oras(args.oras_python, base, work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    ok = results["restored_identical"] and results["passport_verify_restored_rc"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

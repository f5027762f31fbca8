"""Real trained derivatives and independents for the fingerprint benchmark (opt-in, CPU).

Three steps, two interpreters (torch lives in its own venv, never in the project's):

    .venv/bin/python benchmarks/fingerprint_finetune.py export
    nice -n 19 .bench/venvs/torch/bin/python benchmarks/fingerprint_finetune.py train [JOB...]
    .venv/bin/python benchmarks/fingerprint_finetune.py write

``export`` dequantizes SmolLM2-135M-Instruct (Q4_1 GGUF) natively to float32 arrays plus its
token list and merges. ``train`` (torch 2.13 CPU, a ~60-line Llama forward written here, no
transformers; one thread, niced) fine-tunes it and trains tiny same-vocabulary models from
scratch (measured: ~19 CPU-minutes in all, 38 min wall niced on a loaded 2-core machine):

- ``ft-code``: every weight trained (AdamW, lr 1e-4, 200 steps of 2x32 tokens) on Python
  source text (the standard library's);
- ``ft-prose``: embeddings and attention trained, MLPs frozen (AdamW, lr 2e-4, 60 steps,
  another data order; CPU time) on English prose (installed docs and licences);
- ``scratch-s1``/``scratch-s2``: same vocabulary and width (576, 9 heads, 3 KV heads),
  2 blocks instead of 30 (35M parameters, most in the embedding), random init from seeds 1
  and 2, trained on both texts for 60 steps: independent models that share the
  vocabulary, width and data but not the training history.

``write`` stores ``ft-code`` as a full BF16 safetensors with Hugging Face names (q/k rows
un-permuted back to Hugging Face's rope layout, as a real export would be) plus a
tokenizer.json, ``ft-prose`` as a full Q8_0 GGUF, the 50/50 linear merge of the two as a Q8_0
GGUF, and the scratch models as F16 GGUFs.
:mod:`fingerprint_real` picks the results up from ``<work>/trained``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".bench" / "fingerprint" / "trained"
BASE = ROOT / ".bench" / "real-models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
HEADS, KV_HEADS, HEAD_DIM, ROPE_BASE, EPS = 9, 3, 64, 100000.0, 1e-5
SEQ, BATCH = 32, 2


def export(work: Path) -> None:
    """Dequantize every tensor of the base (run with the project's venv)."""
    sys.path.insert(0, str(ROOT / "src"))
    from modelcustoms.artifacts.blob import FileBlob
    from modelcustoms.artifacts.gguf import GGML_TYPES, read_gguf
    from modelcustoms.engines.fingerprint.extract import _gguf_strings

    work.mkdir(parents=True, exist_ok=True)
    with FileBlob(BASE) as blob:
        gf = read_gguf(blob)
        assert gf.data_start is not None and gf.header is not None
        from modelcustoms.engines.fingerprint.dequant import dequantize

        arrays = {}
        for t in gf.tensors:
            gt = GGML_TYPES[t.ggml_type]
            n = int(np.prod(t.dims))
            raw = blob.read(gf.data_start + t.offset, n // gt.block_size * gt.type_size)
            shape = tuple(reversed(t.dims))
            arrays[t.name.removesuffix(".weight")] = dequantize(t.ggml_type, raw).reshape(shape)
        kvs = {kv.key: kv for kv in gf.kvs}
        tokens = _gguf_strings(blob, kvs["tokenizer.ggml.tokens"].offset, True)
        merges = _gguf_strings(blob, kvs["tokenizer.ggml.merges"].offset, True)
    np.savez(work / "base-f32.npz", **arrays)
    (work / "vocab.json").write_text(json.dumps({"tokens": tokens, "merges": merges}))
    print(f"exported {len(arrays)} tensors, {len(tokens or [])} tokens to {work}")


# ---------------------------------------------------------------- training (torch venv)


def _tokenizer(work: Path):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    v = json.loads((work / "vocab.json").read_text())
    vocab = {t: i for i, t in enumerate(v["tokens"])}
    merges = [tuple(m.split(" ", 1)) for m in v["merges"]]
    tok = Tokenizer(models.BPE(vocab, merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return tok


def _corpus(kind: str, limit: int = 400_000) -> str:
    """Local text: Python's standard library source, or prose from installed docs/licences."""
    out: list[str] = []
    size = 0
    if kind == "code":
        files = sorted(Path(sys.base_prefix, "lib").glob("python3.*/*.py"))
    else:
        roots = [Path("/usr/share/common-licenses"), Path("/usr/share/doc")]
        files = sorted(
            p
            for r in roots
            if r.exists()
            for p in r.rglob("*")
            if p.is_file() and p.suffix in ("", ".txt", ".md") and p.stat().st_size < 200_000
        )
    for p in files:
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if kind == "prose" and sum(c.isalpha() or c.isspace() for c in text) < 0.8 * len(text):
            continue
        out.append(text)
        size += len(text)
        if size > limit:
            break
    return "\n\n".join(out)


class Llama:  # the forward pass of llama.cpp's "llama" architecture, GGUF tensor layout
    def __init__(self, w: dict, n_layers: int) -> None:  # type: ignore[type-arg]
        import torch

        self.torch = torch
        self.w = w
        self.n_layers = n_layers
        inv = 1.0 / ROPE_BASE ** (torch.arange(0, HEAD_DIM, 2).float() / HEAD_DIM)
        ang = torch.outer(torch.arange(SEQ).float(), inv)
        self.cos, self.sin = ang.cos(), ang.sin()

    def _rms(self, x, g):  # type: ignore[no-untyped-def]
        return x * self.torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * g

    def _rope(self, x):  # type: ignore[no-untyped-def]
        # GGUF stores q/k rows permuted so rope rotates adjacent pairs (llama.cpp's NORM).
        t = x.shape[1]
        a, b = x[..., 0::2], x[..., 1::2]
        c, s = self.cos[:t, None, :], self.sin[:t, None, :]
        return self.torch.stack([a * c - b * s, a * s + b * c], dim=-1).flatten(-2)

    def loss(self, ids):  # type: ignore[no-untyped-def]
        torch, w = self.torch, self.w
        f = torch.nn.functional
        bsz, t = ids.shape
        x = w["token_embd"][ids[:, :-1]]
        t -= 1
        for i in range(self.n_layers):
            p = f"blk.{i}."
            h = self._rms(x, w[p + "attn_norm"])
            q = self._rope((h @ w[p + "attn_q"].T).view(bsz, t, HEADS, HEAD_DIM))
            k = self._rope((h @ w[p + "attn_k"].T).view(bsz, t, KV_HEADS, HEAD_DIM))
            v = (h @ w[p + "attn_v"].T).view(bsz, t, KV_HEADS, HEAD_DIM)
            rep = HEADS // KV_HEADS
            k, v = k.repeat_interleave(rep, 2), v.repeat_interleave(rep, 2)
            a = f.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True
            )
            x = x + a.transpose(1, 2).reshape(bsz, t, -1) @ w[p + "attn_output"].T
            h = self._rms(x, w[p + "ffn_norm"])
            g = f.silu(h @ w[p + "ffn_gate"].T) * (h @ w[p + "ffn_up"].T)
            x = x + g @ w[p + "ffn_down"].T
        logits = self._rms(x, w["output_norm"]) @ w["token_embd"].T  # tied head
        return f.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


def _batches(ids, seed: int, steps: int):  # type: ignore[no-untyped-def]
    import torch

    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        starts = torch.randint(0, len(ids) - SEQ - 1, (BATCH,), generator=g)
        yield torch.stack([ids[s : s + SEQ + 1] for s in starts])


def _train(name, w, n_layers, ids, steps, lr, seed, work, heldout, only=None):  # type: ignore[no-untyped-def]
    """Train ``w`` in place (every tensor, or those whose name contains one of ``only``)."""
    import torch

    model = Llama(w, n_layers)
    params = [p.requires_grad_() for k, p in w.items() if only is None or any(o in k for o in only)]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)

    def evaluate() -> float:
        with torch.no_grad():
            return float(np.mean([model.loss(b).item() for b in heldout]))

    before = evaluate()
    t0 = time.monotonic()
    for step, batch in enumerate(_batches(ids, seed, steps)):
        loss = model.loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 25 == 0:
            print(f"  {name} step {step} loss {loss.item():.3f} {time.monotonic() - t0:.0f}s")
    after = evaluate()
    out = {k: v.detach().numpy() for k, v in w.items()}
    np.savez(work / f"{name}.npz", **out)
    line = (
        f"{name}: {steps} steps batch {BATCH}x{SEQ} lr {lr} layers {n_layers} "
        f"trained {sum(p.numel() for p in params) / 1e6:.1f}M params: held-out loss "
        f"{before:.3f} -> {after:.3f} in {time.monotonic() - t0:.0f}s"
    )
    print(line, flush=True)
    with (work / "train.log").open("a") as fh:
        fh.write(line + "\n")


def _scratch(base: dict, seed: int) -> dict:  # type: ignore[type-arg]
    import torch

    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, v in base.items():
        if k.startswith("blk.") and int(k.split(".")[1]) >= 2:
            continue
        if v.ndim == 1:
            out[k] = torch.ones(v.shape)
        else:
            out[k] = torch.randn(v.shape, generator=g) * 0.02
    return out


def train(work: Path, steps: int, prose_steps: int, scratch_steps: int, jobs: list[str]) -> None:
    import torch

    torch.set_num_threads(1)  # a shared 2-core machine: no second spinning thread
    tok = _tokenizer(work)
    base = dict(np.load(work / "base-f32.npz"))
    held = {}
    data = {}
    for kind in ("code", "prose"):
        ids = torch.tensor(tok.encode(_corpus(kind)).ids)
        split = int(len(ids) * 0.95)
        data[kind], held[kind] = ids[:split], ids[split:]
        print(f"{kind}: {len(ids)} tokens")
    heldout = {k: list(_batches(v, 99, 6)) for k, v in held.items()}

    def fresh() -> dict:  # type: ignore[type-arg]
        return {k: torch.tensor(v) for k, v in base.items()}

    jobs = jobs or ["ft-code", "ft-prose", "scratch-s1", "scratch-s2"]
    both = torch.cat([data["code"], data["prose"]])
    for job in jobs:
        if job == "ft-code":
            _train(job, fresh(), 30, data["code"], steps, 1e-4, 0, work, heldout["code"])
        elif job == "ft-prose":
            # Attention and embeddings only (MLPs frozen), fewer steps: CPU time.
            attn = ("token_embd", "attn_")
            _train(
                job, fresh(), 30, data["prose"], prose_steps, 2e-4, 7, work, heldout["prose"], attn
            )
        elif job.startswith("scratch-s"):
            seed = int(job.removeprefix("scratch-s"))
            w = _scratch(base, seed)
            _train(job, w, 2, both, scratch_steps, 1e-3, seed, work, heldout["code"])
        print(f"{job} done", flush=True)


# ---------------------------------------------------------------- writing (project venv)


def _hf_order(w: np.ndarray, heads: int) -> np.ndarray:
    """Undo llama.cpp's q/k row permutation (back to Hugging Face's rotate-half layout)."""
    rows, cols = w.shape
    return w.reshape(heads, rows // heads // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)


_HF = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}


def _write_safetensors(path: Path, arrays: dict[str, np.ndarray]) -> None:
    header: dict[str, object] = {}
    blobs = []
    pos = 0
    for name, a in arrays.items():
        b = (a.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()  # BF16
        header[name] = {
            "dtype": "BF16",
            "shape": list(a.shape),
            "data_offsets": [pos, pos + len(b)],
        }
        blobs.append(b)
        pos += len(b)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with path.open("wb") as fh:
        fh.write(len(head).to_bytes(8, "little") + head)
        for b in blobs:
            fh.write(b)


def write(work: Path) -> None:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "src"))
    from tests.unit.engines.fingerprint.quantize import QUANTIZERS

    from modelcustoms.samples.tensorfmt import GGUF, GGUFTensor

    v = json.loads((work / "vocab.json").read_text())
    tokens = v["tokens"]

    def gguf(name: str, arrays: dict[str, np.ndarray], gtype: int) -> None:
        tensors = []
        for k, a in arrays.items():
            t = gtype if a.ndim == 2 and a.shape[-1] % 32 == 0 else 0  # norms stay F32
            flat = a.reshape(-1).astype(np.float32)
            if t in (0, 1):
                data = flat.astype("<f4" if t == 0 else "<f2").tobytes()
            else:
                data = QUANTIZERS[t](flat)
            tensors.append(GGUFTensor(f"{k}.weight", tuple(reversed(a.shape)), data, t))
        meta = {"general.architecture": "llama", "tokenizer.ggml.model": "gpt2"}
        meta["tokenizer.ggml.tokens"] = tokens
        (work / name).write_bytes(GGUF(meta, tensors).build())
        print("wrote", work / name)

    if (work / "ft-code.npz").exists():
        a = dict(np.load(work / "ft-code.npz"))
        hf: dict[str, np.ndarray] = {"model.embed_tokens.weight": a.pop("token_embd")}
        hf["model.norm.weight"] = a.pop("output_norm")
        for k, arr in a.items():
            _, i, role = k.split(".", 2)
            if role in ("attn_q", "attn_k"):
                arr = _hf_order(arr, HEADS if role == "attn_q" else KV_HEADS)
            hf[f"model.layers.{i}.{_HF[role]}.weight"] = arr
        d = work / "smollm2-ft-code-hf"
        d.mkdir(exist_ok=True)
        _write_safetensors(d / "model.safetensors", hf)
        tj = {"model": {"type": "BPE", "vocab": {t: i for i, t in enumerate(tokens)}}}
        (d / "tokenizer.json").write_text(json.dumps(tj))
        print("wrote", d)
    if (work / "ft-prose.npz").exists():
        prose = dict(np.load(work / "ft-prose.npz"))
        gguf("smollm2-ft-prose-q8_0.gguf", prose, 8)
        if (work / "ft-code.npz").exists():
            # A linear merge ("model soup") of the two fine-tunes, as merge tools write them.
            code = np.load(work / "ft-code.npz")
            merged = {k: (0.5 * v + 0.5 * code[k]).astype(np.float32) for k, v in prose.items()}
            gguf("smollm2-merge-code-prose-q8_0.gguf", merged, 8)
    for s in (1, 2):
        if (work / f"scratch-s{s}.npz").exists():
            gguf(f"scratch-s{s}-f16.gguf", dict(np.load(work / f"scratch-s{s}.npz")), 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("step", choices=["export", "train", "write"])
    ap.add_argument("jobs", nargs="*")
    ap.add_argument("--work", type=Path, default=WORK)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--prose-steps", type=int, default=60)
    ap.add_argument("--scratch-steps", type=int, default=60)
    args = ap.parse_args()
    if args.step == "export":
        export(args.work)
    elif args.step == "train":
        train(args.work, args.steps, args.prose_steps, args.scratch_steps, args.jobs)
    else:
        write(args.work)


if __name__ == "__main__":
    main()

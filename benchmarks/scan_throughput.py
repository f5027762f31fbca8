"""Throughput benchmark: scanning a 2 GB safetensors and a 1 GB PyTorch zip vs plain sha256.

    .venv/bin/python benchmarks/scan_throughput.py [--dir DIR] [--keep]

Writes both files (our own writers: the zoo's safetensors and torch-zip layouts, streamed to
disk), then in the same run measures for each file:
  hashlib    sha256 over the file in 8 MiB chunks (the floor: a scan must read every byte)
  engine     in-process ``ScanEngine().run(...)`` (hash + sniff + analyse)
  cli        ``python -m modelcustoms scan FILE --format json`` wall time (adds start-up)
and prints MB/s and ratio = our throughput / hashlib throughput (1.0 = as fast as hashing).
The page cache cannot be dropped without root tricks, so each file is read once first
(warm-up) and all three measurements run against a warm cache; they compare CPU cost.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from modelcustoms.artifacts.blob import Opener  # noqa: E402
from modelcustoms.engines.scan.engine import ScanEngine  # noqa: E402
from modelcustoms.samples.libs_torch import TorchTensors, state_dict  # noqa: E402
from modelcustoms.samples.pickle_fake import dumps  # noqa: E402

CHUNK = 8 * 1024 * 1024
GB = 1024**3


def _fill(f: object, size: int) -> None:
    block = os.urandom(CHUNK)
    left = size
    while left:
        n = min(left, CHUNK)
        f.write(block[:n])  # type: ignore[attr-defined]
        left -= n


def write_safetensors(path: Path, size: int) -> None:
    """Header + tensors of 64 MiB float32 each, data streamed."""
    per = 64 * 1024 * 1024
    n = size // per
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    for i in range(n):
        header[f"model.layers.{i}.weight"] = {
            "dtype": "F32",
            "shape": [per // 4096, 1024],
            "data_offsets": [i * per, (i + 1) * per],
        }
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((-len(hb)) % 8)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb)
        _fill(f, n * per)


def write_torch_zip(path: Path, size: int) -> None:
    """A torch.save-layout zip (stored, 64-byte aligned, descriptors, zip64 end) of ~size bytes."""
    per = 64 * 1024 * 1024
    layers = [(f"layers.{i}.weight", (per // 4096, 1024)) for i in range(size // per)]
    import random

    tt = TorchTensors(random.Random(0))
    sd = state_dict(tt, [(n, (1,)) for n, _ in layers])
    for st, (_, shape) in zip(tt.storages, layers, strict=True):
        st.numel = shape[0] * shape[1]
    members: list[tuple[str, bytes | int]] = [
        ("archive/data.pkl", dumps(sd, 2, torch_storages=True)),
        ("archive/.format_version", b"1"),
        ("archive/.storage_alignment", b"64"),
        ("archive/byteorder", b"little"),
    ]
    members += [(f"archive/data/{st.key}", per) for st in sorted(tt.storages, key=lambda s: s.key)]
    members += [("archive/version", b"3\n"), ("archive/.data/serialization_id", b"0" * 40)]
    block = os.urandom(CHUNK)
    central = bytearray()
    with path.open("wb") as f:
        for name, data in members:
            nb, off = name.encode(), f.tell()
            pad = (-(off + 30 + len(nb) + 4)) % 64
            f.write(
                struct.pack(
                    "<4sHHHHHIIIHH", b"PK\x03\x04", 0, 0x0808, 0, 0, 0, 0, 0, 0, len(nb), pad + 4
                )
                + nb
                + b"FB"
                + struct.pack("<H", pad)
                + b"Z" * pad
            )
            crc, length = 0, 0
            if isinstance(data, bytes):
                f.write(data)
                crc, length = zlib.crc32(data), len(data)
            else:
                while length < data:
                    chunk = block[: min(CHUNK, data - length)]
                    f.write(chunk)
                    crc, length = zlib.crc32(chunk, crc), length + len(chunk)
            f.write(struct.pack("<4sIII", b"PK\x07\x08", crc, length, length))
            central += (
                struct.pack(
                    "<4sHHHHHHIIIHHHHHII",
                    b"PK\x01\x02",
                    0,
                    0,
                    0x0808,
                    0,
                    0,
                    0,
                    crc,
                    length,
                    length,
                    len(nb),
                    0,
                    0,
                    0,
                    0,
                    0,
                    off,
                )
                + nb
            )
        cd = f.tell()
        f.write(central)
        e64 = f.tell()
        n = len(members)
        f.write(
            struct.pack(
                "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 0x031E, 0x2D, 0, 0, n, n, len(central), cd
            )
        )
        f.write(struct.pack("<4sIQI", b"PK\x06\x07", 0, e64, 1))
        f.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, len(central), cd, 0))


def hash_file(path: Path) -> float:
    started = time.perf_counter()
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return time.perf_counter() - started


def engine_scan(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    result = ScanEngine().run([Opener.local(path.name, path)])
    return time.perf_counter() - started, len(result.run.findings)


def cli_scan(path: Path) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "modelcustoms", "scan", str(path), "--format", "json"]
    # NOTE: an installed package has its bytecode compiled; this machine sets
    # PYTHONDONTWRITEBYTECODE, which would make every CLI run recompile ~100 modules. One
    # warm-up run with bytecode allowed gives the start-up a user actually sees.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, capture_output=True, check=False, env=env)
    started = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, check=False, env=env)
    return time.perf_counter() - started, res.returncode


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dir", type=Path, help="where to write the big files (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the files afterwards")
    ap.add_argument("--size-factor", type=float, default=1.0, help="scale sizes (smoke tests)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(dir=args.dir)
    files = {
        "model.safetensors (2 GiB)": Path(tmp) / "model.safetensors",
        "pytorch_model.bin (1 GiB zip)": Path(tmp) / "pytorch_model.bin",
    }
    try:
        print("writing files ...", flush=True)
        write_safetensors(files["model.safetensors (2 GiB)"], int(2 * GB * args.size_factor))
        write_torch_zip(files["pytorch_model.bin (1 GiB zip)"], int(GB * args.size_factor))
        rows = []
        for label, path in files.items():
            size = path.stat().st_size
            hash_file(path)  # warm-up: the page cache holds the file for all three runs
            t_hash = hash_file(path)
            t_engine, n_findings = engine_scan(path)
            t_cli, rc = cli_scan(path)
            rows.append((label, size, t_hash, t_engine, n_findings, t_cli, rc))
        print("\n(all runs on a warm page cache: each file was read once before measuring)")
        print(
            f"{'file':<30}{'hashlib MB/s':>14}{'engine MB/s':>13}{'ratio':>7}"
            f"{'cli s':>8}{'ratio':>7}"
        )
        for label, size, t_hash, t_engine, n_f, t_cli, rc in rows:
            mb = size / 1e6
            print(
                f"{label:<30}{mb / t_hash:>14.0f}{mb / t_engine:>13.0f}{t_hash / t_engine:>7.2f}"
                f"{t_cli:>8.2f}{t_hash / t_cli:>7.2f}   findings={n_f} cli_exit={rc}"
            )
    finally:
        if not args.keep:
            for p in files.values():
                p.unlink(missing_ok=True)
            Path(tmp).rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())

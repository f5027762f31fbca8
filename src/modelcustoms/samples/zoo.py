"""Build the labelled sample zoo: benign and hostile model files of every supported format.

``customs demo`` builds the small ``demo`` zoo in a temporary folder and scans it; the
benchmarks build ``full`` (every technique, several variants each). Every sample sits in its
own numbered folder under a realistic name, so that names say nothing about labels; the labels
are in ``manifest.json``. Hostile payloads are inert (``echo pwned``) and never executed here.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from modelcustoms.samples import (
    zoo_benign,
    zoo_graphs,
    zoo_hostile,
    zoo_keras,
    zoo_repos,
    zoo_tensors,
)
from modelcustoms.samples.items import Item, Label, Plan

Scale = Literal["demo", "full"]
Family = Callable[[Plan], Iterator[Item]]

FAMILIES: tuple[Family, ...] = (
    *zoo_benign.FAMILIES,
    *zoo_hostile.FAMILIES,
    *zoo_keras.FAMILIES,
    *zoo_graphs.FAMILIES,
    *zoo_tensors.FAMILIES,
    *zoo_repos.FAMILIES,
)

#: What the demo zoo keeps: one sample of each of these techniques (two of benign ones).
DEMO_TECHNIQUES = frozenset(
    {
        "pickle.os-system",
        "pickle.stack-global-memo",
        "pickle.functools-partial",
        "pickle.misleading-extension",
        "torch.payload-data-pkl",
        "torch.encrypted-flag",
        "archive.7z-torch",
        "numpy.npy-object-pickle",
        "keras.lambda-layer",
        "savedmodel.pyfunc",
        "onnx.external-data-traversal",
        "gguf.template-ssti",
        "safetensors.header-overflow",
        "hf.remote-code-exec-b64",
        "benign.numpy-pickle",
        "benign.sklearn-pickle",
        "benign.torch-state-dict",
        "benign.torch-checkpoint",
        "benign.npy",
        "benign.safetensors",
        "benign.gguf",
        "benign.keras-v3",
        "benign.onnx",
        "benign.hf-repo",
        "benign.savedmodel",
    }
)


@dataclass(frozen=True, slots=True)
class Sample:
    """One labelled sample of the zoo (a file, or a folder for multi-file models)."""

    path: str
    """Path relative to the zoo root, ``/``-separated."""
    label: Label
    technique: str
    """``benign.*`` for benign samples; the attack technique id for hostile ones."""
    format: str
    """The format the sample is in (a :class:`~modelcustoms.core.Format` value or ``hf-repo``)."""
    reference: str | None
    """Advisory, CVE or write-up describing the technique, when public."""


def _items(scale: Scale, seed: int) -> Iterator[Item]:
    full = scale == "full"
    kept: dict[str, int] = {}
    for family in FAMILIES:
        rng = random.Random(f"{seed}:{family.__module__}.{family.__name__}")
        for item in family(Plan(full=full, rng=rng)):
            if not full:
                limit = 2 if item.label == "benign" else 1
                if item.technique not in DEMO_TECHNIQUES or kept.get(item.technique, 0) >= limit:
                    continue
                kept[item.technique] = kept.get(item.technique, 0) + 1
            yield item


def build_zoo(dest: Path, *, scale: Scale, seed: int = 0) -> list[Sample]:
    """Write the zoo and its ``manifest.json`` under ``dest``; the same bytes on every run."""
    dest.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = []
    for index, item in enumerate(_items(scale, seed), start=1):
        box = f"s{index:04d}"
        for rel, data in item.files.items():
            target = dest / box / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        samples.append(
            Sample(f"{box}/{item.name}", item.label, item.technique, item.format, item.reference)
        )
    manifest = {
        "schema_version": 1,
        "scale": scale,
        "seed": seed,
        "samples": [asdict(s) for s in samples],
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return samples


def load_manifest(root: Path) -> list[Sample]:
    """Read the samples back from ``root/manifest.json``."""
    data = json.loads((root / "manifest.json").read_text())
    return [Sample(**row) for row in data["samples"]]

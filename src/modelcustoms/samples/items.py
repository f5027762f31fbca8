"""What a zoo family produces before it is written: files, label and technique."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

Label = Literal["benign", "hostile"]


@dataclass(frozen=True)
class Item:
    """One sample: a single file (``files`` has one key equal to ``name``) or a folder."""

    name: str
    """File or folder name of the sample inside its own numbered directory."""
    files: dict[str, bytes]
    """Relative path (starting with ``name``) -> content."""
    label: Label
    technique: str
    format: str
    reference: str | None = None


def one(
    name: str, data: bytes, label: Label, technique: str, fmt: str, ref: str | None = None
) -> Item:
    """A single-file sample."""
    return Item(name, {name: data}, label, technique, fmt, ref)


def folder(
    name: str,
    files: dict[str, bytes],
    label: Label,
    technique: str,
    fmt: str,
    ref: str | None = None,
) -> Item:
    """A folder sample; ``files`` are relative to the folder."""
    return Item(name, {f"{name}/{k}": v for k, v in files.items()}, label, technique, fmt, ref)


@dataclass
class Plan:
    """How many variants a family makes, and its random source."""

    full: bool
    rng: random.Random

    def n(self, demo: int, full: int) -> int:
        """Variant count for this scale."""
        return full if self.full else demo

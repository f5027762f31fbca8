"""Lazily compiled knowledge-base patterns answer exactly as the compiled patterns do."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from modelcustoms.engines.discover.patterns import LazyPattern, leading_literal
from modelcustoms.engines.discover.vocab import default_vocabulary

DATA = Path(__file__).resolve().parents[3] / "data" / "discover"


def _texts() -> list[str]:
    values = {
        r["value"] for r in json.loads((DATA / "real" / "labels.json").read_text())["references"]
    }
    values |= {r["value"] for r in json.loads((DATA / "labels.json").read_text())["references"]}
    vocab = default_vocabulary()
    # Each pattern's own literal, and variants around it, exercise the boundaries.
    for rx, _ in (*vocab.family_res, *vocab.provider_res):
        lit = rx.literal
        values |= {lit, f"x{lit}", f"{lit}7b", f"{lit}-7b", f"my-{lit}.5-chat", lit[:-1]}
    values |= {"gpt-4o-mini", "o1-mini", "glm4", "glm-4", "hy3", "qwen2.5-7b", "llama-3.1", "phi3"}
    return sorted(v.lower() for v in values if v)


def test_every_lazy_pattern_answers_as_the_compiled_one() -> None:
    vocab = default_vocabulary()
    texts = _texts()
    for rx, _ in (*vocab.family_res, *vocab.provider_res):
        compiled = re.compile(rx.pattern)
        for text in texts:
            lazy, real = rx.search(text), compiled.search(text)
            assert (lazy and lazy.span()) == (real and real.span()), (rx.pattern, text)


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        (r"\bqwen2\.5", "qwen2.5"),
        (r"\bglm-?4", "glm"),
        (r"(?<![\w-])embedding-[23]\b", "embedding-"),
        (r"\b(mistral|codestral)-latest", ""),
        (r"a|b", ""),
        (r"Qwen", ""),
        (r"chatglm[23]", "chatglm"),
    ],
)
def test_leading_literals_are_conservative(pattern: str, literal: str) -> None:
    assert leading_literal(pattern) == literal
    assert LazyPattern(pattern).literal == literal

"""Provenance over the development set of real model metadata (../shared/data/provenance-dev).

Each case holds the real metadata files of a public model and its true base family, publisher
and country. The engine must not know the case names: this test only maps the data set's
own family labels onto knowledge-base family ids (the label vocabulary differs), then scores.

Run with ``-s`` to see the per-case table.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelcustoms.artifacts.blob import Opener
from modelcustoms.core import ConfidenceLevel
from modelcustoms.engines.provenance import ProvenanceEngine

DEV = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "provenance-dev"

# The data set's labels → knowledge-base family ids. Generations that the KB keeps as
# releases of one family (Llama 3.x, Yi/Yi-1.5, Mistral Small 3/3.1) map to that family; the
# release is checked separately and reported, not asserted.
LABELS: dict[str, str | None] = {
    "deepseek-v3": "deepseek-v3",
    "gemma3": "gemma3",
    "chatglm2": "chatglm2-3",
    "hunyuan": "hunyuan",
    "llama1": "llama1",
    "llama2": "llama2",
    "llama3.2": "llama3",
    "mistral-small-3.1": "mistral-tekken",
    "mistral-small-3": "mistral-tekken",
    "mistral": "mistral",
    "phi3": "phi3",
    "qwen1": "qwen1",
    "qwen2": "qwen2",
    "qwen2.5": "qwen2.5",
    "qwen3": "qwen3",
    "qwen3.5": "qwen3.5",
    "deepseek-coder": "deepseek-coder",
    "granite-code": "granite-code",
    "minicpm-llama3-v-2.5": "minicpm-v",
    "yi1.5": "yi",
    "glm4": "glm4",
    "minimax-m1": "minimax",
    "pythia": "pythia",
    "rugpt3": "rugpt3",
    "none": None,
}
RELEASE_HINTS = {
    "mistral-small-3.1": "small-3.1",
    "mistral-small-3": "small-3 ",
    "llama3.2": "3.2",
    "yi1.5": "1.5",
    "minimax-m1": "m1",
}


def _label(truth: str) -> str:
    return truth.split(" (", 1)[0].strip()


def _run(engine: ProvenanceEngine, folder: Path) -> dict[str, object]:
    openers = [
        Opener.local(p.relative_to(folder).as_posix(), p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]
    run = engine.run(openers, subject=folder.name)
    facts = {f.key: f.value for f in run.facts}
    facts["_findings"] = [f.rule_id for f in run.findings]
    return facts


@pytest.mark.skipif(not (DEV / "cases.json").is_file(), reason=f"dev set not present at {DEV}")
def test_provenance_dev_set() -> None:
    cases = json.loads((DEV / "cases.json").read_text(encoding="utf-8"))
    engine = ProvenanceEngine()
    rows = []
    for name, case in cases.items():
        label = _label(case["truth_family"])
        assert label in LABELS, f"add a KB mapping for the data set label {label!r}"
        want = LABELS[label]
        got = _run(engine, DEV / "cases" / name)
        fam, level = got.get("identity.family"), got.get("identity.level")
        country = got.get("origin.country")
        fam_ok = fam == want
        # A from-scratch model's right answer is "unknown": no family and no country claimed.
        country_ok = country is None if want is None else country == case["truth_country"]
        hint = RELEASE_HINTS.get(label)
        release = str(got.get("identity.release") or "")
        rel_ok = None if hint is None else hint in (release.lower() + " ")
        rows.append(
            (
                name,
                label,
                fam,
                level,
                release,
                country,
                case["truth_country"],
                fam_ok,
                country_ok,
                rel_ok,
            )
        )

    print(f"\n{'case':28} {'truth':22} {'got':16} {'level':19} {'release':26} country")
    for name, label, fam, level, release, country, truth_c, fam_ok, c_ok, _ in rows:
        mark = "" if fam_ok and c_ok else "  <-- WRONG"
        shown = f"{fam!s:16} {level!s:19} {release[:26]:26}"
        print(f"{name:28} {label:22} {shown} {country}/{truth_c}{mark}")
    n = len(rows)
    family_rate = sum(r[7] for r in rows) / n
    country_rate = sum(r[8] for r in rows) / n
    levels = [ConfidenceLevel(str(r[3])) for r in rows if r[3]]
    top = min(levels, key=lambda lv: lv.rank)
    wrong_top = [r[0] for r in rows if r[3] == top.value and not r[7]]
    checked = [r for r in rows if r[9] is not None]
    print(
        f"family {family_rate:.1%}  country {country_rate:.1%}  top level {top.value}: "
        f"{sum(1 for r in rows if r[3] == top.value)} cases, {len(wrong_top)} wrong; "
        f"release right {sum(bool(r[9]) for r in checked)}/{len(checked)}"
    )
    assert family_rate >= 0.95
    assert country_rate >= 0.98
    assert not wrong_top, f"wrong answers at the highest confidence level: {wrong_top}"

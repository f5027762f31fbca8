"""``customs policy …`` and ``customs inspect --policy`` in-process, through ``cli.main``."""

from __future__ import annotations

import json

import pytest

from modelcustoms.cli import main
from modelcustoms.cli.options import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from modelcustoms.cli.policy import CheckFormat
from modelcustoms.core import ReportDocument, Severity
from tests.unit.policy.reports import clean_facts, make_report, origin


def write_report(tmp_path, report, name="report.json"):
    path = tmp_path / name
    path.write_text(ReportDocument.of(report).model_dump_json())
    return path


@pytest.mark.parametrize("fmt", list(CheckFormat))
def test_check_output_formats_are_exhaustive(tmp_path, capsys, fmt):
    path = write_report(tmp_path, make_report(facts=clean_facts()))
    assert main(["policy", "check", str(path), "--format", fmt.value]) == EXIT_OK
    assert capsys.readouterr().out


def test_check_denies_with_exit_1_and_explains(tmp_path, capsys):
    path = write_report(tmp_path, make_report(facts=origin("CN")))
    assert main(["policy", "check", str(path), "-p", "origin-covered-nations"]) == EXIT_FINDINGS
    out, err = capsys.readouterr()
    assert out.startswith("verdict: DENY")
    assert "origin.publisher-domiciled" in out
    assert "https://www.law.cornell.edu/uscode/text/10/4872" in out
    assert "DENY" in err


def test_check_json_has_verdict_and_every_rule(tmp_path, capsys):
    report = make_report(facts=clean_facts(), findings=[("x.y", Severity.MEDIUM)])
    path = write_report(tmp_path, report)
    assert main(["policy", "check", str(path), "-p", "security", "-f", "json"]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"]["decision"] == "warn"
    assert doc["verdict"]["report_digest"] == report.digest()
    assert {r["rule"] for r in doc["results"]} >= {"security.critical", "security.medium"}


def test_check_with_a_policy_file_and_waiver(tmp_path, capsys):
    report = make_report(facts=origin("CN"))
    path = write_report(tmp_path, report)
    policy = tmp_path / "mine.yaml"
    policy.write_text(
        """\
name: mine
description: covered nations, with one approved exception
as_of: 2026-11-28
extends: [origin-covered-nations]
waivers:
  - rule: origin.publisher-domiciled
    subject: {name: "acme/*"}
    approved_by: Jane Roe
    reason: on-prem evaluation only
    expires: 2026-12-31
  - rule: origin.publisher-controlled
    subject: {name: "acme/*"}
    approved_by: Jane Roe
    reason: on-prem evaluation only
    expires: 2026-12-31
  - rule: origin.lineage-link
    subject: {name: "acme/*"}
    approved_by: Jane Roe
    reason: on-prem evaluation only
    expires: 2026-12-31
rules: []
"""
    )
    args = ["policy", "check", str(path), "-p", str(policy)]
    assert main([*args, "--today", "2026-12-01"]) == EXIT_OK
    assert "waived origin.publisher-domiciled" in capsys.readouterr().out
    assert main([*args, "--today", "2027-01-01"]) == EXIT_FINDINGS
    assert "expired on 2026-12-31" in capsys.readouterr().err


def test_invalid_policy_file_lists_every_problem_and_exits_2(tmp_path, capsys):
    path = write_report(tmp_path, make_report())
    policy = tmp_path / "bad.yaml"
    policy.write_text(
        """\
name: bad
description: d
as_of: 2026-11-28
rules:
  - {id: a.one, effect: deny, when: "facts.x ==", message: m, source: s}
  - {id: a.two, effect: nope, when: "true", message: m, source: s}
"""
    )
    assert main(["policy", "check", str(path), "-p", str(policy)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "rules (a.one).when: CEL error" in err
    assert "rules[1] (a.two).effect" in err
    assert "Traceback" not in err


def test_tampered_report_is_an_input_error(tmp_path, capsys):
    path = write_report(tmp_path, make_report(facts=origin("CN")))
    path.write_text(path.read_text().replace('"CN"', '"FR"'))
    assert main(["policy", "check", str(path)]) == EXIT_ERROR
    assert "modified" in capsys.readouterr().err


def test_facts_list_and_show(tmp_path, capsys):
    path = write_report(tmp_path, make_report(facts=origin("CN")))
    assert main(["policy", "facts", str(path)]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["facts"]["origin"]["country"] == "CN"
    assert main(["policy", "list"]) == EXIT_OK
    listing = capsys.readouterr().out
    assert "enterprise-default" in listing
    assert "unsafe-allow-all" in listing
    assert main(["policy", "show", "origin-foreign-adversaries"]) == EXIT_OK
    shown = capsys.readouterr().out
    assert "15 CFR 791.4" in shown
    assert "origin.publisher-domiciled" in shown
    assert main(["policy"]) == EXIT_ERROR


def test_inspect_with_policy_puts_the_verdict_in_the_document_and_exits_1(tmp_path, capsys):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"hidden_size": 8}')
    out = tmp_path / "report.json"
    code = main(
        ["inspect", str(model), "--policy", "enterprise-default", "-f", "json", "-o", str(out)]
    )
    assert code == EXIT_FINDINGS  # origin and licence could not be established: fail closed
    doc = json.loads(out.read_text())
    assert doc["verdict"]["decision"] == "deny"
    assert doc["verdict"]["report_digest"] == doc["report_digest"]
    assert {"origin.unknown", "license.unknown"} <= set(doc["verdict"]["fired_rules"])
    assert "DENY" in capsys.readouterr().err
    # The written report judged again gives the same verdict.
    assert main(["policy", "check", str(out), "-f", "json"]) == EXIT_FINDINGS
    again = json.loads(capsys.readouterr().out)["verdict"]
    assert again == doc["verdict"]


def test_inspect_unsafe_policy_warns_and_passes(tmp_path, capsys):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    code = main(["inspect", str(model), "--policy", "unsafe-allow-all", "-f", "json"])
    assert code == EXIT_OK
    out, err = capsys.readouterr()
    assert json.loads(out)["verdict"]["decision"] == "warn"
    assert "UNSAFE" in err


def test_inspect_bad_policy_fails_before_the_engines(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "missing"), "--policy", "no-such"]) == EXIT_ERROR
    assert "unknown profile" in capsys.readouterr().err


def test_inspect_without_policy_keeps_fail_on(tmp_path, capsys):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    assert main(["inspect", str(model), "-f", "json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["verdict"] is None

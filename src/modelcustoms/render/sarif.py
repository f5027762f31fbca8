"""SARIF 2.1.0 for code scanning: rules from the report's catalog entries, one result per finding.

Members of containers are SARIF artifacts with a ``parentIndex``; a result's physical location
is the top-level file (what a code-scanning UI can open) and its logical location names the
member and the pointer inside it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from modelcustoms.core import Finding, Report, Severity, Verdict

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://github.com/modelcustoms/modelcustoms"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads `security-severity` (a CVSS-like score) to rank security results.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def _uri(path: str) -> str:
    return quote(path, safe="/!")


class SarifRenderer:
    """Renders a report as a SARIF 2.1.0 log with one run."""

    media_type = "application/sarif+json"

    def render(self, report: Report, verdict: Verdict | None = None) -> bytes:
        """The SARIF log as UTF-8 JSON."""
        rules = [r for run in report.runs for r in run.rules]
        seen: dict[str, int] = {}
        sarif_rules: list[dict[str, Any]] = []
        for rule in rules:
            if rule.id in seen:
                continue
            seen[rule.id] = len(sarif_rules)
            sarif_rules.append(
                {
                    "id": rule.id,
                    "name": "".join(w.capitalize() for w in rule.id.replace("-", ".").split(".")),
                    "shortDescription": {"text": rule.title},
                    "fullDescription": {"text": rule.help},
                    "help": {"text": rule.help + _refs(rule.references)},
                    "helpUri": f"{INFORMATION_URI}/blob/main/{rule.help_uri}",
                    "defaultConfiguration": {"level": _LEVEL[rule.severity]},
                    "properties": {
                        "security-severity": _SECURITY_SEVERITY[rule.severity],
                        "tags": ["security", "model-file"],
                    },
                }
            )
        index = {a.path: i for i, a in enumerate(report.artifacts)}
        artifacts: list[dict[str, Any]] = []
        for a in report.artifacts:
            entry: dict[str, Any] = {
                "location": {"uri": _uri(a.path)},
                "length": a.size,
                "hashes": {"sha-256": a.sha256},
                "properties": {"format": a.format.value},
            }
            if a.parent is not None and a.parent in index:
                entry["parentIndex"] = index[a.parent]
            artifacts.append(entry)
        results = [_result(f, seen, index) for f in report.findings]
        notifications = [
            {
                "level": "warning",
                "message": {"text": f"{s.artifact}: not analysed ({s.reason}) {s.detail}".strip()},
                "descriptor": {"id": f"skip.{s.reason}"},
            }
            for s in report.skips
        ]
        invocation: dict[str, Any] = {
            "executionSuccessful": all(r.status.value in ("ok", "partial") for r in report.runs),
            "toolExecutionNotifications": notifications,
        }
        run: dict[str, Any] = {
            "tool": {
                "driver": {
                    "name": report.tool.name,
                    "version": report.tool.version,
                    "semanticVersion": report.tool.version,
                    "informationUri": INFORMATION_URI,
                    "rules": sarif_rules,
                }
            },
            "artifacts": artifacts,
            "results": results,
            "invocations": [invocation],
            "properties": {"subject": report.subject.ref, "reportDigest": report.digest()},
        }
        if verdict is not None:
            run["properties"]["verdict"] = verdict.decision.value
        log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
        return (json.dumps(log, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _refs(refs: tuple[str, ...]) -> str:
    return "" if not refs else "\n\nReferences:\n" + "\n".join(f"- {r}" for r in refs)


def _result(f: Finding, rule_index: dict[str, int], index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "level": _LEVEL[f.severity],
        "message": {"text": f.message},
        "properties": {
            "severity": f.severity.value,
            "confidence": f.confidence,
            "engine": f.engine,
        },
    }
    if f.rule_id in rule_index:
        result["ruleIndex"] = rule_index[f.rule_id]
    if f.evidence:
        loc = f.evidence[0].location
        top = loc.artifact.split("!", 1)[0]
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(top)}}
        if top in index:
            physical["artifactLocation"]["index"] = index[top]
        if loc.line is not None and loc.artifact == top:
            physical["region"] = {"startLine": loc.line}
        elif loc.offset is not None and loc.artifact == top:
            physical["region"] = {"byteOffset": loc.offset}
        entry: dict[str, Any] = {"physicalLocation": physical}
        logical = loc.artifact if loc.pointer is None else f"{loc.artifact}#{loc.pointer}"
        if logical != top:
            entry["logicalLocations"] = [{"fullyQualifiedName": logical, "kind": "member"}]
        result["locations"] = [entry]
        result["partialFingerprints"] = {
            "artifactSha256/ruleId/pointer": f"{loc.sha256}/{f.rule_id}/{loc.pointer or ''}"
        }
        excerpt = f.evidence[0].excerpt
        if excerpt:
            result["properties"]["excerpt"] = excerpt
    return result

"""The canonical JSON document: the report, its digest, and the verdict when there is one."""

from __future__ import annotations

from modelcustoms.core import Report, ReportDocument, Verdict


class JsonRenderer:
    """Renders the schema-versioned report document (see ``render/schemas/report.schema.json``)."""

    media_type = "application/json"

    def render(self, report: Report, verdict: Verdict | None = None) -> bytes:
        """The report document as indented UTF-8 JSON."""
        doc = ReportDocument.of(report, verdict)
        return (doc.model_dump_json(indent=2) + "\n").encode("utf-8")

"""The JSON API (``/api/v1``): thin handlers over :class:`RegistryStore`.

Every error is ``{"detail": "<reason>"}`` with the status of its :class:`RegistryError`
subclass (401, 403, 404, 409, 422); FastAPI's own validation errors are 422 as well.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import AfterValidator

from modelcustoms.registry.diff import ReportDiff
from modelcustoms.registry.queries import MAX_PAGE, ModelFilter
from modelcustoms.registry.schemas import (
    ApprovalOut,
    ApproveRequest,
    Clean,
    ErrorOut,
    EventOut,
    Facets,
    HostedOut,
    HostedRequest,
    InventoryCount,
    ModelDetail,
    ModelPage,
    PassportMatch,
    Recorded,
    RecordRequest,
    ReportDetail,
    RepositoryDetail,
    RepositorySummary,
    storable,
)
from modelcustoms.registry.web.deps import Approver, Auditor, Reader, StoreDep
from modelcustoms.version import __version__

MAX_ID = 2**31 - 1


def _optional(value: str | None) -> str | None:
    return storable(value) if value is not None else None


Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Text = Annotated[str | None, Query(max_length=200), AfterValidator(_optional)]
Sha256 = Annotated[str, Query(pattern=r"^[0-9a-fA-F]{64}$")]

_REASONS = {
    400: "the body is not JSON",
    401: "no token, or an unknown or revoked one",
    403: "the token's role does not allow this",
    404: "no such model, report or repository",
    409: "contradicts what is stored (e.g. approving a deny: waive it instead)",
    413: "request body too large",
    422: "the request does not validate; `detail` says why",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer (always 401 and 422)."""
    return {c: {"model": ErrorOut, "description": _REASONS[c]} for c in sorted({401, 422, *codes})}


router = APIRouter(prefix="/api/v1")
READ = errors()
READ_ONE = errors(404)
WRITE = errors(400, 403, 404, 409, 413)


@router.get("/health", tags=["meta"])
def health() -> dict[str, str]:
    """Liveness and version (no token needed)."""
    return {"status": "ok", "version": __version__}


@router.post("/reports", status_code=201, tags=["reports"], responses=WRITE)
def record_report(body: RecordRequest, store: StoreDep, who: Auditor) -> Recorded:
    """Record a report document (and its passport). Needs an auditor token.

    Idempotent: recording the same document again returns its id with ``created: false``.
    A document that does not validate (schema, digest) or a passport that does not verify for
    it is refused with 422 and the reason; nothing is stored then.
    """
    return store.record(body.report, body.passport, actor=who.name)


@router.get("/models", responses=READ, tags=["models"])
def list_models(
    store: StoreDep,
    _who: Reader,
    country: Text = None,
    verdict: Text = None,
    family: Text = None,
    publisher: Text = None,
    q: Text = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> ModelPage:
    """The inventory, filtered; most recently seen first."""
    flt = ModelFilter(country, verdict, family, publisher, q)
    return store.list_models(flt, limit, offset)


@router.get("/models/facets", responses=READ, tags=["models"])
def facets(store: StoreDep, _who: Reader) -> Facets:
    """Distinct values of each inventory filter."""
    return store.facets()


@router.get("/models/counts", responses=READ, tags=["models"])
def counts(store: StoreDep, _who: Reader) -> list[InventoryCount]:
    """Models per origin country and verdict."""
    return store.counts()


@router.get("/models/by-key", responses=READ_ONE, tags=["models"])
def model_by_key(
    store: StoreDep,
    _who: Reader,
    key: Annotated[Clean, Query(min_length=1, max_length=500)],
) -> ModelDetail:
    """A model by its key (``hf:org/name``, ``ollama:tag``, ``path:name``)."""
    return store.model(store.model_id(key))


@router.get("/models/{model_id}", responses=READ_ONE, tags=["models"])
def model(model_id: Id, store: StoreDep, _who: Reader) -> ModelDetail:
    """One model: lineage chain, origin, report history, approvals, where it is used."""
    return store.model(model_id)


@router.post("/models/{model_id}/approve", status_code=201, tags=["approvals"], responses=WRITE)
def approve(model_id: Id, body: ApproveRequest, store: StoreDep, who: Approver) -> ApprovalOut:
    """Approve a report of the model (default: the newest). Needs an approver token.

    A report whose verdict is deny cannot be approved (409): waive its rules instead.
    """
    return store.approve(model_id, actor=who.name, reason=body.reason, report_id=body.report_id)


@router.post("/models/{model_id}/waive", status_code=201, tags=["approvals"], responses=WRITE)
def waive(model_id: Id, body: ApproveRequest, store: StoreDep, who: Approver) -> ApprovalOut:
    """Accept a report despite the listed rules, with a reason. Needs an approver token."""
    return store.approve(
        model_id,
        actor=who.name,
        reason=body.reason,
        report_id=body.report_id,
        waive_rules=body.rules,
    )


@router.get("/reports/{report_id}", responses=READ_ONE, tags=["reports"])
def report(
    report_id: Id,
    store: StoreDep,
    _who: Reader,
    against: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> ReportDetail:
    """A report: its document, passport, and the diff from ``against`` (default: previous)."""
    return store.report(report_id, against)


@router.get("/diff", responses=READ_ONE, tags=["reports"])
def diff(
    store: StoreDep,
    _who: Reader,
    old: Annotated[int, Query(ge=1, le=MAX_ID)],
    new: Annotated[int, Query(ge=1, le=MAX_ID)],
) -> ReportDiff:
    """What changed from report ``old`` to report ``new``."""
    return store.diff(old, new)


@router.get("/repositories", responses=READ, tags=["repositories"])
def repositories(store: StoreDep, _who: Reader) -> list[RepositorySummary]:
    """Every repository scanned by ``customs discover``."""
    return store.repositories()


@router.get("/repositories/{repo_id}", responses=READ_ONE, tags=["repositories"])
def repository(repo_id: Id, store: StoreDep, _who: Reader) -> RepositoryDetail:
    """A repository and the models its newest discover report found."""
    return store.repository(repo_id)


@router.get("/events", responses=READ, tags=["audit"])
def events(
    store: StoreDep,
    _who: Reader,
    model_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> list[EventOut]:
    """The audit trail (records, approvals, waivers, token changes), newest first."""
    return store.events(model_id, limit)


@router.get("/passports/by-digest", responses=READ, tags=["passports"])
def passport_by_digest(store: StoreDep, _who: Reader, sha256: Sha256) -> PassportMatch | None:
    """The newest passport that verifies and binds a file with this sha256 (or null)."""
    return store.passport_for_digest(sha256)


@router.get("/passports/hosted", responses=READ, tags=["passports"])
def passport_hosted(
    store: StoreDep,
    _who: Reader,
    operator: Annotated[Clean, Query(min_length=1, max_length=200)],
    model: Annotated[Clean, Query(min_length=1, max_length=500)],
) -> PassportMatch | None:
    """The newest verifying passport of the model ``operator`` serves as ``model`` (or null)."""
    return store.passport_for_hosted(operator, model)


@router.get("/hosted", responses=READ, tags=["passports"])
def hosted(store: StoreDep, _who: Reader) -> list[HostedOut]:
    """Every served-name binding."""
    return store.hosted()


@router.post("/hosted/bind", status_code=201, tags=["passports"], responses=WRITE)
def bind_hosted(body: HostedRequest, store: StoreDep, who: Approver) -> dict[str, str]:
    """Bind a served name to a registry model. Needs an approver token."""
    store.bind_hosted(body.operator, body.model_name, body.model_key, actor=who.name)
    return {"status": "bound"}

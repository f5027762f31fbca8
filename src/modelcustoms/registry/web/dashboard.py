"""The dashboard: server-rendered HTML pages over the same store as the API (no JavaScript).

Pages: inventory (filters + chart), model (lineage chain, history), report, diff, repositories,
repository, audit events, and a login form that keeps a read token in an HttpOnly cookie.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from modelcustoms.registry.diff import headline
from modelcustoms.registry.errors import AuthError
from modelcustoms.registry.queries import MAX_PAGE, ModelFilter
from modelcustoms.registry.schemas import storable
from modelcustoms.registry.web.deps import COOKIE, Reader, SettingsDep, StoreDep
from modelcustoms.registry.web.svg import COLORS, inventory_chart, lineage_chain

MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
_ENV = Environment(
    loader=FileSystemLoader(FsPath(__file__).parent / "templates"),
    autoescape=select_autoescape(("html",), default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.globals["colors"] = COLORS


def _show(value: object) -> str:
    """A diff value for people: lists joined, nothing as a dash."""
    if value is None or value == []:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


_ENV.filters["show"] = _show

router = APIRouter(include_in_schema=False)


def page(name: str, **context: Any) -> HTMLResponse:
    """Render a template."""
    return HTMLResponse(_ENV.get_template(name).render(**context))


def _filter_value(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return storable(value[:200])
    except ValueError:
        return None


@router.get("/", response_class=HTMLResponse)
def inventory(
    request: Request,
    store: StoreDep,
    who: Reader,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> HTMLResponse:
    """The inventory table with filters and the chart by origin and verdict."""
    q = request.query_params
    filters = {
        k: _filter_value(q.get(k)) for k in ("country", "verdict", "family", "publisher", "q")
    }
    flt = ModelFilter(
        filters["country"],
        filters["verdict"],
        filters["family"],
        filters["publisher"],
        filters["q"],
    )
    result = store.list_models(flt, limit, offset)
    keep = {k: v for k, v in filters.items() if v}
    nxt = (
        "?" + urlencode({**keep, "offset": offset + limit, "limit": limit})
        if offset + limit < result.total
        else None
    )
    return page(
        "inventory.html",
        who=who,
        page=result,
        facets=store.facets(),
        filters=filters,
        chart=inventory_chart(store.counts()),
        next_url=nxt,
    )


@router.get("/models/{model_id}", response_class=HTMLResponse)
def model(model_id: Id, store: StoreDep, who: Reader) -> HTMLResponse:
    """One model: origin, lineage chain, history of reports, approvals, users."""
    detail = store.model(model_id)
    return page(
        "model.html",
        who=who,
        d=detail,
        chain=lineage_chain(detail.model.name, detail.lineage),
    )


@router.get("/reports/{report_id}", response_class=HTMLResponse)
def report(report_id: Id, store: StoreDep, who: Reader) -> HTMLResponse:
    """A report: verdict, findings, files, passport, what changed since the previous one."""
    detail = store.report(report_id)
    document = detail.document
    findings = [f for run in document.get("runs", []) for f in run.get("findings", [])]
    return page(
        "report.html",
        who=who,
        d=detail,
        findings=findings,
        files=[a for a in document.get("artifacts", []) if a.get("parent") is None],
        verdict=document.get("verdict"),
        change=headline(detail.diff_previous) if detail.diff_previous else None,
    )


@router.get("/diff", response_class=HTMLResponse)
def diff(
    store: StoreDep,
    who: Reader,
    old: Annotated[int, Query(ge=1, le=MAX_ID)],
    new: Annotated[int, Query(ge=1, le=MAX_ID)],
) -> HTMLResponse:
    """What changed between two reports."""
    d = store.diff(old, new)
    return page("diff.html", who=who, d=d, old=old, new=new, line=headline(d))


@router.get("/repositories", response_class=HTMLResponse)
def repositories(store: StoreDep, who: Reader) -> HTMLResponse:
    """Every repository scanned by discover."""
    return page("repositories.html", who=who, repos=store.repositories())


@router.get("/repositories/{repo_id}", response_class=HTMLResponse)
def repository(repo_id: Id, store: StoreDep, who: Reader) -> HTMLResponse:
    """A repository and the models it uses."""
    return page("repository.html", who=who, d=store.repository(repo_id))


@router.get("/events", response_class=HTMLResponse)
def events(store: StoreDep, who: Reader) -> HTMLResponse:
    """The audit trail."""
    return page("events.html", who=who, events=store.events(limit=200))


@router.get("/login", response_class=HTMLResponse)
def login_form(error: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    """Ask for a token."""
    return page("login.html", who=None, error=error)


@router.post("/login")
async def login(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """Check the token and keep it in an HttpOnly, SameSite=Strict cookie."""
    body = (await request.body())[:4096].decode("utf-8", "replace")
    token = (parse_qs(body).get("token") or [""])[0].strip()
    if not token or store.authenticate(token) is None:
        return RedirectResponse("/login?error=unknown+or+revoked+token", status_code=303)
    resp = RedirectResponse("/", status_code=303)
    resp.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookie,
        max_age=12 * 3600,
    )
    return resp


@router.post("/logout")
def logout() -> Response:
    """Forget the cookie."""
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp


def wants_html(request: Request) -> bool:
    """True for dashboard paths (errors there become pages or a redirect to the login)."""
    return not request.url.path.startswith(("/api/", "/openapi", "/docs"))


def auth_redirect(request: Request, exc: AuthError) -> Response:
    """Send a browser without a valid token to the login form."""
    del exc
    resp = RedirectResponse("/login", status_code=303)
    if request.cookies.get(COOKIE):
        resp.delete_cookie(COOKIE)
    return resp

"""``create_app(store, settings)``: the FastAPI application of ``customs serve``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from modelcustoms.registry.errors import AuthError, RegistryError
from modelcustoms.registry.store import RegistryStore
from modelcustoms.registry.web import api, dashboard
from modelcustoms.registry.web.settings import ServeSettings
from modelcustoms.version import __version__

DESCRIPTION = """The modelcustoms registry: every model inspected (lineage, origin, verdict,
passport and report history), every repository scanned by `customs discover`, what changed
between reports, and the approvals and waivers of people allowed to give them.

Authentication: `Authorization: Bearer <token>`. Roles: viewer (read), auditor (also record
reports), approver (also approve, waive and bind hosted models). Tokens are made with
`customs registry token create` on the server."""


def create_app(store: RegistryStore, settings: ServeSettings | None = None) -> FastAPI:
    """The web service over ``store``."""
    settings = settings or ServeSettings()
    app = FastAPI(
        title="modelcustoms registry",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.store = store
    app.state.settings = settings

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            return JSONResponse(
                {"detail": f"request body larger than {settings.max_body_bytes} bytes"},
                status_code=413,
            )
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'/'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in list(exc.errors())[:10]
        )
        return JSONResponse({"detail": f"invalid request: {problems}"}, status_code=422)

    @app.exception_handler(RegistryError)
    async def registry_error(request: Request, exc: RegistryError) -> Response:
        if isinstance(exc, AuthError) and dashboard.wants_html(request):
            return dashboard.auth_redirect(request, exc)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthError) else None
        detail = exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
        if dashboard.wants_html(request):
            resp = dashboard.page("error.html", who=None, status=exc.status, detail=detail)
            resp.status_code = exc.status
            return resp
        return JSONResponse({"detail": detail}, status_code=exc.status, headers=headers)

    app.include_router(api.router)
    app.include_router(dashboard.router)
    return app

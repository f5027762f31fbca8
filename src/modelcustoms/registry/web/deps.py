"""Dependencies of the web handlers: the store, and who is calling with which role.

Reads take a bearer token or the dashboard's login cookie (or nothing when reads are public).
Writes take only a bearer token: a browser never sends one by itself, so no page of another
site can make a logged-in browser write (no CSRF surface).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from modelcustoms.registry.auth import Role
from modelcustoms.registry.errors import AuthError, Forbidden
from modelcustoms.registry.store import Principal, RegistryStore
from modelcustoms.registry.web.settings import ServeSettings

COOKIE = "customs_token"
ANONYMOUS = Principal("anonymous", Role.VIEWER)


def get_store(request: Request) -> RegistryStore:
    """The store the app was created with."""
    store: RegistryStore = request.app.state.store
    return store


def get_settings(request: Request) -> ServeSettings:
    """The settings the app was created with."""
    settings: ServeSettings = request.app.state.settings
    return settings


StoreDep = Annotated[RegistryStore, Depends(get_store)]
SettingsDep = Annotated[ServeSettings, Depends(get_settings)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _principal(store: RegistryStore, token: str) -> Principal:
    who = store.authenticate(token)
    if who is None:
        msg = "unknown or revoked token"
        raise AuthError(msg)
    return who


def reader(request: Request, store: StoreDep, settings: SettingsDep) -> Principal:
    """Anyone allowed to read."""
    token = _bearer(request) or request.cookies.get(COOKIE)
    if token:
        return _principal(store, token)
    if settings.public_read:
        return ANONYMOUS
    msg = "reading this registry needs a token (Authorization: Bearer …)"
    raise AuthError(msg)


def _writer(needed: Role) -> Callable[..., Principal]:
    def dependency(request: Request, store: StoreDep) -> Principal:
        token = _bearer(request)
        if token is None:
            msg = "writing needs a token (Authorization: Bearer …)"
            raise AuthError(msg)
        who = _principal(store, token)
        if not who.role.allows(needed):
            msg = f"token {who.name!r} has role {who.role.value}; this needs {needed.value}"
            raise Forbidden(msg)
        return who

    return dependency


Reader = Annotated[Principal, Depends(reader)]
Auditor = Annotated[Principal, Depends(_writer(Role.AUDITOR))]
Approver = Annotated[Principal, Depends(_writer(Role.APPROVER))]

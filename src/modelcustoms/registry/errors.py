"""Errors of the registry: each maps to one HTTP status in the web service."""

from __future__ import annotations

from modelcustoms.errors import CustomsError


class RegistryError(CustomsError):
    """The registry cannot do what was asked (a database or configuration problem)."""

    status = 500


class InvalidSubmission(RegistryError):
    """A report or passport that does not validate; nothing was recorded (HTTP 422)."""

    status = 422


class NotFound(RegistryError):
    """No such model, report, repository or token (HTTP 404)."""

    status = 404


class Conflict(RegistryError):
    """The request contradicts what is stored (HTTP 409)."""

    status = 409


class AuthError(RegistryError):
    """No token, an unknown or revoked token (HTTP 401)."""

    status = 401


class Forbidden(RegistryError):
    """The token's role does not allow this (HTTP 403)."""

    status = 403

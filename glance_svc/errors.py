"""Errors the domain raises; the API turns each into one HTTP status.

The domain never imports WebOb: it says *what* went wrong, and ``glance_svc.api.faults``
decides how that looks on the wire (status, body format by ``Accept``).
"""

from __future__ import annotations


class GlanceError(Exception):
    """Base class. ``status`` is the HTTP status the API answers with."""

    status = 500

    def __init__(self, message: str = "", **headers: str) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers


class BadRequest(GlanceError):
    status = 400


class NotAuthenticated(GlanceError):
    status = 401


class Forbidden(GlanceError):
    status = 403


class NotFound(GlanceError):
    status = 404


class MethodNotAllowed(GlanceError):
    status = 405


class Conflict(GlanceError):
    status = 409


class Duplicate(Conflict):
    """A record with the same identity exists (image id, member)."""


class InvalidStatusTransition(Conflict):
    """The state machine refuses the move. Routes that want 400 or 403 re-raise."""

    def __init__(self, from_status: str, to_status: str) -> None:
        super().__init__(
            f"Image status transition from {from_status} to {to_status} is not allowed"
        )
        self.from_status = from_status
        self.to_status = to_status


class StaleStatus(Conflict):
    """Compare-and-set lost: the stored status is no longer the one the caller read."""


class Gone(GlanceError):
    status = 410


class LimitExceeded(GlanceError):
    """Quota or size cap: 413."""

    status = 413


class UnsupportedMediaType(GlanceError):
    status = 415


class RangeNotSatisfiable(GlanceError):
    status = 416


class RequestHeaderFieldsTooLarge(GlanceError):
    status = 431


class NotImplementedYet(GlanceError):
    status = 501


class ServiceUnavailable(GlanceError):
    status = 503


class BadGateway(GlanceError):
    status = 502


class GatewayTimeout(GlanceError):
    status = 504


class Relayed(GlanceError):
    """Another service's error answer passed on to the client with its own status."""

    def __init__(self, message: str = "", status: int = 500) -> None:
        super().__init__(message)
        self.status = status

"""A unit of work for the plain HTTP routes (OAuth callback, files, calendar feed), outside GraphQL."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from resolvers.unit_of_work import Services, UnitOfWork


def open_unit_of_work(request: HTTPConnection) -> UnitOfWork:
    """The request's unit of work, with the caller's address (for audit and rate limits); `close()` it
    when the route is done."""
    services: Services = request.app.state.services
    return UnitOfWork.open(services, client_ip=request.client.host if request.client else "unknown")

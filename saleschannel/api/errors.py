"""Every API error is an RFC 9457 problem: ``application/problem+json`` with type, title, status, detail, plus our
``code`` and ``field`` (the ``DomainError``'s, as the forms show them) and, for validation errors, ``errors``.

===  ==========================  ==============================================================================
400  ``bad_request``             the request itself is malformed: a body that is not a JSON object, a bad query
                                 parameter or cursor, a bad ``Idempotency-Key`` header
401  ``unauthorized``            no token, an unknown, expired or revoked token, or an inactive user
403  ``forbidden``               the token's user lacks the permission (its role), as on the screens
404  ``not_found``               no such object (ids that cannot be ids included: text, 0, huge, non-ASCII digits)
409  ``not_allowed`` (or the     the order's state refuses the action (the rule's reason is the detail), an Amazon
     rule's code)                refusal, or a POST with the same ``Idempotency-Key`` still running
     ``confirmation_required``   an outbox retry that may duplicate what Amazon did, without ``confirm_may_duplicate``
422  ``invalid``                 the body does not validate: against the schema (``errors`` lists every problem)
                                 or against the service (too many units, unknown carrier, ...; ``field`` says where)
     ``idempotency_key_reused``  the ``Idempotency-Key`` was first used with another request
429  ``rate_limited``            too many requests for this token: wait ``Retry-After`` seconds
500  ``server_error``            a bug: logged, never caused by input
===  ==========================  ==============================================================================
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

from django.http import Http404, HttpResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError

from saleschannel.amazon.services import AmazonChannelError
from saleschannel.core.errors import DomainError

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:saleschannel:problem:"
# DomainError codes that mean "the current state refuses this" (409); any other code is bad input (422).
CONFLICT_CODES = frozenset({"not_allowed", "number_taken", "duplicate", "conflict"})


class ApiProblem(Exception):
    """Raised by endpoints (and the auth) to answer a problem."""

    def __init__(self, status: int, detail: str, *, code: str = "", field: str = "", headers: dict | None = None,
                 errors: list | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or default_code(status)
        self.field = field
        self.headers = headers or {}
        self.errors = errors


def default_code(status: int) -> str:
    return {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
            409: "conflict", 422: "invalid", 429: "rate_limited"}.get(status, "server_error")


def problem_response(request, status: int, detail: str, *, code: str = "", field: str = "",
                     headers: dict | None = None, errors: list | None = None) -> HttpResponse:
    code = code or default_code(status)
    body = {
        "type": TYPE_PREFIX + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": str(detail),
        "code": code,
        "field": field or "",
        "instance": request.path if request is not None else "",
    }
    if errors is not None:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status,
                            content_type=f"{PROBLEM_CONTENT_TYPE}; charset=utf-8")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def domain_status(error: DomainError) -> int:
    return 409 if error.code in CONFLICT_CODES else 422


def _field_name(loc) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    if parts and parts[0] in ("payload", "params"):  # ninja names the body argument, and the query's
        parts = parts[1:]
    return ".".join(parts)


def _validation_problem(request, exc: ValidationError, api) -> HttpResponse:
    errors = [{"field": _field_name(error.get("loc", ())), "message": str(error.get("msg", "")),
               "type": str(error.get("type", ""))} for error in exc.errors]
    in_body = any(str((error.get("loc") or ("",))[0]) == "body" for error in exc.errors)
    status = 422 if in_body else 400
    first = errors[0] if errors else {"field": "", "message": "Invalid request."}
    detail = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return problem_response(request, status, detail, code="invalid" if status == 422 else "bad_request",
                            field=first["field"], errors=errors)


def _http_error(request, exc: HttpError, api) -> HttpResponse:
    headers = {}
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return problem_response(request, 401, "Give a valid API token: Authorization: Bearer <token>.",
                                headers=headers)
    detail = str(exc)
    if exc.status_code == 400 and detail == "Cannot parse request body":
        detail = "The request body must be a JSON object."
    return problem_response(request, exc.status_code, detail)


def _api_problem(request, exc: ApiProblem, api) -> HttpResponse:
    return problem_response(request, exc.status, exc.detail, code=exc.code, field=exc.field, headers=exc.headers,
                            errors=exc.errors)


def _domain_error(request, exc: DomainError, api) -> HttpResponse:
    return problem_response(request, domain_status(exc), exc.message, code=exc.code, field=exc.field)


def _amazon_error(request, exc: AmazonChannelError, api) -> HttpResponse:
    return problem_response(request, 409, exc.message, code="not_allowed", field=exc.field)


def _not_found(request, exc, api) -> HttpResponse:
    return problem_response(request, 404, str(exc) or "Not found.")


def _server_error(request, exc: Exception, api) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return problem_response(request, 500, "Something went wrong on our side; it was logged.")


def install(api) -> None:
    api.add_exception_handler(ValidationError, lambda r, e: _validation_problem(r, e, api))
    api.add_exception_handler(HttpError, lambda r, e: _http_error(r, e, api))
    api.add_exception_handler(ApiProblem, lambda r, e: _api_problem(r, e, api))
    api.add_exception_handler(DomainError, lambda r, e: _domain_error(r, e, api))
    api.add_exception_handler(AmazonChannelError, lambda r, e: _amazon_error(r, e, api))
    api.add_exception_handler(Http404, lambda r, e: _not_found(r, e, api))
    api.add_exception_handler(Exception, lambda r, e: _server_error(r, e, api))

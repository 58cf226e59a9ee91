"""The REST API, ``/api/v1/`` (interactive docs at ``/api/v1/docs``, the schema at ``/api/v1/openapi.json``).

See docs/api.md. Authentication, rate limit and permission: ``auth.py``; errors: ``errors.py``; idempotency of
POSTs: ``idempotency.py``.
"""

from __future__ import annotations

import json

from ninja import NinjaAPI, Router
from ninja.parser import Parser

from saleschannel.api import amazon_actions, amazon_orders, documents, errors, orders, products, stores
from saleschannel.api.errors import PROBLEM_CONTENT_TYPE, ApiProblem
from saleschannel.api.rendering import FastJSONRenderer


class JsonObjectParser(Parser):
    """Request bodies are JSON objects: anything else (an array, a number) is refused as malformed (400)."""

    def parse_body(self, request):
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise ValueError("the body is not a JSON object")
        return data


class SalesChannelAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        """The schema, saying that errors come as ``application/problem+json`` (as they do)."""
        schema = super().get_openapi_schema(**kwargs)
        for methods in schema["paths"].values():
            for operation in methods.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if str(status)[:1] in ("4", "5") and "application/json" in content:
                        content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
        return schema


api = SalesChannelAPI(
    title="Sales Channel API",
    version="1",
    description=(
        "Orders, Amazon orders, stores and products of the Sales Channel back office for warehouses and ERPs. "
        "Authenticate with a personal API token: "
        "`Authorization: Bearer sc_...` (create one with `saleschannel api token create`). Errors are RFC 9457 "
        "problems (`application/problem+json`). Every POST and PATCH accepts an `Idempotency-Key` header. See "
        "docs/api.md."
    ),
    urls_namespace="api-v1",
    parser=JsonObjectParser(),
    renderer=FastJSONRenderer(),
)
errors.install(api)
api.add_router("", orders.router)
api.add_router("", documents.router)
api.add_router("", amazon_orders.router)
api.add_router("", amazon_actions.router)
api.add_router("", stores.router)
api.add_router("", products.router)

fallback = Router()  # added last: answers a problem, not Django's HTML page, for a path the API does not have


@fallback.api_operation(["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", include_in_schema=False)
def unknown_path(request, rest: str):
    raise ApiProblem(404, "There is no such API endpoint.")


api.add_router("", fallback)

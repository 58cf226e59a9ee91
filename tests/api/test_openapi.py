"""The OpenAPI 3 schema and the interactive docs."""

from __future__ import annotations

from django.test import Client


def test_openapi_schema_documents_auth_errors_and_idempotency(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Sales Channel API"
    assert "/api/v1/orders" in schema["paths"]
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            responses = set(operation["responses"])
            assert {"401", "403", "404", "429"} <= responses, (method, path)
            assert operation["security"] == [{"TokenAuth": []}]
            assert list(operation["responses"]["404"]["content"]) == ["application/problem+json"]
            if method in ("post", "patch"):
                assert {"409", "422"} <= responses, path
                headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
                assert [h["name"] for h in headers] == ["Idempotency-Key"], path


def test_interactive_docs_page(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content

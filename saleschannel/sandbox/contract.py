"""The request contract: every SP-API request our gateway sends, and every answer the sandbox gives it, checked
against Amazon's published Swagger 2.0 models (``../shared/spapi-models``).

Used in two ways:

* ``Contract(models_dir)`` is a plain validator: ``check_request(...)`` finds the operation of a method and path
  (the models' path templates) and checks its parameters and JSON body; ``check_response(...)`` checks a status code
  and body against the operation's documented responses. Both return a list of ``Violation`` (empty: conforms).
* ``ContractRecorder`` plugs that validator into the sandbox (``saleschannel sandbox serve --contract-models DIR``):
  each SP-API request whose User-Agent is python-amazon-sp-api's (``python-sp-api-<version>``: our gateway; the
  tests' raw httpx requests, which are deliberately wrong at times, are not counted) and the response sent back are
  validated; violations and the operations exercised are kept in memory and served at ``GET /_sandbox/contract``
  (``DELETE`` clears them). The sandbox's behaviour does not change: it answers as it would have.

What is checked, per Swagger 2.0 (parameters at path-item and operation level, ``$ref`` into ``definitions``):

* the path matches an operation's template and the method is one the path has;
* required parameters (path, query, header, body) are there; no query parameter the operation does not define;
* each value has the declared type (string, integer, number, boolean, array) and format (``date-time``, ``date``,
  ``int32``/``int64``), enum, length, pattern, minimum/maximum, min/maxItems; arrays follow their
  ``collectionFormat`` (``csv`` when not said: one comma-separated value, not the key repeated);
* the body is JSON (``Content-Type: application/json``) valid against the body schema, with no property the schema
  does not define (Amazon's request schemas list every field they accept);
* the response status is documented for the operation and its body is valid against that response's schema (extra
  response properties are allowed: Amazon adds fields).

This module imports ``jsonschema`` (a test dependency): the sandbox imports it only in contract mode.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jsonschema
from flask import g, request

# The models the sandbox implements (file names inside the models folder).
MODEL_FILES: tuple[str, ...] = ("orders_2026-01-01.json", "ordersV0.json", "feeds_2021-06-30.json",
                                "tokens_2021-03-01.json", "reports_2021-06-30.json", "notifications.json")
# python-amazon-sp-api's User-Agent (``python-sp-api-2.1.35``): how the sandbox tells our gateway's requests apart.
GATEWAY_USER_AGENT = "python-sp-api"
# Paths that are not SP-API operations (LWA, pre-signed documents, the control API).
NOT_SP_API = ("/auth/", "/_s3/", "/_sandbox/")
MAX_VIOLATIONS = 500
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INTEGER = re.compile(r"^[+-]?\d+$")
SEPARATORS = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}


def valid_date_time(value: str) -> bool:
    """RFC 3339 ``date-time`` (what Swagger 2.0 means): a time zone is required."""
    if not RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00").replace("t", "T"))
    except ValueError:
        return False
    return True


def valid_date(value: str) -> bool:
    if not ISO_DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


format_checker = jsonschema.FormatChecker()


@format_checker.checks("date-time")
def _date_time(value) -> bool:
    return not isinstance(value, str) or valid_date_time(value)


@format_checker.checks("date")
def _date(value) -> bool:
    return not isinstance(value, str) or valid_date(value)


@dataclass(frozen=True)
class Violation:
    """One broken rule. ``direction`` is request or response; ``parameter`` a parameter name, ``body`` (with a JSON
    path in ``message``), ``path``, ``method`` or ``status``."""

    direction: str
    operation: str
    method: str
    path: str
    parameter: str
    rule: str
    message: str

    def __str__(self) -> str:
        return (f"{self.operation} ({self.method} {self.path}) {self.direction} {self.parameter}: "
                f"[{self.rule}] {self.message}")

    def as_dict(self) -> dict[str, str]:
        return {**asdict(self), "text": str(self)}


@dataclass
class Operation:
    key: str  # "<model file stem>/<operationId>", e.g. "ordersV0/getOrder"
    model: str
    operation_id: str
    method: str
    template: str
    pattern: re.Pattern
    parameters: list[dict[str, Any]]
    responses: dict[str, Any]
    consumes: list[str]
    produces: list[str]


def _template_regex(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$")


def _strict(node: Any) -> Any:
    """A copy of a schema where every object that lists its properties accepts no other (request bodies).

    An object made of ``allOf`` parts (notifications.json's EventFilter) is closed as a whole: it accepts the
    properties of all its parts, and the parts themselves (inline, or definitions used as parts) stay open, or each
    part would refuse the others' properties."""
    definitions = node.get("definitions") if isinstance(node, dict) else None
    definitions = definitions if isinstance(definitions, dict) else {}
    parts = {m["$ref"].split("/")[-1] for d in _dicts(node) for m in d.get("allOf") or []
             if isinstance(m, dict) and isinstance(m.get("$ref"), str)}
    return _close(node, definitions, parts, close_self=True)


def _dicts(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dicts(value)


def _part_properties(part: Any, definitions: dict[str, Any], seen: frozenset = frozenset()) -> set[str]:
    if not isinstance(part, dict):
        return set()
    ref = part.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        name = ref.split("/")[-1]
        return set() if name in seen else _part_properties(definitions.get(name), definitions, seen | {name})
    names = set(part.get("properties") or {})
    for member in part.get("allOf") or []:
        names |= _part_properties(member, definitions, seen)
    return names


def _close(node: Any, definitions: dict[str, Any], parts: set[str], *, close_self: bool) -> Any:
    if isinstance(node, list):
        return [_close(v, definitions, parts, close_self=True) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "definitions" and isinstance(value, dict):
            out[key] = {name: _close(d, definitions, parts, close_self=name not in parts) for name, d in value.items()}
        elif key == "allOf" and isinstance(value, list):
            out[key] = [_close(v, definitions, parts, close_self=False) for v in value]
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _close(v, definitions, parts, close_self=True) for name, v in value.items()}
        else:
            out[key] = _close(value, definitions, parts, close_self=True)
    if close_self and "additionalProperties" not in node:
        if "allOf" in node:
            names = set(node.get("properties") or {})
            for member in node["allOf"]:
                names |= _part_properties(member, definitions)
            out["properties"] = {**{name: {} for name in sorted(names)}, **out.get("properties", {})}
            out["additionalProperties"] = False
        elif "properties" in node:
            out["additionalProperties"] = False
    return out


class Contract:
    """Amazon's models for ``files`` (default ``MODEL_FILES``) read from ``models_dir``."""

    def __init__(self, models_dir: str | Path, files: Iterable[str] = MODEL_FILES):
        self.models_dir = Path(models_dir)
        self.models: dict[str, dict[str, Any]] = {}
        self.operations: dict[str, Operation] = {}
        self._validators: dict[tuple[str, str], jsonschema.Validator] = {}
        self._lock = threading.Lock()
        for name in files:
            model = json.loads((self.models_dir / name).read_text())
            if model.get("swagger") != "2.0":
                raise ValueError(f"{name} is not a Swagger 2.0 model")
            stem = name.removesuffix(".json")
            self.models[stem] = model
            for template, item in model["paths"].items():
                shared = item.get("parameters") or []
                for method, spec in item.items():
                    if method not in HTTP_METHODS:
                        continue
                    key = f"{stem}/{spec['operationId']}"
                    params = {(p["in"], p["name"]): p for p in map(lambda p: self._deref(stem, p), shared)}
                    params.update({(p["in"], p["name"]): p for p in map(lambda p: self._deref(stem, p),
                                                                            spec.get("parameters") or [])})
                    self.operations[key] = Operation(
                        key=key, model=stem, operation_id=spec["operationId"], method=method.upper(),
                        template=template, pattern=_template_regex(template), parameters=list(params.values()),
                        responses=spec.get("responses") or {},
                        consumes=spec.get("consumes") or model.get("consumes") or ["application/json"],
                        produces=spec.get("produces") or model.get("produces") or ["application/json"])

    def _deref(self, stem: str, node: dict[str, Any]) -> dict[str, Any]:
        """Parameters may be ``$ref: #/parameters/X`` (Swagger 2.0 top-level parameters)."""
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/parameters/"):
            return self.models[stem]["parameters"][ref.split("/")[-1]]
        return node

    # ---- finding the operation ----------------------------------------------------------------------------------
    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], list[str]]:
        """The operation for ``method path``, its path parameters, and the methods the path has (when no match)."""
        candidates = []
        for operation in self.operations.values():
            found = operation.pattern.match(path)
            if found:
                candidates.append((operation.template.count("{"), operation, found.groupdict()))
        candidates.sort(key=lambda c: c[0])  # a literal segment beats a template: /feeds vs /feeds/{feedId}
        same = [c for c in candidates if c[1].method == method.upper()]
        if same:
            _n, operation, values = same[0]
            return operation, {k: urllib.parse.unquote(v) for k, v in values.items()}, []
        return None, {}, sorted({c[1].method for c in candidates})

    # ---- requests -----------------------------------------------------------------------------------------------
    def check_request(self, method: str, path: str, query: str = "", headers: dict[str, str] | None = None,
                      body: bytes | None = b"") -> tuple[Operation | None, list[Violation]]:
        method = method.upper()
        operation, path_values, methods = self.match(method, path)
        if operation is None:
            rule, message = (("method", f"the path has {', '.join(methods)} only") if methods
                             else ("path", "no operation of the models has this path"))
            return None, [Violation("request", "?", method, path, "path", rule, message)]
        out: list[Violation] = []

        def bad(parameter: str, rule: str, message: str) -> None:
            out.append(Violation("request", operation.key, method, path, parameter, rule, message))

        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        query_values: dict[str, list[str]] = {}
        for name, value in pairs:
            query_values.setdefault(name, []).append(value)
        header_values = {k.lower(): v for k, v in (headers or {}).items()}
        declared_query = set()
        body_param = None
        for param in operation.parameters:
            where, name = param["in"], param["name"]
            if where == "body":
                body_param = param
                continue
            if where == "query":
                declared_query.add(name)
                values = query_values.get(name)
            elif where == "path":
                values = [path_values[name]] if name in path_values else None
            elif where == "header":
                values = [header_values[name.lower()]] if name.lower() in header_values else None
            else:  # formData: none in the models the sandbox implements
                continue
            if values is None:
                if param.get("required"):
                    bad(name, "required", f"required {where} parameter missing")
                continue
            for rule, message in check_parameter(param, values):
                bad(name, rule, message)
        for name in query_values:
            if name not in declared_query:
                bad(name, "unknown", f"query parameter not defined by the model (sent {query_values[name]!r})")

        raw = body or b""
        if body_param is None:
            if raw.strip():
                bad("body", "unknown", "the operation takes no body")
            return operation, out
        if not raw.strip():
            if body_param.get("required"):
                bad("body", "required", "required JSON body missing")
            return operation, out
        content_type = header_values.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in [c.lower() for c in operation.consumes]:
            bad("body", "content-type", f"Content-Type {content_type or '(none)'!r}; the operation consumes "
                                        f"{', '.join(operation.consumes)}")
        try:
            document = json.loads(raw)
        except ValueError:
            bad("body", "json", "the body is not JSON")
            return operation, out
        validator = self._validator(operation, "request", body_param["schema"], strict=True)
        for error in sorted(validator.iter_errors(document), key=lambda e: (list(e.absolute_path), e.message)):
            bad("body", error.validator, f"{_json_path(error.absolute_path)}: {error.message}")
        return operation, out

    # ---- responses ----------------------------------------------------------------------------------------------
    def check_response(self, operation: Operation, status: int, body: bytes | None, content_type: str = "",
                       *, method: str = "", path: str = "") -> list[Violation]:
        method, path = method or operation.method, path or operation.template

        def bad(parameter: str, rule: str, message: str) -> Violation:
            return Violation("response", operation.key, method, path, parameter, rule, message)

        spec = operation.responses.get(str(status)) or operation.responses.get("default")
        if spec is None:
            return [bad("status", "status", f"HTTP {status} is not a documented response "
                                            f"({', '.join(sorted(operation.responses))})")]
        raw = body or b""
        if "schema" not in spec:
            return [bad("body", "empty", f"HTTP {status} has no body in the model")] if raw.strip() else []
        out = []
        mime = content_type.split(";")[0].strip().lower()
        if mime not in [p.lower() for p in operation.produces]:
            out.append(bad("body", "content-type", f"Content-Type {mime or '(none)'!r}; the operation produces "
                                                   f"{', '.join(operation.produces)}"))
        try:
            document = json.loads(raw)
        except ValueError:
            return [*out, bad("body", "json", f"HTTP {status}: the body is not JSON")]
        validator = self._validator(operation, str(status), spec["schema"], strict=False)
        for error in sorted(validator.iter_errors(document), key=lambda e: (list(e.absolute_path), e.message)):
            out.append(bad("body", error.validator, f"HTTP {status} {_json_path(error.absolute_path)}: "
                                                    f"{error.message[:300]}"))
        return out

    def _validator(self, operation: Operation, which: str, schema: dict[str, Any], *, strict: bool
                   ) -> jsonschema.Validator:
        key = (operation.key, which)
        with self._lock:
            validator = self._validators.get(key)
            if validator is None:
                definitions = self.models[operation.model].get("definitions") or {}
                root = {**schema, "definitions": definitions}
                validator = jsonschema.Draft4Validator(_strict(root) if strict else root,
                                                       format_checker=format_checker)
                self._validators[key] = validator
            return validator


def _json_path(path) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def check_parameter(param: dict[str, Any], values: list[str]) -> list[tuple[str, str]]:
    """Check the raw values of one non-body parameter (query values in the order sent); returns (rule, message)."""
    if param.get("type") == "array":
        form = param.get("collectionFormat", "csv")
        if form == "multi":
            items = list(values)
        else:
            out_repeated = []
            if len(values) > 1:
                out_repeated.append(("collectionFormat", f"sent {len(values)} times; collectionFormat {form} wants "
                                                         f"one value separated by {SEPARATORS[form]!r}"))
            items = [item for value in values for item in (value.split(SEPARATORS[form]) if value != "" else [])]
            if out_repeated:
                return out_repeated + _check_array(param, items)
        return _check_array(param, items)
    if len(values) > 1:
        return [("repeated", f"sent {len(values)} times; the model has one {param.get('type', 'string')} value")]
    return check_scalar(param, values[0])


def _check_array(param: dict[str, Any], items: list[str]) -> list[tuple[str, str]]:
    out = []
    if "minItems" in param and len(items) < param["minItems"]:
        out.append(("minItems", f"{len(items)} item(s); at least {param['minItems']}"))
    if "maxItems" in param and len(items) > param["maxItems"]:
        out.append(("maxItems", f"{len(items)} items; at most {param['maxItems']}"))
    if param.get("uniqueItems") and len(set(items)) != len(items):
        out.append(("uniqueItems", "repeated items"))
    for item in items:
        out.extend(check_scalar(param.get("items") or {}, item))
    return out


def check_scalar(schema: dict[str, Any], text: str) -> list[tuple[str, str]]:
    kind = schema.get("type", "string")
    fmt = schema.get("format")
    value: Any = text
    if kind == "integer":
        if not INTEGER.match(text):
            return [("type", f"{text!r} is not an integer")]
        value = int(text)
        if fmt == "int32" and not -(2**31) <= value < 2**31:
            return [("format", f"{text} is outside int32")]
    elif kind == "number":
        try:
            value = float(text)
        except ValueError:
            return [("type", f"{text!r} is not a number")]
    elif kind == "boolean":
        if text not in ("true", "false"):
            return [("type", f"{text!r} is not true or false")]
        value = text == "true"
    elif kind == "string":
        if fmt == "date-time" and not valid_date_time(text):
            return [("format", f"{text!r} is not an RFC 3339 date-time (e.g. 2025-01-01T00:00:00Z)")]
        if fmt == "date" and not valid_date(text):
            return [("format", f"{text!r} is not a date (YYYY-MM-DD)")]
    out = []
    if "enum" in schema and value not in schema["enum"]:
        out.append(("enum", f"{text!r} is not one of {', '.join(map(str, schema['enum']))}"))
    if kind == "string":
        if "minLength" in schema and len(text) < schema["minLength"]:
            out.append(("minLength", f"{text!r} is shorter than {schema['minLength']}"))
        if "maxLength" in schema and len(text) > schema["maxLength"]:
            out.append(("maxLength", f"{len(text)} characters; at most {schema['maxLength']}"))
        if "pattern" in schema and not re.search(schema["pattern"], text):
            out.append(("pattern", f"{text!r} does not match {schema['pattern']}"))
    if kind in ("integer", "number"):
        if "minimum" in schema and (value < schema["minimum"] or
                                    (schema.get("exclusiveMinimum") and value == schema["minimum"])):
            out.append(("minimum", f"{text} is below the minimum {schema['minimum']}"))
        if "maximum" in schema and (value > schema["maximum"] or
                                    (schema.get("exclusiveMaximum") and value == schema["maximum"])):
            out.append(("maximum", f"{text} is above the maximum {schema['maximum']}"))
    if not text and kind == "string" and "minLength" not in schema:
        out.append(("empty", "empty value"))
    return out


class ContractRecorder:
    """The sandbox's contract mode: validates the gateway's exchanges and keeps what it found (thread-safe)."""

    def __init__(self, contract: Contract, *, user_agent: str = GATEWAY_USER_AGENT):
        self.contract = contract
        self.user_agent = user_agent
        self._lock = threading.Lock()
        self.clear()
        self.total: Counter[str] = Counter()  # operations exercised since start (clear() keeps it)

    def clear(self) -> None:
        with self._lock:
            self.violations: list[dict[str, str]] = []
            self.dropped = 0
            self.operations: Counter[str] = Counter()
            self.checked = 0

    def wants(self, path: str, headers: dict[str, str]) -> bool:
        agent = next((v for k, v in headers.items() if k.lower() == "user-agent"), "")
        return agent.startswith(self.user_agent) and not path.startswith(NOT_SP_API)

    def observe(self, *, method: str, path: str, query: str, headers: dict[str, str], body: bytes | None,
                status: int, response_body: bytes | None, response_type: str, broken_on_purpose: bool = False
                ) -> list[Violation]:
        """Check one exchange (``broken_on_purpose``: an injected malformed answer, whose response is not checked)."""
        operation, found = self.contract.check_request(method, path, query, headers, body)
        if operation is not None and not broken_on_purpose:
            found += self.contract.check_response(operation, status, response_body, response_type, method=method,
                                                   path=path)
        with self._lock:
            self.checked += 1
            if operation is not None:
                self.operations[operation.key] += 1
                self.total[operation.key] += 1
            for violation in found:
                if len(self.violations) < MAX_VIOLATIONS:
                    self.violations.append({**violation.as_dict(), "query": query})
                else:
                    self.dropped += 1
        return found

    def report(self) -> dict[str, Any]:
        with self._lock:
            return {"enabled": True, "models": str(self.contract.models_dir), "user_agent": self.user_agent,
                    "checked": self.checked, "operations": dict(sorted(self.operations.items())),
                    "operations_total": dict(sorted(self.total.items())), "violations": list(self.violations),
                    "dropped": self.dropped}

    def install(self, app) -> None:
        """Check every exchange of ``app`` (a Flask app) after its response is made."""

        recorder = self

        @app.after_request
        def _contract(response):
            if not recorder.wants(request.path, dict(request.headers)):
                return response
            try:
                recorder.observe(method=request.method, path=request.path,
                                 query=request.query_string.decode("latin-1"), headers=dict(request.headers),
                                 body=request.get_data(cache=True), status=response.status_code,
                                 response_body=response.get_data(), response_type=response.content_type or "",
                                 broken_on_purpose=getattr(g, "sandbox_fault", None) in ("malformed", "drop"))
            except Exception as exc:  # a bug here must show, not break the sandbox's answer
                with recorder._lock:
                    recorder.violations.append({"direction": "sandbox", "operation": "?", "method": request.method,
                                                "path": request.path, "parameter": "-", "rule": "error",
                                                "message": repr(exc), "text": f"contract check failed: {exc!r}"})
            return response


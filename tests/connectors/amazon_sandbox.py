"""A conformance server: SP-API Orders v0 exactly as its official sandbox pairs define it.

`ordersV0.json` (Amazon's Swagger model, ../shared/reference/amazon-sp-api/) lists, per
operation and response code, `x-amzn-api-sandbox.static` pairs: the request's
parameters and the response body. This server answers a request with the body of the
pair whose parameters equal the request's exactly (path and query parameters, typed
as the operation declares them: arrays are comma-separated, integers and booleans
parsed), with the pair's status code, and refuses everything else:

- a path or method the model does not have: 404 `SandboxNoOperation`;
- a query parameter the operation does not declare: 400 `SandboxUnknownParameter`;
- no `x-amz-access-token` header: 403 `Unauthorized`;
- parameters no pair has: 404 `SandboxNoMatch`, naming what was sent.

`load_spec()` finds the model relative to the repository; `spec_or_skip()` skips a
test with the reason when it is absent, except under CI, where that is a failure.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SPEC_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "amazon-sp-api" / "ordersV0.json"


def load_spec() -> dict[str, Any] | None:
    if not SPEC_PATH.is_file():
        return None
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def spec_or_skip() -> dict[str, Any]:
    spec = load_spec()
    if spec is None:
        reason = f"the SP-API Orders v0 model is not at {SPEC_PATH} (../shared/reference next to the repository)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return spec


@dataclass(frozen=True)
class Pair:
    operation: str
    method: str
    path: str  # template, e.g. /orders/v0/orders/{orderId}
    status: int
    parameters: dict[str, Any]  # name -> value, as the model writes it
    response: Any


@dataclass(frozen=True)
class Operation:
    operation: str
    method: str
    path: str
    pattern: re.Pattern[str]
    parameters: dict[str, dict[str, Any]]  # name -> declaration


def operations(spec: dict[str, Any]) -> list[Operation]:
    found = []
    for path, methods in spec["paths"].items():
        shared = methods.get("parameters", [])
        pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")
        for method, op in methods.items():
            if method == "parameters":
                continue
            declared = {p["name"]: p for p in [*shared, *op.get("parameters", [])]}
            found.append(Operation(op["operationId"], method.upper(), path, pattern, declared))
    return found


def pairs(spec: dict[str, Any]) -> list[Pair]:
    found = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if method == "parameters":
                continue
            for code, response in op.get("responses", {}).items():
                sandbox = response.get("x-amzn-api-sandbox", {})
                for pair in sandbox.get("static", []):
                    parameters = {name: entry["value"] for name, entry in pair["request"].get("parameters", {}).items()}
                    found.append(Pair(op["operationId"], method.upper(), path, int(code), parameters, pair["response"]))
    return found


def _typed(declaration: dict[str, Any], text: str) -> Any:
    kind = declaration.get("type")
    if kind == "array":
        return [part for part in text.split(",")]
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            return text
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    return text


class Sandbox:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.operations = operations(spec)
        self.pairs = pairs(spec)
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])

    @staticmethod
    def _refuse(status: int, code: str, message: str) -> Response:
        return JSONResponse({"errors": [{"code": code, "message": message}]}, status_code=status)

    async def _handle(self, request: Request) -> Response:
        path, method = request.url.path, request.method
        operation, match = next(
            ((op, m) for op in self.operations if op.method == method and (m := op.pattern.match(path))), (None, None)
        )
        if operation is None or match is None:
            return self._refuse(404, "SandboxNoOperation", f"{method} {path} is not an Orders v0 operation")
        unknown = sorted(set(request.query_params) - set(operation.parameters))
        if unknown:
            return self._refuse(400, "SandboxUnknownParameter", f"{operation.operation} has no parameter {unknown}")
        if not request.headers.get("x-amz-access-token"):
            return self._refuse(403, "Unauthorized", "Access to requested resource is denied.")
        sent: dict[str, Any] = dict(match.groupdict())
        for name, text in request.query_params.items():
            sent[name] = _typed(operation.parameters[name], text)
        body = await request.body()
        if body:
            body_params = [name for name, decl in operation.parameters.items() if decl.get("in") == "body"]
            if body_params:
                sent[body_params[0]] = json.loads(body)
        self.requests.append((operation.operation, method, sent))
        for pair in self.pairs:
            if pair.operation == operation.operation and pair.parameters == sent:
                return JSONResponse(pair.response, status_code=pair.status, headers={"x-amzn-RequestId": "sandbox"})
        return self._refuse(404, "SandboxNoMatch", f"no sandbox pair of {operation.operation} has the parameters {sent}")

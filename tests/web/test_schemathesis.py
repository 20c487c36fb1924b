"""Schemathesis against the running app: every operation of the OpenAPI document, with generated
valid and invalid input, answers as documented (status, content type, body schema) and never 500.

Bounded: a few examples per operation and mode, so this stays within seconds. Operations that
start a sync run first, while the only account points at a closed loopback port: accounts the
generator creates later are never synced, so nothing ever connects beyond this machine.
"""

from __future__ import annotations

import httpx
import pytest

from channelport.services import accounts
from tests.web.conftest import serving, sqlite_only

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = 3  # per operation and mode: about 150 requests in all
CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MODES = {GenerationMode.POSITIVE: CONFORMANCE, GenerationMode.NEGATIVE: [*CONFORMANCE, negative_data_rejection]}


def starts_a_sync(operation) -> bool:  # type: ignore[no-untyped-def]
    return operation.method.upper() == "POST" and operation.path.endswith(("/syncs", "/sync"))


@sqlite_only
def test_every_operation_keeps_the_promises_of_the_openapi_document(app, rt, token):
    accounts.add_account(rt, name="shop", kind="event-api", url="http://127.0.0.1:9", seller_id="S-1", token="t",
                         settings={"retry_deadline": "0.2", "connect_timeout": "0.2", "max_retry_wait": "0.1"})
    auth = {"Authorization": f"Bearer {token}"}
    with serving(app) as base:
        document = httpx.get(f"{base}/api/v1/openapi.json", headers=auth).json()
        schema = schemathesis.openapi.from_dict(document)
        operations = sorted((result.ok() for result in schema.get_all_operations()),
                            key=lambda op: (not starts_a_sync(op), op.path, op.method))
        assert len(operations) >= 25
        for operation in operations:
            for mode, checks in MODES.items():
                @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                          phases=[Phase.generate], suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy(generation_mode=mode))
                def conforms(case):  # type: ignore[no-untyped-def]
                    case.call_and_validate(base_url=base, headers=auth, checks=checks, timeout=20)

                try:
                    conforms()
                except Unsatisfiable:  # nothing to make invalid: no parameters, no body
                    assert mode is GenerationMode.NEGATIVE, operation.label

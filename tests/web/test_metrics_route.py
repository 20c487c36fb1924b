"""/metrics in the web process: Prometheus text for a bearer token, nothing without one."""

from __future__ import annotations

from fastapi.testclient import TestClient

from channelport.services.users import create_token
from channelport.web.app import create_app


def test_metrics_need_a_token_and_list_channelport_metrics(rt):
    client = TestClient(create_app(rt))
    assert client.get("/metrics").status_code == 401
    token = create_token(rt, name="prometheus")
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert "channelport_database_up 1.0" in answer.text

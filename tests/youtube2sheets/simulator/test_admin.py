"""The admin endpoints: channels, faults, quota, latency, and their input errors."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.youtube2sheets.simulator.conftest import simulator
from youtube2sheets.simulator import Catalogue

TIMEOUT = {"kind": "timeout", "delay_ms": 10}


def test_channels_lists_the_fixed_channels(client: TestClient, catalogue: Catalogue) -> None:
    listed = client.get("/admin/channels").json()["channels"]
    assert listed == [
        {"id": c.id, "title": c.title, "videos": c.videos, "uploads": c.uploads} for c in catalogue.channels
    ]


def test_a_posted_fault_comes_back_with_an_id(client: TestClient) -> None:
    response = client.post("/admin/faults", json={"kind": "error", "status": 503, "retry_after": 2})
    assert response.status_code == 201
    assert response.json() == {
        "id": 1,
        "kind": "error",
        "status": 503,
        "rate": 1.0,
        "count": None,
        "methods": None,
        "retry_after": 2,
        "delay_ms": None,
        "fired": 0,
    }


def test_faults_are_listed_in_order(client: TestClient) -> None:
    client.post("/admin/faults", json=TIMEOUT)
    client.post("/admin/faults", json={"kind": "error", "status": 429})
    faults = client.get("/admin/faults").json()["faults"]
    assert [(f["id"], f["kind"]) for f in faults] == [(1, "timeout"), (2, "error")]


def test_delete_removes_one_fault(client: TestClient) -> None:
    client.post("/admin/faults", json=TIMEOUT)
    client.post("/admin/faults", json=TIMEOUT)
    response = client.delete("/admin/faults/1")
    assert response.status_code == 200 and response.json()["id"] == 1
    assert [f["id"] for f in client.get("/admin/faults").json()["faults"]] == [2]


def test_delete_all_removes_every_fault(client: TestClient) -> None:
    client.post("/admin/faults", json=TIMEOUT)
    client.post("/admin/faults", json=TIMEOUT)
    assert client.delete("/admin/faults").json() == {"deleted": 2}
    assert client.get("/admin/faults").json() == {"faults": []}


def test_deleting_an_unknown_fault_is_a_404(client: TestClient) -> None:
    response = client.delete("/admin/faults/9")
    assert response.status_code == 404 and response.json() == {
        "error": "id: no fault with id 9",
        "field": "id",
    }


# The last is ARABIC-INDIC DIGIT ONE: a digit to str.isdigit(), not a fault id.
@pytest.mark.parametrize("fault_id", ["abc", "-1", "1.5", "\u0661"])
def test_a_bad_fault_id_is_a_400(client: TestClient, fault_id: str) -> None:
    response = client.delete(f"/admin/faults/{fault_id}")
    assert response.status_code == 400 and response.json()["field"] == "id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b'"error"', "body"),
        (b'{"kind": "error", "status": 503, "rate": NaN}', "body"),
        (b"\xff\xfe", "body"),
        (b'{"kind": "error", "status": 503, "rate": 2}', "rate"),
        (b'{"kind": "timeout", "delay_ms": "long"}', "delay_ms"),
        (b'{"kind": "error", "status": 503, "extra": 1}', "extra"),
    ],
)
def test_bad_fault_bodies_are_400s_naming_the_field(client: TestClient, body: bytes, field: str) -> None:
    response = client.post("/admin/faults", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["field"] == field and response.json()["error"].startswith(f"{field}: ")
    assert client.get("/admin/faults").json() == {"faults": []}


def test_an_oversized_body_is_refused(client: TestClient) -> None:
    response = client.post("/admin/faults", content=b" " * 70_000)
    assert response.status_code == 400 and response.json()["field"] == "body"


def test_quota_shows_limit_usage_and_reset(client: TestClient) -> None:
    assert client.get("/admin/quota").json() == {
        "daily_limit": 10_000,
        "used": {},
        "resets_at": "2024-05-02T00:00:00-07:00",
    }


def test_put_quota_sets_the_limit_and_usage(client: TestClient) -> None:
    body = client.put("/admin/quota", json={"daily_limit": 50, "used": {"k": 49}}).json()
    assert (body["daily_limit"], body["used"]) == (50, {"k": 49})
    assert simulator(client).quota.charge("k", 1) and not simulator(client).quota.charge("k", 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"daily_limit": -5}, "daily_limit"),
        ({"used": {"k": "lots"}}, "used.k"),
        ({"reset": True}, "reset"),
    ],
)
def test_bad_quota_updates_are_400s(client: TestClient, body: dict[str, Any], field: str) -> None:
    response = client.put("/admin/quota", json=body)
    assert response.status_code == 400 and response.json()["field"] == field


def test_delete_quota_zeroes_usage(client: TestClient) -> None:
    client.put("/admin/quota", json={"used": {"k": 49}})
    assert client.delete("/admin/quota").json()["used"] == {}


def test_latency_is_read_and_changed(client: TestClient) -> None:
    assert client.get("/admin/latency").json() == {"median_ms": 0.0, "sigma": 0.0}
    assert client.put("/admin/latency", json={"median_ms": 20, "sigma": 0.5}).json() == {
        "median_ms": 20.0,
        "sigma": 0.5,
    }
    assert client.get("/admin/latency").json() == {"median_ms": 20.0, "sigma": 0.5}


def test_bad_latency_is_a_400_naming_the_field(client: TestClient) -> None:
    response = client.put("/admin/latency", json={"sigma": -1})
    assert response.status_code == 400 and response.json()["field"] == "sigma"


def test_a_wrong_method_is_a_json_405_listing_the_allowed(client: TestClient) -> None:
    response = client.post("/admin/quota", json={})
    assert response.status_code == 405 and response.json()["field"] == "method"
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT", "DELETE"}

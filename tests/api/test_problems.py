"""Every error is an RFC 9457 problem document with type, title, status, detail and instance."""

from __future__ import annotations

from tests.fixtures.hub import API, RunningHub

PROBLEM_JSON = "application/problem+json"


async def test_unknown_camera_is_a_404_problem(hub: RunningHub) -> None:
    response = await hub.client.get(f"{API}/cameras/nope")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "about:blank",
        "title": "Camera not found",
        "status": 404,
        "detail": "no camera 'nope'",
        "instance": f"{API}/cameras/nope",
    }


async def test_unknown_event_is_a_404_problem(hub: RunningHub) -> None:
    response = await hub.client.get(f"{API}/events/no-such-event")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "about:blank",
        "title": "Event not found",
        "status": 404,
        "detail": "no event 'no-such-event'",
        "instance": f"{API}/events/no-such-event",
    }


async def test_unknown_route_is_a_404_problem(hub: RunningHub) -> None:
    response = await hub.client.get(f"{API}/nothing-here")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "instance": f"{API}/nothing-here",
    }


async def test_limit_zero_is_a_422_problem_locating_the_parameter(hub: RunningHub) -> None:
    response = await hub.client.get(f"{API}/events", params={"limit": 0})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "https://sharp-eyes.example/problems/validation",
        "title": "Request is invalid",
        "status": 422,
        "detail": "1 problem(s) in the request",
        "instance": f"{API}/events",
        "errors": [{"location": "query.limit", "message": "Input should be greater than or equal to 1"}],
    }


async def test_every_bad_parameter_is_listed(hub: RunningHub) -> None:
    response = await hub.client.get(
        f"{API}/cameras", params={"limit": 5000, "offset": -1, "status": "asleep"}
    )

    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "3 problem(s) in the request"
    assert sorted(e["location"] for e in body["errors"]) == ["query.limit", "query.offset", "query.status"]


async def test_since_without_a_time_zone_is_a_422_problem(hub: RunningHub) -> None:
    response = await hub.client.get(f"{API}/events", params={"since": "2024-05-01T12:00:00"})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "about:blank",
        "title": "Request is invalid",
        "status": 422,
        "detail": "since must carry a time zone (e.g. Z)",
        "instance": f"{API}/events",
    }


async def test_wrong_method_is_a_405_problem(hub: RunningHub) -> None:
    response = await hub.client.post(f"{API}/events")

    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "about:blank",
        "title": "Method Not Allowed",
        "status": 405,
        "instance": f"{API}/events",
    }
    assert response.headers["allow"] == "GET"

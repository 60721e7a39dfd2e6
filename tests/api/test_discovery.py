"""``POST /discovery`` and ``hub discover`` against simulated cameras answering WS-Discovery by
unicast on 127.0.0.1 (multicast is tested only in a private network namespace, elsewhere)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from adapters.onvif.discovery import DiscoveredDevice
from adapters.onvif.wsdiscovery import DEVICE, NVT
from adapters.sim.camera import CameraSimulator
from hub.api.app import create_app
from hub.api.routes.discovery import mark_registered
from hub.cli import app
from tests.fixtures.hub import API, RunningHub, StartHub, make_settings
from tests.fixtures.sim_cameras import StartSim

CAMERAS = 3


@pytest.fixture
async def hub(tmp_path: Path, start_hub: StartHub) -> RunningHub:
    return await start_hub(make_settings(tmp_path, ingest=False))


@pytest.fixture
async def sim(start_sim: StartSim) -> CameraSimulator:
    return await start_sim(cameras=CAMERAS, discovery=0)


def _target(sim: CameraSimulator) -> str:
    return f"127.0.0.1:{sim.discovery_port}"


async def test_discovery_finds_every_camera_and_marks_the_registered_one(
    hub: RunningHub, sim: CameraSimulator
) -> None:
    first = sim.cameras[0]
    known = {"id": "known", "protocol": "onvif", "onvif_url": first.onvif_url, "main_url": first.rtsp_main}
    assert (await hub.client.post(f"{API}/cameras", json=known)).status_code == 201

    found = await hub.client.post(f"{API}/discovery", json={"targets": [_target(sim)], "timeout_s": 0.5})

    assert found.status_code == 200
    devices = sorted(found.json()["devices"], key=lambda d: d["endpoint"])
    expected = sorted(sim.cameras, key=lambda c: c.endpoint)
    assert [(d["endpoint"], d["xaddrs"], d["address"]) for d in devices] == [
        (c.endpoint, [c.onvif_url], "127.0.0.1") for c in expected
    ]
    assert {d["endpoint"]: d["registered_camera_id"] for d in devices} == {
        c.endpoint: "known" if c is first else None for c in sim.cameras
    }
    assert all(d["types"] == [NVT, DEVICE] for d in devices)
    assert all(
        f"onvif://www.onvif.org/name/{c.name}" in d["scopes"] for d, c in zip(devices, expected, strict=True)
    )


async def test_discovery_over_a_cidr_range(hub: RunningHub, sim: CameraSimulator) -> None:
    body = {"cidr": "127.0.0.0/30", "port": sim.discovery_port, "timeout_s": 0.5}

    found = await hub.client.post(f"{API}/discovery", json=body)

    assert found.status_code == 200
    assert {d["endpoint"] for d in found.json()["devices"]} == {c.endpoint for c in sim.cameras}


@pytest.mark.parametrize(
    ("body", "location", "message"),
    [
        ({"cidr": "10.0.0.0/8"}, "body", "10.0.0.0/8 has 16777214 hosts, more than the limit of 4096"),
        ({"cidr": "fd00::/120"}, "body", "fd00::/120: only IPv4 networks can be probed"),
        ({"targets": ["::1"]}, "body.targets", "target '::1' is not an IPv4 address (HOST or HOST:PORT)"),
        ({"targets": ["cam.example"]}, "body.targets", "is not an IPv4 address"),
        ({"targets": ["127.0.0.1:0"]}, "body.targets", "target '127.0.0.1:0': port must be 1..65535"),
        ({"targets": []}, "body", "nothing to probe: give targets, cidr or multicast_interface"),
        (
            {"targets": ["127.1.0.1", "127.1.0.2", "127.1.0.3"], "cidr": "127.0.0.0/20"},
            "body",
            "4097 hosts to probe, more than the limit of 4096",
        ),
        ({"targets": ["127.0.0.1"], "timeout_s": 0.1}, "body.timeout_s", "greater than or equal to 0.5"),
        ({"targets": ["127.0.0.1"], "timeout_s": 31}, "body.timeout_s", "less than or equal to 30"),
    ],
)
async def test_bad_requests_are_refused(
    hub: RunningHub, body: dict[str, Any], location: str, message: str
) -> None:
    refused = await hub.client.post(f"{API}/discovery", json=body)

    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert [e["location"] for e in errors] == [location]
    assert message in errors[0]["message"]


async def test_too_many_targets_and_an_unknown_interface(hub: RunningHub) -> None:
    many = {"targets": [f"127.0.{i // 250}.{i % 250 + 1}" for i in range(4097)]}

    too_many = await hub.client.post(f"{API}/discovery", json=many)
    no_interface = await hub.client.post(f"{API}/discovery", json={"multicast_interface": "nosuchif0"})

    assert too_many.status_code == 422
    assert "at most 4096 items" in too_many.json()["errors"][0]["message"]
    assert no_interface.status_code == 422
    assert no_interface.json()["detail"].startswith("network interface 'nosuchif0': ")


async def test_one_discovery_at_a_time(hub: RunningHub, sim: CameraSimulator) -> None:
    body = {"targets": [_target(sim)], "timeout_s": 0.5}

    first, second = await asyncio.gather(
        hub.client.post(f"{API}/discovery", json=body), hub.client.post(f"{API}/discovery", json=body)
    )

    assert sorted([first.status_code, second.status_code]) == [200, 429]
    busy = first if first.status_code == 429 else second
    assert (busy.headers["retry-after"], busy.json()["detail"]) == ("5", "a discovery is already running")


def test_registered_devices_match_on_host_and_port() -> None:
    device = DiscoveredDevice("urn:uuid:1", ("http://127.0.0.1/onvif/device_service",), (), (), "127.0.0.1")
    other_port = DiscoveredDevice("urn:uuid:2", ("http://127.0.0.1:8080/onvif",), (), (), "127.0.0.1")

    marked = mark_registered(
        [device, other_port], [("a", "HTTP://127.0.0.1:80/other/path"), ("b", "https://127.0.0.1/x")]
    )

    assert [m.registered_camera_id for m in marked] == ["a", None]


async def test_cli_prints_one_json_line_per_device(sim: CameraSimulator) -> None:
    args = ["discover", "--target", _target(sim), "--timeout", "0.5"]

    result = await asyncio.to_thread(CliRunner().invoke, app, args)

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {line["endpoint"] for line in lines} == {c.endpoint for c in sim.cameras}
    assert all(set(line) == {"endpoint", "xaddrs", "scopes", "types", "address"} for line in lines)


def test_cli_refuses_a_bad_target() -> None:
    result = CliRunner().invoke(app, ["discover", "--target", "cam.example:3702"])

    assert result.exit_code == 2
    assert "target 'cam.example:3702' is not an IPv4 address" in result.stderr


def test_every_onvif_endpoint_is_documented(hub: RunningHub) -> None:
    spec = create_app(hub.runtime, manage_runtime=False).openapi()
    components = spec["components"]["schemas"]
    ours = {
        p: ops
        for p, ops in spec["paths"].items()
        if any(k in p for k in ("discovery", "/ptz", "snapshot", "refresh"))
    }

    assert len([op for ops in ours.values() for op in ops]) == 12
    for path, ops in ours.items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            assert op["tags"] and op["summary"], where
            success = next(op["responses"][c] for c in ("200", "201", "204") if c in op["responses"])
            assert "content" in success or "204" in op["responses"], where
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                name = body["schema"]["$ref"].rpartition("/")[2]
                assert "examples" in body or "examples" in components[name], where

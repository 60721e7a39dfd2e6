"""Multicast discovery, only ever inside a private network namespace (see ``tests/netns.py``).

Needs ``unshare`` (util-linux) and ``ip`` (iproute2); the onvif-util test also needs the Debian
client (``apt-get install -y onvif-tools``). Without them the tests skip here and fail on CI.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from tests.netns import require_netns, require_tool, run_python_in_netns

MULTICAST_SNIPPET = """
import asyncio, json, socket
from adapters.onvif.discovery import probe
from adapters.onvif.wsdiscovery import NVT, Bye, Endpoint, Hello, parse_message
from adapters.sim.discovery.responder import DiscoveryResponder

def listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("", 3702))
    membership = socket.inet_aton("239.255.255.250") + socket.inet_aton("127.0.0.1")
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    sock.setblocking(False)
    return sock

def announcements(sock: socket.socket) -> list[list[str]]:
    seen = []
    while True:
        try:
            message = parse_message(sock.recv(65535))
        except BlockingIOError:
            return seen
        if isinstance(message, (Hello, Bye)):
            seen.append([type(message).__name__, message.endpoint.address])

async def main() -> None:
    group = listener()
    responder = DiscoveryResponder(host="127.0.0.1", port=3702, multicast=True)
    for i in (1, 2):
        xaddrs = (f"http://127.0.0.1:{8000 + i}/onvif/device_service",)
        responder.add(Endpoint(f"urn:uuid:00000000-0000-4000-8000-00000000000{i}", (NVT,), (), xaddrs))
    await responder.start()
    found = await probe(multicast_interface="lo", timeout_s=0.5)
    responder.remove("urn:uuid:00000000-0000-4000-8000-000000000001")
    after_bye = await probe(multicast_interface="127.0.0.1", timeout_s=0.3)
    await responder.stop()
    await asyncio.sleep(0.1)
    print(json.dumps({
        "found": [[d.endpoint, list(d.xaddrs), d.address] for d in found],
        "after_bye": [d.endpoint for d in after_bye],
        "announcements": announcements(group),
    }))

asyncio.run(main())
"""

ONVIF_UTIL_SNIPPET = """
import asyncio, json
from pathlib import Path
from adapters.sim.camera import CameraSimulator

COMMANDS = b"get profiles\\nget rtsp\\nget rtsp 1\\nquit\\n"

async def util(*args: str, stdin: bytes = b"") -> dict[str, object]:
    proc = await asyncio.create_subprocess_exec(
        "onvif-util", *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(stdin), 20)
    return {"rc": proc.returncode, "out": out.decode(errors="replace")}

async def main() -> None:
    sim = CameraSimulator(cameras=2, work_dir=Path(WORK_DIR), discovery=True, discovery_multicast=True)
    await sim.start()
    try:
        result = {
            "cameras": [json.loads(line) for line in sim.as_json_lines()],
            "all": await util("-a"),
            "login": await util("-u", "admin", "-p", "admin", "127.0.0.1", stdin=COMMANDS),
            "wrong": await util("-u", "admin", "-p", "wrong", "127.0.0.1", stdin=b"quit\\n"),
        }
    finally:
        await sim.stop()
    print(json.dumps(result))

asyncio.run(main())
"""


def _run(code: str) -> dict[str, Any]:
    done = run_python_in_netns(textwrap.dedent(code), timeout_s=60)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_multicast_probe_hello_and_bye_in_a_private_namespace() -> None:
    require_netns()

    result = _run(MULTICAST_SNIPPET)

    first, second = (
        "urn:uuid:00000000-0000-4000-8000-000000000001",
        "urn:uuid:00000000-0000-4000-8000-000000000002",
    )
    assert result["found"] == [
        [first, ["http://127.0.0.1:8001/onvif/device_service"], "127.0.0.1"],
        [second, ["http://127.0.0.1:8002/onvif/device_service"], "127.0.0.1"],
    ]
    assert result["after_bye"] == [second]
    assert result["announcements"] == [["Hello", first], ["Hello", second], ["Bye", first], ["Bye", second]]


def test_onvif_util_discovers_and_logs_in_to_the_simulated_cameras(tmp_path: Path) -> None:
    require_netns()
    require_tool("onvif-util", "onvif-tools")

    result = _run(ONVIF_UTIL_SNIPPET.replace("WORK_DIR", repr(str(tmp_path))))

    cam1, cam2 = result["cameras"]
    found = result["all"]
    assert found["rc"] == 0
    assert "Found 2 cameras" in found["out"]
    assert "127.0.0.1 (cam1 SimCam)" in found["out"]
    assert "127.0.0.1 (cam2 SimCam)" in found["out"]
    # onvif-util picks the first camera whose XAddrs host is the address asked for.
    login = result["login"]
    assert login["rc"] == 0, login["out"]
    assert "successfully connected to host" in login["out"]
    assert "Token 0: main" in login["out"]
    assert "Token 1: sub" in login["out"]
    main_urls = {cam1["rtsp_main"], cam2["rtsp_main"]}
    sub_urls = {cam1["rtsp_sub"], cam2["rtsp_sub"]}
    lines = [line.strip() for line in login["out"].splitlines()]
    assert main_urls & set(lines)
    assert sub_urls & set(lines)
    wrong = result["wrong"]
    assert wrong["rc"] == 1
    assert "ERROR: get device information - ter:NotAuthorized" in wrong["out"]

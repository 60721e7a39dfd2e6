"""Issue 'camera registry': discover 8 simulated cameras by multicast in a private network
namespace, register them through the API, and see them all online with both streams,
snapshots and PTZ. The scenario runs in a child process inside the namespace."""

from __future__ import annotations

import json
import sys

from tests.netns import require_netns, run_in_netns


def test_eight_discovered_cameras_register_and_come_online() -> None:
    require_netns()
    done = run_in_netns([sys.executable, "-m", "tests.scenarios.register_eight"], timeout_s=150)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result == {
        "discovered": 8,
        "registered": 8,
        "marked_registered": 8,
        "online": 8,
        "with_sub_stream": 8,
        "password_in_listing": False,
        "snapshots": 8,
        "ptz_moved": 8,
    }

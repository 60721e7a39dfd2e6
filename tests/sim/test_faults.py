"""The fault grammar and the live fault state, on a fake clock."""

from __future__ import annotations

import pytest

from adapters.sim.faults import REBOOT_DOWNTIME_S, CameraFaults, Fault, FaultKind, parse_fault, parse_faults


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_parse_every_kind() -> None:
    spec = (
        "drop@10,stall@20:5,corrupt:0.02,ts_jump@30s:3600,resize@40:320x180,offline@50:10,reboot@60,"
        "slow_soap:2,malformed_soap,clock_skew:-7200,tamper@30:5"
    )
    assert parse_faults(spec) == [
        Fault(FaultKind.DROP, 10.0),
        Fault(FaultKind.STALL, 20.0, 5.0),
        Fault(FaultKind.CORRUPT, 0.0, 0.02),
        Fault(FaultKind.TS_JUMP, 30.0, 3600.0),
        Fault(FaultKind.RESIZE, 40.0, size=(320, 180)),
        Fault(FaultKind.OFFLINE, 50.0, 10.0),
        Fault(FaultKind.REBOOT, 60.0),
        Fault(FaultKind.SLOW_SOAP, 0.0, 2.0),
        Fault(FaultKind.MALFORMED_SOAP, 0.0),
        Fault(FaultKind.CLOCK_SKEW, 0.0, -7200.0),
        Fault(FaultKind.TAMPER, 30.0, 5.0),
    ]
    assert parse_faults("  ") == []


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("drop@", "fault 'drop@' is not KIND[@SECONDS][:VALUE]"),
        (
            "explode@3",
            "unknown fault 'explode' (known: drop, stall, corrupt, ts_jump, ts_wrap, resize, offline, "
            "reboot, slow_soap, malformed_soap, clock_skew, tamper)",
        ),
        ("drop", "fault drop needs @SECONDS"),
        ("corrupt", "fault corrupt needs :VALUE"),
        ("resize@1:320", "fault resize: '320' is not WIDTHxHEIGHT"),
        ("corrupt:1.5", "fault corrupt: fraction 1.5 must be in (0, 1]"),
        ("corrupt:lots", "fault corrupt: 'lots' is not a number"),
        ("stall@1:0", "fault stall: duration 0 must be positive"),
        ("malformed_soap:1", "fault malformed_soap takes no value"),
    ],
)
def test_parse_errors(item: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_fault(item)
    assert str(info.value) == message


def test_rtsp_queries_follow_the_clock(clock: Clock) -> None:
    faults = CameraFaults(
        parse_faults("stall@10:5,ts_jump@20:3600,ts_jump@30:-600,offline@40:2"), clock=clock
    )
    assert (faults.stalled(), faults.timestamp_offset_s(), faults.refusing()) == (False, 0.0, False)
    clock.now += 12
    assert faults.stalled()
    clock.now += 3  # 15 s: the stall ended
    assert not faults.stalled()
    clock.now += 10  # 25 s
    assert faults.timestamp_offset_s() == 3600.0
    clock.now += 10  # 35 s: jumps add up
    assert faults.timestamp_offset_s() == 3000.0
    clock.now += 6  # 41 s
    assert faults.refusing()
    clock.now += 2
    assert not faults.refusing()


def test_values_that_are_not_durations_last(clock: Clock) -> None:
    faults = CameraFaults(parse_faults("corrupt:0.5,slow_soap:2,clock_skew:7200"), clock=clock)
    clock.now += 8000  # past 0.5, 2 and 7200 s: these values are not durations
    assert (faults.corrupt_fraction(), faults.soap_delay_s(), faults.clock_skew_s()) == (0.5, 2.0, 7200.0)
    faults.clear(FaultKind.CORRUPT)
    assert (faults.corrupt_fraction(), faults.soap_delay_s()) == (0.0, 2.0)
    faults.clear()
    assert faults.faults == []


def test_tamper_resize_and_reboot(clock: Clock) -> None:
    faults = CameraFaults(parse_faults("resize@20:320x180,resize@10:640x360,tamper@5:3"), clock=clock)
    assert (faults.resize(), faults.tampered()) == (None, False)
    clock.now += 6
    assert faults.tampered()
    clock.now += 5  # 11 s
    assert (faults.resize(), faults.tampered()) == ((640, 360), False)
    clock.now += 10  # 21 s: the later switch wins, whatever the order of the list
    assert faults.resize() == (320, 180)
    faults.reboot()
    assert faults.refusing()
    clock.now += REBOOT_DOWNTIME_S
    assert not faults.refusing()


def test_added_faults_count_from_now_except_drop(clock: Clock) -> None:
    faults = CameraFaults(clock=clock)
    clock.now += 100
    assert faults.add("stall@2:1") == Fault(FaultKind.STALL, 102.0, 1.0)
    assert faults.add("drop@3") == Fault(FaultKind.DROP, 3.0)  # after each PLAY, not after the start
    assert faults.add("tamper@1:1", now_relative=False) == Fault(FaultKind.TAMPER, 1.0, 1.0)
    assert faults.drop_after_s() == 3.0
    faults.add(Fault(FaultKind.DROP, 1.5))
    assert faults.drop_after_s() == 1.5

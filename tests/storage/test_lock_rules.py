"""The lock rules of the storage contract as pure functions (storage.base)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.base import LockMode, ObjectLock, check_relock, check_unlock, locked_error, whole_second
from storage.errors import ObjectLocked

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
GOV, COMP = LockMode.GOVERNANCE, LockMode.COMPLIANCE


def test_a_retention_needs_a_mode_and_an_aware_date() -> None:
    with pytest.raises(ValueError, match="needs both a mode and a retain-until date"):
        ObjectLock(mode=GOV)
    with pytest.raises(ValueError, match="needs both"):
        ObjectLock(retain_until=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        ObjectLock(GOV, datetime(2026, 12, 4, 12, 0))


def test_held_and_described() -> None:
    running = ObjectLock(COMP, NOW + HOUR, legal_hold=True)
    assert running.held(NOW) and running.retained(NOW)
    assert running.describe(NOW) == "compliance retention until 2026-12-04T13:00:00Z and a legal hold"
    lapsed = ObjectLock(GOV, NOW)
    assert not lapsed.held(NOW) and lapsed.describe(NOW) == "no lock"
    assert ObjectLock(legal_hold=True).held(NOW + 1000 * HOUR)


def test_whole_second_rounds_up_only_a_fraction() -> None:
    assert whole_second(NOW) == NOW
    assert whole_second(NOW + timedelta(microseconds=1)) == NOW + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("current", "new", "refusal"),
    [
        (ObjectLock(), ObjectLock(COMP, NOW + HOUR), None),
        (ObjectLock(GOV, NOW + HOUR), ObjectLock(GOV, NOW + 2 * HOUR), None),
        (ObjectLock(GOV, NOW - HOUR), ObjectLock(COMP, NOW + HOUR), None),  # the old one ran out
        (ObjectLock(COMP, NOW + HOUR), ObjectLock(legal_hold=True), None),  # a hold on top
        (
            ObjectLock(GOV, NOW + 2 * HOUR),
            ObjectLock(GOV, NOW + HOUR),
            "cannot shorten it to 2026-12-04T13:00:00Z",
        ),
        (
            ObjectLock(GOV, NOW + HOUR),
            ObjectLock(COMP, NOW + HOUR),
            "cannot switch it to a compliance retention",
        ),
        (
            ObjectLock(COMP, NOW + HOUR),
            ObjectLock(GOV, NOW + 2 * HOUR),
            "cannot switch it to a governance retention",
        ),
    ],
)
def test_check_relock(current: ObjectLock, new: ObjectLock, refusal: str | None) -> None:
    if refusal is None:
        check_relock("k", current, new, NOW)
        return
    with pytest.raises(ObjectLocked) as caught:
        check_relock("k", current, new, NOW)
    assert str(caught.value).endswith(refusal)
    assert caught.value.key == "k"


def test_a_new_retention_must_end_in_the_future() -> None:
    with pytest.raises(
        ValueError, match=r"retention date 2026-12-04T12:00:00\+00:00 for 'k' is not in the future"
    ):
        check_relock("k", ObjectLock(), ObjectLock(GOV, NOW), NOW)


def test_check_unlock_refuses_only_a_running_compliance_retention() -> None:
    check_unlock("k", ObjectLock(GOV, NOW + HOUR, legal_hold=True), NOW)
    check_unlock("k", ObjectLock(COMP, NOW), NOW)
    with pytest.raises(ObjectLocked) as caught:
        check_unlock("k", ObjectLock(COMP, NOW + HOUR, legal_hold=True), NOW)
    assert str(caught.value) == (
        "object 'k' is locked (compliance retention until 2026-12-04T13:00:00Z): cannot lift it before then"
    )
    assert caught.value.until == NOW + HOUR


def test_a_legal_hold_has_no_until() -> None:
    assert locked_error("k", ObjectLock(GOV, NOW + HOUR, legal_hold=True), NOW, "delete it").until is None
    assert locked_error("k", ObjectLock(GOV, NOW + HOUR), NOW, "delete it").until == NOW + HOUR

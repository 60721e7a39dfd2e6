"""ClipAssembler timing rules as a pure state machine: fake 10 fps packets, a keyframe every 2 s."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from hub.recording.clips import ClipAssembler, ClipJob, ClipPolicy
from hub.recording.ring_buffer import PacketRingBuffer
from tests.fixtures.media import FPS, T0, PacketFactory, frame_index

POLICY = ClipPolicy(pre_roll_s=5.0, post_roll_s=5.0, max_clip_s=120.0, merge_gap_s=3.0)


def at(index: int) -> float:
    """Wall clock of frame ``index``."""
    return T0 + index / FPS


@dataclass
class Camera:
    """Feeds one packet at a time and collects the jobs, as the pipeline does."""

    make: PacketFactory
    clips: ClipAssembler
    next_index: int = 0
    jobs: list[ClipJob] = field(default_factory=list)

    def run_to(self, index: int, *, generation: int = 0) -> list[ClipJob]:
        """Feed frames up to and including ``index``; returns the jobs they produced."""
        new: list[ClipJob] = []
        for i in range(self.next_index, index + 1):
            new += self.clips.on_packet(self.make(i, generation=generation))
        self.next_index = index + 1
        self.jobs += new
        return new


def camera(make: PacketFactory, policy: ClipPolicy = POLICY) -> Camera:
    ring = PacketRingBuffer(max_seconds=policy.pre_roll_s + 4.0, max_bytes=10**9)
    return Camera(make, ClipAssembler(policy, ring))


def span(job: ClipJob) -> tuple[int, int]:
    return frame_index(job.packets[0]), frame_index(job.packets[-1])


def test_pre_roll_starts_on_the_keyframe_before_it(packet_factory: PacketFactory) -> None:
    cam = camera(packet_factory)
    cam.run_to(70)
    cam.clips.event_started("e1", at(70))  # pre-roll back to 2.0 s: keyframe 20 is exactly there
    assert cam.clips.recording
    cam.clips.event_ended("e1", at(80))
    cam.run_to(200)
    assert len(cam.jobs) == 1
    job = cam.jobs[0]
    assert span(job) == (20, 130)  # post-roll: 8.0 s + 5.0 s
    assert [frame_index(p) for p in job.packets] == list(range(20, 131))
    assert job.packets[0].is_keyframe
    assert (job.clip_id, job.event_ids, job.truncated) == ("e1", ["e1"], False)
    assert not cam.clips.recording


def test_pre_roll_between_keyframes_takes_the_earlier_one(packet_factory: PacketFactory) -> None:
    cam = camera(packet_factory)
    cam.run_to(75)
    cam.clips.event_started("e1", at(75))  # 7.5 - 5.0 = 2.5 s: keyframe 20 (2.0 s), not 40
    cam.clips.event_ended("e1", at(76))
    cam.run_to(200)
    assert span(cam.jobs[0]) == (20, 126)


def test_post_roll_closes_on_the_exact_packet(packet_factory: PacketFactory) -> None:
    cam = camera(packet_factory)
    cam.run_to(50)
    cam.clips.event_started("e1", at(50))
    cam.clips.event_ended("e1", at(60))
    assert cam.run_to(109) == []
    assert cam.clips.recording
    [job] = cam.run_to(110)
    assert span(job) == (0, 110)


def test_event_within_merge_gap_extends_one_clip(packet_factory: PacketFactory) -> None:
    cam = camera(packet_factory)
    cam.run_to(70)
    cam.clips.event_started("e1", at(70))
    cam.run_to(80)
    cam.clips.event_ended("e1", at(80))
    cam.run_to(90)
    cam.clips.event_started("e2", at(90))  # 1 s after e1 ended
    cam.run_to(100)
    cam.clips.event_ended("e2", at(100))
    cam.run_to(300)
    assert len(cam.jobs) == 1
    job = cam.jobs[0]
    assert (job.clip_id, job.event_ids, job.truncated) == ("e1", ["e1", "e2"], False)
    assert span(job) == (20, 150)  # closes 5 s after the last end


def test_overlapping_events_close_after_the_last_one_ends(packet_factory: PacketFactory) -> None:
    cam = camera(packet_factory)
    cam.run_to(70)
    cam.clips.event_started("e1", at(70))
    cam.clips.event_started("e2", at(71))
    cam.run_to(80)
    cam.clips.event_ended("e1", at(80))
    cam.run_to(140)  # e1's post-roll has passed, but e2 is still open
    assert cam.jobs == []
    cam.clips.event_ended("e2", at(140))
    cam.run_to(300)
    [job] = cam.jobs
    assert job.event_ids == ["e1", "e2"]
    assert span(job) == (20, 190)


def test_events_far_apart_make_two_clips(packet_factory: PacketFactory) -> None:
    cam = camera(packet_factory)
    cam.run_to(70)
    cam.clips.event_started("e1", at(70))
    cam.clips.event_ended("e1", at(80))
    cam.run_to(180)
    cam.clips.event_started("e2", at(180))  # 10 s after e1 ended
    cam.clips.event_ended("e2", at(190))
    cam.run_to(300)
    assert [(j.clip_id, j.event_ids) for j in cam.jobs] == [("e1", ["e1"]), ("e2", ["e2"])]
    assert [span(j) for j in cam.jobs] == [(20, 130), (120, 240)]


def test_merge_gap_longer_than_post_roll_keeps_the_clip_open(packet_factory: PacketFactory) -> None:
    cam = camera(
        packet_factory, ClipPolicy(pre_roll_s=2.0, post_roll_s=1.0, max_clip_s=120.0, merge_gap_s=4.0)
    )
    cam.run_to(40)
    cam.clips.event_started("e1", at(40))
    cam.clips.event_ended("e1", at(50))
    assert cam.run_to(89) == []
    [job] = cam.run_to(90)  # written once the merge window (5.0 s + 4.0) has passed ...
    assert span(job) == (20, 60)  # ... but it still ends post_roll_s (1.0) after the event


def test_max_clip_length_cuts_and_marks_truncated(packet_factory: PacketFactory) -> None:
    cam = camera(
        packet_factory, ClipPolicy(pre_roll_s=5.0, post_roll_s=5.0, max_clip_s=10.0, merge_gap_s=3.0)
    )
    cam.run_to(70)
    cam.clips.event_started("e1", at(70))
    assert cam.run_to(119) == []
    [job] = cam.run_to(120)  # 2.0 s (first packet) + 10 s
    assert span(job) == (20, 120)
    assert (job.event_ids, job.truncated) == (["e1"], True)
    assert not cam.clips.recording
    cam.clips.event_ended("e1", at(150))
    assert cam.run_to(300) == []


def test_flush_writes_the_open_clip(packet_factory: PacketFactory) -> None:
    cam = camera(packet_factory)
    cam.run_to(70)
    cam.clips.event_started("e1", at(70))
    cam.run_to(85)
    [job] = cam.clips.flush()
    assert span(job) == (20, 85)
    assert (job.clip_id, job.truncated) == ("e1", True)
    assert not cam.clips.recording
    assert cam.clips.flush() == []


def test_flush_of_a_clip_in_post_roll_is_not_truncated(packet_factory: PacketFactory) -> None:
    cam = camera(packet_factory)
    cam.run_to(70)
    cam.clips.event_started("e1", at(70))
    cam.clips.event_ended("e1", at(75))
    cam.run_to(90)
    [job] = cam.clips.flush()
    assert (span(job), job.truncated) == ((20, 90), False)


def test_event_before_the_first_keyframe_waits_for_it(packet_factory: PacketFactory) -> None:
    cam = camera(packet_factory)
    cam.next_index = 5  # joined mid-GOP: frames 5..19 are not decodable
    cam.run_to(10)
    cam.clips.event_started("e1", at(10))
    assert not cam.clips.recording
    cam.run_to(19)
    assert not cam.clips.recording
    cam.run_to(20)
    assert cam.clips.recording
    cam.clips.event_ended("e1", at(30))
    cam.run_to(200)
    [job] = cam.jobs
    assert span(job) == (20, 80)
    assert (job.clip_id, job.event_ids) == ("e1", ["e1"])


def test_waiting_events_share_the_first_clip(packet_factory: PacketFactory) -> None:
    cam = camera(packet_factory)
    cam.next_index = 5
    cam.clips.event_started("e1", at(5))
    cam.clips.event_started("e2", at(6))
    cam.run_to(25)
    cam.clips.event_ended("e1", at(25))
    cam.clips.event_ended("e2", at(25))
    cam.run_to(200)
    [job] = cam.jobs
    assert (job.clip_id, job.event_ids, span(job)) == ("e1", ["e1", "e2"], (20, 75))


def test_event_over_before_the_first_keyframe_makes_no_clip(packet_factory: PacketFactory) -> None:
    cam = camera(packet_factory)
    cam.next_index = 5
    cam.clips.event_started("e1", at(5))
    cam.clips.event_ended("e1", at(8))
    cam.run_to(200)
    assert cam.jobs == []
    assert not cam.clips.recording


def test_a_new_generation_does_not_cut_the_clip(packet_factory: PacketFactory) -> None:
    cam = camera(packet_factory)
    cam.run_to(70)
    cam.clips.event_started("e1", at(70))
    cam.run_to(85)
    # New SPS (a resolution change) at the keyframe 86: the clip plays on across it.
    assert cam.clips.on_packet(packet_factory(86, generation=1, keyframe=True)) == []
    cam.next_index = 87
    cam.run_to(100, generation=1)
    cam.clips.event_ended("e1", at(100))
    [job] = cam.run_to(160, generation=1)
    assert span(job) == (20, 150)
    assert [frame_index(p) for p in job.packets] == list(range(20, 151))
    assert [p.stream.generation for p in job.packets] == [0] * 66 + [1] * 65
    assert (job.event_ids, job.truncated) == (["e1"], False)


def test_an_event_just_after_a_new_generation_gets_its_whole_pre_roll(packet_factory: PacketFactory) -> None:
    cam = camera(packet_factory)
    cam.run_to(79)
    cam.next_index = 81
    cam.clips.on_packet(packet_factory(80, generation=1, keyframe=True))  # the camera switched size
    cam.run_to(90, generation=1)
    cam.clips.event_started("e1", at(90))  # 1 s after the switch: the pre-roll reaches back across it
    cam.clips.event_ended("e1", at(95))
    [job] = cam.run_to(200, generation=1)
    assert span(job) == (40, 145)
    assert {p.stream.generation for p in job.packets} == {0, 1}


def test_another_codec_cuts_the_clip(packet_factory: PacketFactory) -> None:
    cam = camera(packet_factory)
    cam.run_to(70)
    cam.clips.event_started("e1", at(70))
    cam.run_to(85)
    other = packet_factory(86, keyframe=True)
    hevc = dataclasses.replace(other, stream=dataclasses.replace(other.stream, codec="hevc", generation=1))
    [job] = cam.clips.on_packet(hevc)  # one MP4 track holds one codec
    assert span(job) == (20, 85)
    assert {p.stream.codec for p in job.packets} == {"h264"}
    assert (job.event_ids, job.truncated) == (["e1"], True)


@pytest.mark.parametrize("event", ["e-unknown"])
def test_ending_an_unknown_event_is_ignored(packet_factory: PacketFactory, event: str) -> None:
    cam = camera(packet_factory)
    cam.run_to(30)
    cam.clips.event_ended(event, at(30))
    cam.clips.event_started("e1", at(30))
    cam.clips.event_ended(event, at(31))
    cam.run_to(200)
    assert cam.jobs == []  # e1 never ended
    assert cam.clips.recording


def test_event_after_post_roll_but_within_merge_gap_joins(packet_factory: PacketFactory) -> None:
    cam = camera(
        packet_factory, ClipPolicy(pre_roll_s=2.0, post_roll_s=1.0, max_clip_s=120.0, merge_gap_s=4.0)
    )
    cam.run_to(40)
    cam.clips.event_started("e1", at(40))
    cam.clips.event_ended("e1", at(50))
    cam.run_to(80)
    cam.clips.event_started("e2", at(80))  # 3 s after e1 ended: past post-roll, inside merge gap
    cam.clips.event_ended("e2", at(85))
    cam.run_to(200)
    [job] = cam.jobs
    assert (job.event_ids, span(job)) == (["e1", "e2"], (20, 95))

"""Prometheus metrics read from the running hub at scrape time (no counters to keep in sync)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from hub.runtime import HubRuntime


class HubMetrics(Collector):
    def __init__(self, registry: CollectorRegistry, runtime: HubRuntime) -> None:
        self.runtime = runtime
        registry.register(self)

    def collect(self) -> Iterator[Metric]:
        parts = self.runtime._parts
        if parts is None:
            return
        packets = CounterMetricFamily("hub_camera_packets", "Packets received per camera", labels=["camera"])
        received = CounterMetricFamily("hub_camera_bytes", "Bytes received per camera", labels=["camera"])
        events = CounterMetricFamily("hub_camera_events", "Events opened per camera", labels=["camera"])
        fps = GaugeMetricFamily("hub_camera_fps", "Measured frame rate per camera", labels=["camera"])
        for camera_id, pipeline in parts.supervisor.pipelines.items():
            packets.add_metric([camera_id], pipeline.stats.packets)
            received.add_metric([camera_id], pipeline.stats.bytes)
            events.add_metric([camera_id], pipeline.stats.events)
            fps.add_metric([camera_id], pipeline.stats.fps)
        yield from (packets, received, events, fps)
        status = parts.uploader.status
        yield GaugeMetricFamily(
            "hub_spool_files", "Media files waiting for the object store", value=status.pending
        )
        yield GaugeMetricFamily(
            "hub_spool_bytes", "Bytes waiting for the object store", value=status.pending_bytes
        )
        yield GaugeMetricFamily(
            "hub_object_store_up", "1 when the last upload succeeded", value=int(status.store_available)
        )
        yield CounterMetricFamily("hub_media_uploaded", "Media files uploaded", value=status.uploaded)

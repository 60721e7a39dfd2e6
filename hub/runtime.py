"""The hub's running parts, wired together: database, object store, spool, uploader, ticket
delivery and the camera supervisor. ``hub serve`` and ``hub demo`` both run one of these.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.config.camera import CameraConfig
from hub.config.hub import HubSettings
from hub.config.ingest import WorkerIsolation
from hub.config.secret import load_or_create_secret
from hub.db import migrate
from hub.db.engine import create_engine, ping, session_factory
from hub.events.keep import media_uploaded
from hub.events.retry import until_written
from hub.events.store import EventStore
from hub.ingest.camera_status import CameraStatusStore
from hub.ingest.camera_worker import SourceFactory, WorkerSettings, pyav_source_factory
from hub.ingest.pipeline import CameraPipeline, PipelineContext
from hub.ingest.registry_watch import RegistryWatcher
from hub.ingest.supervisor import Supervisor
from hub.ingest.worker_link import InProcessLink, WorkerLink
from hub.ingest.worker_process import ProcessLink, WorkerPool
from hub.media.reclaim import requeue_spooled
from hub.media.spool import MediaSpool, SpoolEntry
from hub.media.uploader import MediaUploader
from hub.metrics import HubMetrics
from hub.registry.credentials import CredentialCipher, open_credentials
from hub.retention.sweeper import RetentionSweeper
from hub.tickets.delivery import TicketDeliverer, TicketMetrics
from storage.base import ObjectStore
from storage.errors import StorageUnavailable
from storage.factory import create_store

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RuntimeParts:
    settings: HubSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    store: ObjectStore
    spool: MediaSpool
    uploader: MediaUploader
    deliverer: TicketDeliverer
    events: EventStore
    cameras: CameraStatusStore
    supervisor: Supervisor
    cipher: CredentialCipher
    registry: RegistryWatcher


class HubRuntime:
    def __init__(self, settings: HubSettings, *, source_factory: SourceFactory | None = None) -> None:
        """``source_factory`` replaces PyAV for ``ingest.isolation: thread`` (worker processes
        always use PyAV: a factory need not be picklable)."""
        self.settings = settings
        self.source_factory = source_factory or pyav_source_factory(settings.ingest)
        self.registry = CollectorRegistry()
        self.secret = b""
        self._parts: RuntimeParts | None = None
        self.retention: RetentionSweeper | None = None
        self.workers: WorkerPool | None = None

    @property
    def parts(self) -> RuntimeParts:
        if self._parts is None:
            raise RuntimeError("the hub runtime is not started")
        return self._parts

    async def start(self) -> None:
        """Raises DatabaseUnavailable or ConfigError with a clear message; storage may be down."""
        s = self.settings
        self.secret = load_or_create_secret(s)
        url = s.effective_database_url()
        engine = create_engine(url)
        try:
            await ping(engine)
            await migrate.upgrade(url)
        except BaseException:
            await engine.dispose()
            raise
        sessions = session_factory(engine)
        try:
            cipher = await open_credentials(s, sessions)  # fails now, not at the first camera write
        except BaseException:
            await engine.dispose()
            raise
        assert s.api.public_url is not None and s.storage.spool_dir is not None
        store = create_store(s.storage, signing_key=self.secret, public_url=s.api.public_url)
        try:
            await store.start()
        except StorageUnavailable as err:
            log.error("object store (%s) is unavailable: %s; media waits in the spool", store.backend, err)
        spool = MediaSpool(s.storage.spool_dir, max_bytes=s.storage.spool_max_bytes)
        await requeue_spooled(sessions, spool)  # before open() removes unqueued files
        waiting = spool.open()
        if waiting:
            log.info("spool: %d file(s) from an earlier run wait for upload", waiting)
        wh = s.webhook
        deliverer = TicketDeliverer(
            sessions,
            url=wh.url,
            secret=wh.secret.get_secret_value().encode() if wh.secret else self.secret,
            timeout_s=wh.timeout_s,
            retry_initial_s=wh.retry_initial_s,
            retry_max_s=wh.retry_max_s,
            poll_interval_s=wh.poll_interval_s,
            metrics=TicketMetrics.create(self.registry),
        )
        events = EventStore(sessions, on_ticket=deliverer.wake)

        async def stored(entry: SpoolEntry) -> None:
            await events.media_stored(entry.key)
            # Sizes for the quota; the lock of a kept event's media that waited in the spool.
            await media_uploaded(sessions=sessions, store=store, key=entry.key, size=entry.size)

        async def evicted(entry: SpoolEntry) -> None:
            await until_written(lambda: events.media_evicted(entry.key), what=f"marking {entry.key} dropped")

        uploader = MediaUploader(spool, store, on_stored=stored, on_evicted=evicted)
        cameras = CameraStatusStore(sessions)

        pool = self.workers = WorkerPool(s.ingest.cameras_per_process)

        def link(camera: CameraConfig) -> WorkerLink:
            spec = WorkerSettings(camera, s.recording, s.motion, s.ingest, spool.root)
            if s.ingest.isolation is WorkerIsolation.PROCESS:
                return ProcessLink(spec, pool)
            return InProcessLink(spec, path_for=spool.path_for, source_factory=self.source_factory)

        ctx = PipelineContext(events, spool, uploader, link, heartbeat_timeout_s=s.ingest.worker_timeout_s)

        def pipeline(camera: CameraConfig) -> CameraPipeline:
            return CameraPipeline(camera, ctx)

        supervisor = Supervisor(
            s.cameras,
            pipelines=pipeline,
            status=cameras,
            retry_initial_s=s.ingest.reconnect_initial_s,
            retry_max_s=s.ingest.reconnect_max_s,
            events=events,
            health_hold_s=s.ingest.health_hold_s,
        )
        registry = RegistryWatcher(sessions, supervisor, cipher, config_cameras=s.cameras)
        self._parts = RuntimeParts(
            s,
            engine,
            sessions,
            store,
            spool,
            uploader,
            deliverer,
            events,
            cameras,
            supervisor,
            cipher,
            registry,
        )
        HubMetrics(self.registry, self)
        await events.recover()
        await uploader.start()
        self.retention = RetentionSweeper(sessions, store, s.retention)
        await self.retention.start()
        await deliverer.start()
        await cameras.sync_from_config(s.cameras)  # the registry lists YAML cameras on every node
        if s.ingest.enabled:
            await supervisor.start()
            await registry.start()
        else:
            log.info("ingest is disabled on this node: cameras are registered but not opened")
        log.info(
            "hub started: %d camera(s), database %s, storage %s",
            len(s.cameras),
            engine.url.render_as_string(hide_password=True),
            store.backend,
        )

    async def stop(self) -> None:
        parts, self._parts = self._parts, None
        if parts is None:
            return
        await parts.registry.stop()
        await parts.supervisor.stop()
        if self.workers is not None:
            await self.workers.close()  # whatever did not stop in order
        try:
            await parts.uploader.upload_pending()  # one last try; what is left waits in the spool
        except Exception:
            log.exception("final upload attempt failed; media stays in the spool")
        if self.retention is not None:
            await self.retention.stop()
            self.retention = None
        await parts.uploader.stop()
        await parts.deliverer.stop()
        await parts.store.close()
        await parts.engine.dispose()
        log.info("hub stopped")

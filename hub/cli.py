"""The ``hub`` command line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from hub.config.errors import ConfigError, format_problems
from hub.config.hub import HubSettings
from hub.config.loader import load_settings
from hub.db.engine import DatabaseUnavailable
from hub.logs import configure_logging
from hub.registry.credentials import CredentialKeyError

app = typer.Typer(
    help="Sharp Eyes Hub: cameras in, events, clips and grid tickets out.", no_args_is_help=True
)
config_app = typer.Typer(help="Configuration tools.", no_args_is_help=True)
db_app = typer.Typer(help="Database tools.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML config file; HUB_* variables override it.")
]


def _settings(path: Path | None) -> HubSettings:
    try:
        return load_settings(path)
    except ConfigError as err:
        print(format_problems(err.problems, path), file=sys.stderr)
        print(f"{len(err.problems)} configuration problem(s)", file=sys.stderr)
        raise typer.Exit(2) from err


@config_app.command("check")
def config_check(path: Annotated[Path, typer.Argument(help="The YAML file to check.")]) -> None:
    """Validate a config file; print every problem with its line, exit 2 if there is any."""
    settings = _settings(path)
    print(f"{path}: OK ({len(settings.cameras)} camera(s), storage {settings.storage.backend})")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply the database migrations (``hub serve`` also does this at start-up)."""
    from hub.db import migrate

    settings = _settings(config)
    configure_logging(str(settings.log_level))
    try:
        asyncio.run(migrate.upgrade(settings.effective_database_url()))
    except DatabaseUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        raise typer.Exit(1) from err
    print("database is at the latest revision")


@app.command()
def serve(config: ConfigOption = None) -> None:
    """Run the API and the camera supervisor until Ctrl-C / SIGTERM."""
    from hub.runtime import HubRuntime
    from hub.serve import serve as run_server

    settings = _settings(config)
    configure_logging(str(settings.log_level))
    try:
        asyncio.run(run_server(HubRuntime(settings)))
    except (DatabaseUnavailable, ConfigError, CredentialKeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise typer.Exit(1) from err
    except KeyboardInterrupt:
        pass


@app.command()
def demo(
    cameras: Annotated[int, typer.Option(min=1, max=16, help="Simulated cameras to start.")] = 2,
    port: Annotated[int, typer.Option(min=1, max=65535, help="API port.")] = 8080,
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its database and media.")] = Path(
        "demo-data"
    ),
    source: Annotated[
        Path | None,
        typer.Option(help="Video file to play (default: the sample video, else a synthetic scene)."),
    ] = None,
    seconds: Annotated[float | None, typer.Option(help="Stop by itself after this many seconds.")] = None,
) -> None:
    """Simulated cameras + the hub + a stand-in grid receiver + the console, on embedded defaults."""
    from hub.demo import run_demo

    configure_logging("info")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C already stopped everything in order
        asyncio.run(run_demo(cameras=cameras, port=port, data_dir=data_dir, source=source, seconds=seconds))


@app.command()
def sim(
    cameras: Annotated[int, typer.Option(min=1, max=256, help="Simulated cameras to run.")] = 2,
    source: Annotated[
        list[Path] | None,
        typer.Option(help="Video file to play; repeat for more (cameras take them in turn)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address every server listens on and URLs name.")] = "127.0.0.1",
    onvif_port_base: Annotated[
        int,
        typer.Option(
            min=0, max=65535, help="The first camera's ONVIF port, the next ones count up (0: any)."
        ),
    ] = 0,
    rtsp_port: Annotated[int, typer.Option(min=0, max=65535, help="RTSP port (0: any free port).")] = 0,
    user: Annotated[str, typer.Option(help="Camera username (ONVIF and RTSP).")] = "admin",
    password: Annotated[str, typer.Option(help="Camera password.")] = "admin",
    faults: Annotated[str, typer.Option(help="Faults for every camera, e.g. 'drop@10,slow_soap:2'.")] = "",
    discovery: Annotated[bool, typer.Option(help="Answer WS-Discovery probes (unicast).")] = False,
    discovery_port: Annotated[int, typer.Option(min=0, max=65535, help="WS-Discovery port.")] = 3702,
    multicast: Annotated[
        bool, typer.Option(help="Also join the WS-Discovery multicast group (private networks only).")
    ] = False,
    work_dir: Annotated[
        Path | None, typer.Option(help="Where generated media is kept (default: a temporary directory).")
    ] = None,
) -> None:
    """Simulated ONVIF/RTSP cameras: one JSON line per camera on stdout, until Ctrl-C / SIGTERM."""
    from adapters.sim.cli import main as run_sim

    configure_logging("info")
    status = run_sim(
        cameras=cameras,
        sources=source or [],
        host=host,
        rtsp_port=rtsp_port,
        onvif_port_base=onvif_port_base,
        username=user,
        password=password,
        faults=faults,
        discovery=discovery or multicast,
        discovery_port=discovery_port,
        multicast=multicast,
        work_dir=work_dir,
    )
    if status:
        raise typer.Exit(status)


@app.command()
def discover(
    target: Annotated[
        list[str] | None, typer.Option("--target", help="IPv4 HOST or HOST:PORT to probe; repeatable.")
    ] = None,
    cidr: Annotated[str | None, typer.Option(help="Probe every host of this IPv4 network.")] = None,
    interface: Annotated[
        str | None, typer.Option("--interface", help="Also probe by multicast on this interface.")
    ] = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="WS-Discovery port.")] = 3702,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for answers (0.5..30).")] = 3.0,
) -> None:
    """Find ONVIF cameras by WS-Discovery: one JSON line per device on stdout (no hub needed)."""
    from pydantic import ValidationError

    from adapters.onvif.discovery import probe
    from hub.api.schemas_onvif import DiscoveryRequest

    try:
        request = DiscoveryRequest(
            targets=target, cidr=cidr, port=port, multicast_interface=interface, timeout_s=timeout
        )
    except ValidationError as err:
        for problem in err.errors():
            where = ".".join(str(p) for p in problem["loc"])
            message = problem["msg"].removeprefix("Value error, ")
            print(f"error: {where + ': ' if where else ''}{message}", file=sys.stderr)
        raise typer.Exit(2) from err
    try:
        devices = asyncio.run(
            probe(
                targets=request.probe_targets() or None,
                multicast_interface=request.multicast_interface,
                timeout_s=request.timeout_s,
            )
        )
    except (ValueError, OSError) as err:  # an unknown interface, or a socket that cannot be opened
        print(f"error: {err}", file=sys.stderr)
        raise typer.Exit(2 if isinstance(err, ValueError) else 1) from err
    for device in devices:
        print(
            json.dumps(
                {
                    "endpoint": device.endpoint,
                    "xaddrs": list(device.xaddrs),
                    "scopes": list(device.scopes),
                    "types": list(device.types),
                    "address": device.address,
                }
            )
        )


@app.command()
def version() -> None:
    """Print the hub's version."""
    from hub import __version__

    print(json.dumps({"version": __version__}))


def main() -> None:
    app()

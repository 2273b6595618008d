"""``python -m bench.poll``: how much one poll of a device costs.

Polls a device with its driver, exactly as the integration's coordinator does, and reports
per poll: Modbus requests, wall-clock duration and CPU time of this process.

By default the tool starts the device's simulator in this process on 127.0.0.1 (ephemeral
port) and checks the driver's request counter against the simulator's. The simulator then
shares the process, so its CPU time is part of the figure. ``--external`` (or
``--host``/``--port``) talks to a simulator started separately with ``python -m simulator``
or to a real device instead: only the client's CPU time is counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import pymodbus

from custom_components.solar_wallbox.drivers.amtron import AmtronClient
from custom_components.solar_wallbox.drivers.dctr import DctrClient
from custom_components.solar_wallbox.drivers.e3dc import E3dcClient
from custom_components.solar_wallbox.drivers.modbus import ModbusConnection, ModbusError
from custom_components.solar_wallbox.drivers.pac2200 import Pac2200Client
from simulator.__main__ import DEVICES as SIMULATOR_DEVICES
from simulator.__main__ import parse_endpoint
from simulator.amtron import AmtronDevice
from simulator.dctr import DctrDevice
from simulator.e3dc import E3dcDevice
from simulator.modbus_server import Faults, SimDevice
from simulator.model import SiteModel
from simulator.pac2200 import Pac2200Device
from simulator.runner import SimulatedSite

DEFAULT_POLLS = 200
DEFAULT_WARMUP = 3
LOCALHOST = "127.0.0.1"
SCENARIO = "sunny"


class PollClient(Protocol):
    """What the bench needs from a device driver."""

    async def identify(self) -> object:
        """Read what the device says about itself (once, before polling)."""
        ...

    async def read(self) -> object:
        """One poll, as the integration does it."""
        ...


@dataclass(frozen=True, slots=True)
class BenchDevice:
    """A device the bench can poll: its driver and its simulator."""

    name: str
    title: str
    unit_id: int
    client: Callable[[ModbusConnection], PollClient]
    simulator: Callable[[SiteModel], SimDevice]


# Add a device here: name (as in `python -m simulator --NAME`), driver, simulator.
DEVICES: dict[str, BenchDevice] = {
    device.name: device
    for device in (
        BenchDevice("e3dc", "E3DC S10", 1, E3dcClient, E3dcDevice),
        BenchDevice("amtron", "Mennekes Amtron", 255, AmtronClient, AmtronDevice),
        BenchDevice("pac2200", "Siemens PAC2200", 1, Pac2200Client, Pac2200Device),
        BenchDevice("dctr", "Doepke DCTR", 1, DctrClient, DctrDevice),
    )
}


class BenchError(Exception):
    """The benchmark could not produce trustworthy figures."""


@dataclass(frozen=True, slots=True)
class Options:
    """What to measure."""

    device: str
    polls: int = DEFAULT_POLLS
    interval_s: float = 0.0
    warmup: int = DEFAULT_WARMUP
    host: str | None = None
    """None: start the simulator in this process."""
    port: int | None = None
    unit_id: int | None = None

    @property
    def in_process(self) -> bool:
        """True when the bench starts the simulator itself."""
        return self.host is None


@dataclass(frozen=True, slots=True)
class PollSample:
    """Measurements of one poll."""

    wall_s: float
    cpu_s: float
    client_requests: int
    server_requests: int | None


@dataclass(frozen=True, slots=True)
class Stats:
    """Distribution of one measure, in milliseconds."""

    median: float
    p95: float
    max: float
    mean: float

    @classmethod
    def of(cls, values_s: Sequence[float]) -> Stats:
        """Summarise values given in seconds."""
        ordered = sorted(v * 1000.0 for v in values_s)
        p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank
        return cls(statistics.median(ordered), p95, ordered[-1], statistics.fmean(ordered))


@dataclass(frozen=True, slots=True)
class Counts:
    """Modbus requests per poll."""

    min: int
    max: int
    mean: float

    @classmethod
    def of(cls, values: Sequence[int]) -> Counts:
        """Summarise request counts."""
        return cls(min(values), max(values), statistics.fmean(values))

    def __str__(self) -> str:
        """One number when every poll used the same count, else the range."""
        if self.min == self.max:
            return str(self.min)
        return f"{self.min}–{self.max} (mean {self.mean:.2f})"


@dataclass(frozen=True, slots=True)
class Result:
    """Everything the bench reports."""

    device: str
    title: str
    in_process: bool
    host: str
    port: int
    unit_id: int
    polls: int
    warmup: int
    interval_s: float
    connect_identify_ms: float
    client_requests: Counts
    server_requests: Counts | None
    duration: Stats
    cpu: Stats

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable form (``--json``)."""
        return {
            "device": self.device,
            "target": "in-process" if self.in_process else "external",
            "host": self.host,
            "port": self.port,
            "unit_id": self.unit_id,
            "polls": self.polls,
            "warmup": self.warmup,
            "interval_s": self.interval_s,
            "connect_identify_ms": self.connect_identify_ms,
            "requests_per_poll": {
                "client": _fields(self.client_requests),
                "server": None if self.server_requests is None else _fields(self.server_requests),
            },
            "duration_ms": _fields(self.duration),
            "cpu_ms": _fields(self.cpu),
            "cpu_includes_simulator": self.in_process,
            "environment": environment(),
        }


def _fields(value: Stats | Counts) -> dict[str, float]:
    return asdict(value)


def environment() -> dict[str, Any]:
    """Interpreter, library and machine the figures were taken on."""
    return {
        "python": platform.python_version(),
        "pymodbus": pymodbus.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "system": platform.system(),
    }


def simulator_endpoint(device: str) -> tuple[str, int] | None:
    """Where ``python -m simulator`` serves ``device`` by default (None: off by default)."""
    for option in SIMULATOR_DEVICES:
        if option.name == device and option.default is not None:
            return parse_endpoint(option.default)
    return None


async def run(options: Options) -> Result:
    """Identify the device once, then poll it and measure every poll."""
    device = DEVICES[options.device]
    unit_id = device.unit_id if options.unit_id is None else options.unit_id
    async with AsyncExitStack() as stack:
        faults: Faults | None = None  # the in-process simulator's counters
        if options.in_process:
            # The same model and stepping as `python -m simulator` (default speed 1).
            model = SiteModel.scenario(SCENARIO, seed=1)
            site = SimulatedSite(model, speed=1.0)
            server = site.add_device(device.name, device.simulator(model), LOCALHOST, 0)
            await stack.enter_async_context(site)
            host, port = server.host, server.port
            faults = server.faults
        else:
            assert options.host is not None
            if options.port is None:
                raise BenchError("no port given for the external device")
            host, port = options.host, options.port
        connection = ModbusConnection(host, port, unit_id)
        stack.push_async_callback(connection.close)
        client = device.client(connection)

        start = time.perf_counter()
        await client.identify()
        connect_identify_s = time.perf_counter() - start
        for _ in range(options.warmup):
            await client.read()

        samples: list[PollSample] = []
        for index in range(options.polls):
            if index and options.interval_s > 0:
                await asyncio.sleep(options.interval_s)
            client_before = connection.stats.requests
            server_before = faults.requests_total if faults else 0
            wall_before = time.perf_counter()
            cpu_before = time.process_time()
            await client.read()
            cpu_after = time.process_time()
            wall_after = time.perf_counter()
            samples.append(
                PollSample(
                    wall_s=wall_after - wall_before,
                    cpu_s=cpu_after - cpu_before,
                    client_requests=connection.stats.requests - client_before,
                    server_requests=faults.requests_total - server_before if faults else None,
                )
            )
        if connection.stats.errors:
            raise BenchError(f"{connection.stats.errors} request(s) failed during the bench")
    return summarise(
        options,
        device,
        samples,
        host=host,
        port=port,
        unit_id=unit_id,
        connect_identify_s=connect_identify_s,
    )


def summarise(
    options: Options,
    device: BenchDevice,
    samples: Sequence[PollSample],
    *,
    host: str,
    port: int,
    unit_id: int,
    connect_identify_s: float,
) -> Result:
    """Turn the samples into a result; the two request counters must agree on every poll."""
    if not samples:
        raise BenchError("no polls measured")
    server_counts: list[int] = []
    for index, sample in enumerate(samples):
        if sample.server_requests is None:
            continue
        if sample.server_requests != sample.client_requests:
            raise BenchError(
                f"poll {index}: the driver counted {sample.client_requests} request(s), "
                f"the simulator received {sample.server_requests}"
            )
        server_counts.append(sample.server_requests)
    if server_counts and len(server_counts) != len(samples):
        raise BenchError("the simulator's request counter was read for some polls only")
    return Result(
        device=device.name,
        title=device.title,
        in_process=options.in_process,
        host=host,
        port=port,
        unit_id=unit_id,
        polls=len(samples),
        warmup=options.warmup,
        interval_s=options.interval_s,
        connect_identify_ms=connect_identify_s * 1000.0,
        client_requests=Counts.of([s.client_requests for s in samples]),
        server_requests=Counts.of(server_counts) if server_counts else None,
        duration=Stats.of([s.wall_s for s in samples]),
        cpu=Stats.of([s.cpu_s for s in samples]),
    )


def _ms(value: float) -> str:
    return f"{value:.2f} ms"


def markdown(result: Result) -> str:
    """Human-readable report: a few lines and a Markdown table."""
    env = environment()
    if result.in_process:
        target = f"in-process simulator on {result.host}:{result.port}"
        cpu_note = (
            "CPU time is that of the whole process and includes the in-process simulator "
            "(Modbus server and site model); use --external to count the client only."
        )
    else:
        target = f"external device or simulator at {result.host}:{result.port}"
        cpu_note = "CPU time is that of this process only (the Modbus client)."
    pace = (
        "back to back"
        if result.interval_s <= 0
        else f"{result.interval_s:g} s apart (pause between polls)"
    )
    server = "n/a (external)" if result.server_requests is None else str(result.server_requests)
    lines = [
        f"### bench.poll: {result.title} ({result.device})",
        "",
        f"- Target: {target}, unit id {result.unit_id}",
        f"- Polls: {result.polls}, {pace}, after {result.warmup} warm-up poll(s); "
        f"connect + identify took {_ms(result.connect_identify_ms)}",
        f"- Python {env['python']}, pymodbus {env['pymodbus']}, {env['cpus']} CPU(s), "
        f"{env['system']} {env['machine']}",
        f"- {cpu_note}",
        "",
        "| Measure | Value |",
        "|---|---|",
        f"| Modbus requests per poll (driver) | {result.client_requests} |",
        f"| Modbus requests per poll (simulator) | {server} |",
        f"| Poll duration, median | {_ms(result.duration.median)} |",
        f"| Poll duration, p95 | {_ms(result.duration.p95)} |",
        f"| Poll duration, max | {_ms(result.duration.max)} |",
        f"| CPU time per poll, median | {_ms(result.cpu.median)} |",
        f"| CPU time per poll, mean | {_ms(result.cpu.mean)} |",
        f"| CPU time per poll, p95 | {_ms(result.cpu.p95)} |",
    ]
    return "\n".join(lines)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"not a TCP port: {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Command line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.poll",
        description=(
            "Poll a device with the Solar Wallbox driver and measure Modbus requests, "
            "duration and CPU time per poll. Without --external/--host/--port the device's "
            "simulator runs in this process on 127.0.0.1 (its CPU time is then included)."
        ),
    )
    parser.add_argument("--device", required=True, choices=sorted(DEVICES))
    parser.add_argument(
        "--polls",
        type=_positive_int,
        default=DEFAULT_POLLS,
        metavar="N",
        help=f"polls to measure (default {DEFAULT_POLLS})",
    )
    parser.add_argument(
        "--interval",
        type=_non_negative_float,
        default=0.0,
        metavar="S",
        help="pause in seconds between two polls (default 0 = back to back)",
    )
    parser.add_argument(
        "--warmup",
        type=_non_negative_int,
        default=DEFAULT_WARMUP,
        metavar="N",
        help=f"polls before measuring, not counted (default {DEFAULT_WARMUP})",
    )
    parser.add_argument(
        "--external",
        action="store_true",
        help=(
            "talk to a simulator started separately with 'python -m simulator' (its default "
            "address unless --host/--port are given), so only this client's CPU is counted"
        ),
    )
    parser.add_argument("--host", help="external device or simulator (implies --external)")
    parser.add_argument("--port", type=_port, help="its Modbus TCP port (implies --external)")
    parser.add_argument(
        "--unit-id",
        type=int,
        choices=range(256),
        metavar="ID",
        help="Modbus unit id (default: the device's usual one, 1 for the E3DC)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def parse_command_line(argv: Sequence[str] | None = None) -> tuple[Options, bool]:
    """Return what to measure and whether to print JSON (exits on errors, like argparse)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    host: str | None = args.host
    port: int | None = args.port
    if args.external or host is not None or port is not None:
        default = simulator_endpoint(args.device)
        if host is None:
            host = default[0] if default else LOCALHOST
        if port is None:
            if default is None:
                parser.error(
                    f"--port is required: the simulator serves no {args.device} by default"
                )
            port = default[1]
    options = Options(
        device=args.device,
        polls=args.polls,
        interval_s=args.interval,
        warmup=args.warmup,
        host=host,
        port=port,
        unit_id=args.unit_id,
    )
    return options, bool(args.json)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; returns the exit status (1 when the figures are not trustworthy)."""
    options, as_json = parse_command_line(argv)
    try:
        result = asyncio.run(run(options))
    except (BenchError, ModbusError) as err:
        print(f"bench.poll: {err}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

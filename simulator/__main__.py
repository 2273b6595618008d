"""``python -m simulator``: serve a simulated site over Modbus TCP until Ctrl-C."""

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import amtron, dctr, loads
from .dctr import DctrDevice
from .e3dc import E3dcDevice
from .modbus_server import Faults, SimDevice
from .model import SCENARIOS, SiteModel
from .pac2200 import Pac2200Device
from .runner import SimulatedSite

_LOGGER = logging.getLogger("simulator")

type Endpoint = tuple[str, int]


@dataclass(frozen=True)
class DeviceOption:
    """A device selectable on the command line as ``--NAME HOST:PORT`` (or ``off``)."""

    name: str
    default: str | None
    help: str
    create: Callable[[SiteModel], SimDevice]
    faults: Callable[[], Faults] | None = None
    """Faults of its server (None: the defaults)."""
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    """Adds the device's own options to the parser."""
    configure: Callable[[SimDevice, argparse.Namespace], None] | None = None
    """Applies those options to the created device."""


DEVICES: tuple[DeviceOption, ...] = (
    DeviceOption("e3dc", "127.0.0.1:5020", "E3DC S10 home battery system", E3dcDevice),
    DeviceOption(
        "amtron",
        "127.0.0.1:5021",
        "Mennekes Amtron wallbox with a car (one connection at a time)",
        amtron.AmtronDevice,
        faults=amtron.amtron_faults,
        add_arguments=amtron.add_cli_arguments,
        configure=amtron.configure_from_args,
    ),
    DeviceOption("pac2200", "127.0.0.1:5022", "Siemens PAC2200 grid meter", Pac2200Device),
    DeviceOption(
        "dctr",
        "127.0.0.1:5023",
        "Doepke DCTR residual current monitor",
        DctrDevice,
        add_arguments=dctr.add_cli_arguments,
        configure=dctr.configure_from_args,
    ),
)


def parse_endpoint(text: str) -> Endpoint | None:
    """Parse ``HOST:PORT`` (``[::1]:502`` for IPv6); ``off`` disables the device."""
    if text == "off":
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 0xFFFF:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def parse_clock(text: str) -> float:
    """Parse ``HH:MM`` or ``HH:MM:SS`` into seconds after midnight."""
    parts = text.split(":")
    try:
        h, m, sec = (int(p) for p in (*parts, "0")[:3]) if 2 <= len(parts) <= 3 else (-1, 0, 0)
    except ValueError:
        h = m = sec = -1
    if not (0 <= h < 24 and 0 <= m < 60 and 0 <= sec < 60):
        raise argparse.ArgumentTypeError(f"expected HH:MM or HH:MM:SS, got {text!r}")
    return h * 3600.0 + m * 60.0 + sec


def build_parser() -> argparse.ArgumentParser:
    """Command line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="Simulated Solar Wallbox site over Modbus TCP."
    )
    for option in DEVICES:
        default = "off" if option.default is None else option.default
        parser.add_argument(
            f"--{option.name}",
            type=parse_endpoint,
            default=default,
            metavar="HOST:PORT",
            help=f"{option.help} (default {default}; 'off' disables, port 0 = any free port)",
        )
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="sunny")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="simulated seconds per real second (default 1)",
    )
    parser.add_argument(
        "--start",
        type=parse_clock,
        default="12:00",
        metavar="HH:MM",
        help="simulated time of day to start at (default 12:00)",
    )
    parser.add_argument(
        "--status-interval",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="log a status line every SECONDS real seconds (default 10)",
    )
    parser.add_argument(
        "--feed-in-limit",
        type=float,
        default=None,
        metavar="W",
        help="most export the inverter allows; above it it curtails PV and the E3DC sets "
        "EMS status bit 4 (default: no limit)",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    loads.add_cli_arguments(parser)
    for option in DEVICES:
        if option.add_arguments is not None:
            option.add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.speed < 0 or args.status_interval <= 0:
        parser.error("--speed must be >= 0 and --status-interval > 0")
    if args.feed_in_limit is not None and args.feed_in_limit < 0:
        parser.error("--feed-in-limit must not be negative")
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(message)s")
    model = SiteModel.scenario(args.scenario, seed=args.seed, start_s=args.start)
    model.feed_in_limit_w = args.feed_in_limit
    loads.configure_from_args(model, args)
    site = SimulatedSite(model, speed=args.speed)
    for option in DEVICES:
        endpoint: Endpoint | None = getattr(args, option.name)
        if endpoint is not None:
            device = option.create(model)
            if option.configure is not None:
                option.configure(device, args)
            faults = option.faults() if option.faults is not None else None
            site.add_device(option.name, device, *endpoint, faults=faults)
    if not site.servers:
        parser.error("every device is off")
    asyncio.run(_serve(site, args.status_interval))
    return 0


async def _serve(site: SimulatedSite, status_interval: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with site:
        for name, server in site.servers.items():
            _LOGGER.info("%s listening on %s port %d", name, server.host, server.port)
        _LOGGER.info("%s", site.status_line())
        while True:
            try:
                await asyncio.wait_for(stop.wait(), status_interval)
            except TimeoutError:
                _LOGGER.info("%s", site.status_line())
            else:
                break
    _LOGGER.info("stopped")


if __name__ == "__main__":
    sys.exit(main())

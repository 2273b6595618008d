"""Run a `SiteModel` in (accelerated) real time together with its Modbus servers."""

import asyncio
import contextlib
import time
from types import TracebackType
from typing import Self

from .modbus_server import Faults, ModbusTcpServer, SimDevice
from .model import SiteModel


class SimulatedSite:
    """A site model stepped by a background task plus one Modbus server per device.

    The model advances `speed` simulated seconds per real second, stepped every
    `step_interval_s` real seconds. With `speed` 0 no stepping task runs and the caller
    steps the model itself (handy in tests).
    """

    def __init__(
        self, model: SiteModel, *, speed: float = 1.0, step_interval_s: float = 0.25
    ) -> None:
        """Prepare the site; add devices with `add_device` before `start`."""
        if speed < 0:
            raise ValueError("speed must not be negative")
        self.model = model
        self.speed = speed
        self.step_interval_s = step_interval_s
        self.servers: dict[str, ModbusTcpServer] = {}
        self._stepper: asyncio.Task[None] | None = None

    def add_device(
        self,
        name: str,
        device: SimDevice,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
    ) -> ModbusTcpServer:
        """Register a device served on host:port (0 = ephemeral) under `name`."""
        if name in self.servers:
            raise ValueError(f"device {name!r} already added")
        server = ModbusTcpServer(device, host, port, faults)
        self.servers[name] = server
        return server

    async def start(self) -> None:
        """Start every server and the model stepping task."""
        try:
            for server in self.servers.values():
                await server.start()
        except BaseException:
            await self.stop()
            raise
        if self.speed > 0:
            self._stepper = asyncio.create_task(self._step_forever(), name="simulator model")

    async def stop(self) -> None:
        """Stop the stepping task and every server."""
        stepper, self._stepper = self._stepper, None
        if stepper is not None:
            stepper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stepper
        for server in self.servers.values():
            await server.stop()

    def status_line(self) -> str:
        """One-line summary of the model and the servers."""
        model = self.model
        clock = time.strftime("%H:%M:%S", time.gmtime(model.t_s))
        parts = [
            f"{clock} pv {model.pv_w:.0f} W house {model.house_w:.0f} W",
            f"battery {model.battery_w:+.0f} W soc {model.soc_pct:.1f} %",
            f"grid {model.grid_w:+.0f} W",
        ]
        if model.cloud_cut > 0:
            parts.append(f"cloud -{model.cloud_cut:.0%}")
        if model.curtailed:
            parts.append(f"curtailed -{model.curtailed_w:.0f} W")
        if appliances := model.running_appliances:
            parts.append("+" + ",".join(appliances))
        for name, server in self.servers.items():
            faults = server.faults
            parts.append(f"| {name} conn {server.connection_count} req {faults.requests_total}")
        return " ".join(parts)

    async def __aenter__(self) -> Self:
        """Start the site."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the site."""
        await self.stop()

    async def _step_forever(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(self.step_interval_s)
            now = loop.time()
            self.model.step((now - last) * self.speed)
            last = now

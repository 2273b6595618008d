"""Shared by every test folder: simulated devices on 127.0.0.1 (no Home Assistant).

The Home Assistant harness is in tests/harness.py, used by tests/integration/ and the soak.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from simulator.dctr import DctrDevice
from simulator.e3dc import E3dcDevice
from simulator.modbus_server import ModbusTcpServer
from simulator.model import SiteModel
from simulator.pac2200 import Pac2200Device

E3DC_SERIAL = "S10-SIM-000001"


@pytest.fixture(autouse=True)
def loopback_sockets(socket_enabled: Any) -> None:
    """Allow creating sockets; the harness still only lets them reach 127.0.0.1."""


@dataclass
class SimulatedDevice:
    """A simulated device served over Modbus TCP on 127.0.0.1."""

    model: SiteModel
    device: Any
    server: ModbusTcpServer

    @property
    def port(self) -> int:
        """The server's TCP port."""
        return self.server.port

    async def restart(self) -> None:
        """Start a stopped server again on the same port."""
        port = self.server.port
        self.server = ModbusTcpServer(self.device, port=port, faults=self.server.faults)
        await self.server.start()


def pinned_model() -> SiteModel:
    """A site model with exact, known values: 5000 W PV, 800 W house, battery +2000 W."""
    model = SiteModel.scenario("constant")
    model.pv_override = 5000.0
    model.house_override = 800.0
    model.battery_override = 2000.0
    model.soc_pct = 64.0
    return model


@asynccontextmanager
async def serve(model: SiteModel, device: Any) -> AsyncIterator[SimulatedDevice]:
    """Serve ``device`` over Modbus TCP on 127.0.0.1 (ephemeral port) while in the block."""
    server = ModbusTcpServer(device)
    await server.start()
    sim = SimulatedDevice(model, device, server)
    try:
        yield sim
    finally:
        await sim.server.stop()


@pytest.fixture
async def e3dc_sim() -> AsyncIterator[SimulatedDevice]:
    """An E3DC simulator with pinned values."""
    model = pinned_model()
    async with serve(model, E3dcDevice(model, serial=E3DC_SERIAL)) as sim:
        yield sim


@pytest.fixture
async def pac_sim() -> AsyncIterator[SimulatedDevice]:
    """A PAC2200 simulator on the pinned model (model time does not run)."""
    model = pinned_model()
    async with serve(model, Pac2200Device(model)) as sim:
        yield sim


@pytest.fixture
async def dctr_sim() -> AsyncIterator[SimulatedDevice]:
    """A DCTR simulator on the pinned model (model time does not run)."""
    model = pinned_model()
    async with serve(model, DctrDevice(model)) as sim:
        yield sim

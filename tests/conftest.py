"""Shared fixtures: the Home Assistant harness and simulated devices on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.solar_wallbox.const import (
    CONF_DEVICE_TYPE,
    CONF_SCAN_INTERVAL,
    CONF_UNIT_ID,
    DOMAIN,
)
from simulator.dctr import DctrDevice
from simulator.e3dc import E3dcDevice
from simulator.modbus_server import ModbusTcpServer
from simulator.model import SiteModel
from simulator.pac2200 import Pac2200Device

from .sites import site  # noqa: F401  (the fixture of the surplus charging tests)

E3DC_SERIAL = "S10-SIM-000001"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: Any) -> None:
    """Load custom_components/ in every test."""


# Loggers through which Home Assistant reports the use of deprecated APIs (report_usage).
DEPRECATION_LOGGERS = ("homeassistant.helpers.frame", "homeassistant.helpers.deprecation")


@pytest.fixture(autouse=True)
def no_deprecated_api_use(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test in which Home Assistant reports our use of a deprecated API.

    Home Assistant logs these reports instead of raising DeprecationWarning, so
    ``-W error::DeprecationWarning`` (pyproject.toml) alone would not see them.
    """
    yield
    reports = [
        record.getMessage()
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)
        if record.name in DEPRECATION_LOGGERS and "solar_wallbox" in record.getMessage()
    ]
    assert not reports, f"deprecated Home Assistant API used: {reports}"


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


def e3dc_entry(port: int, **options: Any) -> MockConfigEntry:
    """A config entry for the simulated E3DC."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="E3DC S10 X Compact",
        unique_id=E3DC_SERIAL,
        data={
            CONF_DEVICE_TYPE: "e3dc",
            CONF_HOST: "127.0.0.1",
            CONF_PORT: port,
            CONF_UNIT_ID: 1,
        },
        options={CONF_SCAN_INTERVAL: 2, **options},
    )


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add ``entry`` and set it up."""
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

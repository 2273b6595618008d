"""The simulated site of the surplus charging tests: four devices, Home Assistant, the car."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.solar_wallbox.config_flow import identify_device
from custom_components.solar_wallbox.const import (
    CONF_BATTERY_ENTRY,
    CONF_DEVICE_TYPE,
    CONF_GRID_ENTRY,
    CONF_MAX_CURRENT,
    CONF_RCM_ENTRY,
    CONF_SCAN_INTERVAL,
    CONF_UNIT_ID,
    CONF_VEHICLES,
    DOMAIN,
    DeviceType,
)
from simulator.amtron import AmtronDevice, create_server
from simulator.dctr import DctrDevice
from simulator.e3dc import E3dcDevice
from simulator.modbus_server import ModbusTcpServer
from simulator.model import SiteModel
from simulator.pac2200 import Pac2200Device

MARIA_TAG = "04A1B2C3D4E5F6"
W = "amtron_"


def record_into(events: list[Event]) -> Callable[[Event], None]:
    """An event listener that appends to ``events`` in the event loop (a plain
    ``list.append`` is run in the executor, so an assertion right after could race it)."""

    @callback
    def record(event: Event) -> None:
        events.append(event)

    return record


class Clock:
    """One simulated clock for every coordinator and the controller."""

    def __init__(self) -> None:
        self.now = dt_util.utcnow()

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Site:
    """The simulated site with its servers and Home Assistant entries."""

    hass: HomeAssistant
    model: SiteModel
    charger: AmtronDevice
    dctr: DctrDevice
    servers: dict[str, ModbusTcpServer]
    entries: dict[str, MockConfigEntry] = field(default_factory=dict)
    clock: Clock = field(default_factory=Clock)

    @property
    def wallbox(self) -> MockConfigEntry:
        return self.entries["amtron"]

    def state(self, key: str) -> str:
        state = self.hass.states.get(key if "." in key else f"sensor.{W}{key}")
        assert state is not None, key
        return state.state

    async def run(self, seconds: float, step: float = 2.0) -> None:
        """Advance the site and poll every device each ``step`` simulated seconds."""
        for _ in range(round(seconds / step)):
            self.clock.now += timedelta(seconds=step)
            self.model.step(step)
            for entry in self.entries.values():
                if entry.state is not ConfigEntryState.LOADED:
                    continue
                entry.runtime_data.coordinator.clock = self.clock
                await entry.runtime_data.coordinator.async_refresh()
            manager = self.wallbox.runtime_data.charging
            manager.clock = self.clock
            await self.hass.async_block_till_done()

    async def call(self, domain: str, service: str, entity: str, **data: Any) -> None:
        await self.hass.services.async_call(
            domain, service, {"entity_id": entity, **data}, blocking=True
        )
        await self.hass.async_block_till_done()

    @property
    def limit(self) -> int:
        return int(self.charger.registers()[1000])


async def make_entry(kind: str, port: int, unit: int = 1, **options: Any) -> MockConfigEntry:
    data = {CONF_HOST: "127.0.0.1", CONF_PORT: port, CONF_UNIT_ID: unit}
    found = await identify_device(DeviceType(kind), data)
    return MockConfigEntry(
        domain=DOMAIN,
        title=kind,
        unique_id=found.unique_id,
        data={CONF_DEVICE_TYPE: kind, CONF_HOST: "127.0.0.1", CONF_PORT: port, CONF_UNIT_ID: unit},
        options={CONF_SCAN_INTERVAL: 2, **options},
    )


@pytest.fixture
async def site(hass: HomeAssistant) -> AsyncIterator[Site]:
    model = SiteModel.scenario("constant")
    model.pv_override = 9000.0
    model.house_override = 600.0
    model.battery_enabled = False
    model.soc_pct = 95.0
    charger = AmtronDevice(model)
    dctr = DctrDevice(model)
    servers = {
        "e3dc": ModbusTcpServer(E3dcDevice(model)),
        "pac2200": ModbusTcpServer(Pac2200Device(model)),
        "dctr": ModbusTcpServer(dctr),
        "amtron": create_server(charger),
    }
    for server in servers.values():
        await server.start()
    site = Site(hass, model, charger, dctr, servers)
    for kind in ("e3dc", "pac2200", "dctr"):
        entry = await make_entry(kind, servers[kind].port)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        site.entries[kind] = entry
    wallbox = await make_entry(
        "amtron",
        servers["amtron"].port,
        255,
        **{
            CONF_MAX_CURRENT: 16,
            CONF_GRID_ENTRY: site.entries["pac2200"].entry_id,
            CONF_BATTERY_ENTRY: site.entries["e3dc"].entry_id,
            CONF_RCM_ENTRY: site.entries["dctr"].entry_id,
            "initial_current": 8,
            "initial_duration": 180,
            CONF_VEHICLES: [{"name": "Maria", "tag": MARIA_TAG}],
        },
    )
    wallbox.add_to_hass(hass)
    assert await hass.config_entries.async_setup(wallbox.entry_id)
    site.entries["amtron"] = wallbox
    await hass.async_block_till_done()
    yield site
    for entry in site.entries.values():
        if hass.config_entries.async_get_entry(entry.entry_id) is not None:  # not removed
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    for server in servers.values():
        await server.stop()
    assert servers["amtron"].faults.connections_refused == 0

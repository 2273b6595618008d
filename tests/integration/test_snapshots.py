"""Snapshots of every entity and device each device type creates, per platform.

Each device's state is a JSON fixture (tests/integration/fixtures/<device>.json) loaded into its
simulator, which answers over Modbus TCP as usual; the entry is set up through Home
Assistant only (no module of the integration is imported), so the snapshots show what
the entity descriptions produce and a refactoring that changes any of them shows in the
diff of tests/integration/snapshots/test_snapshots.ambr.

The snapshots hold plain values only (str, numbers, None, lists, dicts): the registry
entries and the states are reduced to the fields whose format is the same on every
supported Home Assistant release (the suite runs on two), never their repr.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_FRIENDLY_NAME, CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.amber import AmberSnapshotExtension
from syrupy.location import PyTestLocation

from custom_components.solar_wallbox.const import (
    CONF_DEVICE_TYPE,
    CONF_MAX_CURRENT,
    CONF_SCAN_INTERVAL,
    CONF_UNIT_ID,
    CONF_VEHICLES,
    DOMAIN,
)
from simulator.amtron import AmtronDevice, create_server
from simulator.dctr import DctrDevice
from simulator.e3dc import E3dcDevice
from simulator.modbus_server import ModbusTcpServer, SimDevice
from simulator.model import SiteModel
from simulator.pac2200 import Pac2200Device
from simulator.state import load_state

FIXTURES = Path(__file__).parent / "fixtures"

# The instant every test runs at. The clock ticks on from there: pymodbus sleeps on the
# event loop's clock, which the harness takes from the frozen monotonic clock, so a
# standing clock would hang the first connect. The few seconds a test takes change no
# state (the scan interval is longer, see OPTIONS), only the date of the Amtron's session
# start comes from this clock. 11:00 UTC is 12:00 in TIME_ZONE, the fixtures' time of day.
pytestmark = pytest.mark.freeze_time("2026-03-02T11:00:00+00:00", tick=True)
TIME_ZONE = "Europe/Berlin"


class PlainAmberExtension(AmberSnapshotExtension):
    """Amber files in ``snapshots/`` beside the test, whichever harness runs.

    The two harnesses pick different default extensions (syrupy's own, writing to
    ``__snapshots__/``, on the oldest; Home Assistant's, writing to ``snapshots/``, on the
    newest), so the test names its own: one file, checked by both.
    """

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        """The snapshot folder."""
        return str(Path(test_location.filepath).parent / "snapshots")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """The snapshot fixture with the same extension on every harness."""
    return snapshot.use_extension(PlainAmberExtension)


# Longer than any test: a second poll would integrate the E3DC's energy sensors.
OPTIONS: dict[str, Any] = {CONF_SCAN_INTERVAL: 60}
MARIA = {"name": "Maria", "tag": "04A1B2C3D4E5F6"}


@dataclass(frozen=True)
class Kind:
    """One device type: its simulator, its entry and the platforms it has entities on."""

    simulator: Callable[[SiteModel], SimDevice]
    platforms: tuple[str, ...]
    unit: int = 1
    # The entry's unique id as the integration derives it from the fixture's device state
    # (a change would orphan every entity in users' registries); None: the device reports
    # no serial number and is known by its address.
    unique_id: Callable[[dict[str, Any]], str] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    server: Callable[[SimDevice], ModbusTcpServer] = ModbusTcpServer

    def entry_unique_id(self, device: dict[str, Any], port: int) -> str:
        """The unique id of the entry for the fixture's ``device`` served on ``port``."""
        if self.unique_id is None:
            return f"127.0.0.1:{port}:{self.unit}"
        return self.unique_id(device)


def _amtron_server(device: SimDevice) -> ModbusTcpServer:
    assert isinstance(device, AmtronDevice)
    return create_server(device)  # one connection at a time, like the charger


KINDS: dict[str, Kind] = {
    "e3dc": Kind(
        E3dcDevice,
        ("binary_sensor", "sensor"),
        unique_id=lambda device: str(device["serial"]),
    ),
    "pac2200": Kind(
        Pac2200Device,
        ("sensor",),
        unique_id=lambda device: f"pac2200_{device['device_identification']['0x80']}",
    ),
    "dctr": Kind(DctrDevice, ("binary_sensor", "sensor")),
    "amtron": Kind(
        AmtronDevice,
        ("binary_sensor", "button", "datetime", "number", "select", "sensor", "switch"),
        unit=255,
        options={CONF_MAX_CURRENT: 16, CONF_VEHICLES: [MARIA]},
        server=_amtron_server,
    ),
}
PLATFORMS = [(kind, platform) for kind, spec in KINDS.items() for platform in spec.platforms]


def simulated_device(kind: str) -> tuple[SimDevice, dict[str, Any]]:
    """The simulator of ``kind`` in the state of its fixture, and the fixture."""
    fixture: dict[str, Any] = json.loads((FIXTURES / f"{kind}.json").read_text(encoding="utf-8"))
    # The constant scenario has no randomness; the fixture pins the values anyway.
    model = SiteModel.scenario("constant")
    load_state(model, fixture["site"])
    device = KINDS[kind].simulator(model)
    load_state(device, fixture["device"])
    if "session" in fixture:
        assert isinstance(device, AmtronDevice)
        session = fixture["session"]
        device.resume_session(float(session["plugged_for_s"]), float(session["energy_wh"]))
    return device, fixture


@dataclass
class Loaded:
    """A set-up entry and the port its simulator listens on."""

    entry: MockConfigEntry
    port: int


@asynccontextmanager
async def loaded(hass: HomeAssistant, kind: str) -> AsyncIterator[Loaded]:
    """Serve the fixture's device and set up its entry while in the block."""
    await hass.config.async_set_time_zone(TIME_ZONE)
    spec = KINDS[kind]
    device, fixture = simulated_device(kind)
    server = spec.server(device)
    await server.start()
    try:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=kind,
            unique_id=spec.entry_unique_id(fixture["device"], server.port),
            data={
                CONF_DEVICE_TYPE: kind,
                CONF_HOST: "127.0.0.1",
                CONF_PORT: server.port,
                CONF_UNIT_ID: spec.unit,
            },
            options={**OPTIONS, **spec.options},
        )
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        yield Loaded(entry, server.port)
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    finally:
        await server.stop()


def plain(value: Any, port: int) -> Any:
    """``value`` as str, numbers, None, lists and dicts: the same text on every release.

    Enums become their values (their repr differs between Python and Home Assistant
    releases), times their ISO text, and the ephemeral port of the simulator in unique
    ids and identifiers a fixed placeholder. Anything else fails, so that no repr of a
    Home Assistant object slips into a snapshot.
    """
    if isinstance(value, Enum):
        return plain(value.value, port)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value.replace(f"127.0.0.1:{port}:", "127.0.0.1:<port>:")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v, port) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, port) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v, port) for v in value)
    raise TypeError(f"no stable form for {type(value).__name__}: {value!r}")


def platform_entities(hass: HomeAssistant, loaded: Loaded, platform: str) -> list[dict[str, Any]]:
    """One dict per entity of ``platform``, sorted by entity id (see the module doc)."""
    registry = er.async_get(hass)
    entities = [
        e
        for e in er.async_entries_for_config_entry(registry, loaded.entry.entry_id)
        if e.domain == platform
    ]
    rows: list[dict[str, Any]] = []
    for entity in sorted(entities, key=lambda e: e.entity_id):
        state = hass.states.get(entity.entity_id)
        # A disabled entity has no state: None shows the default in the snapshot.
        attributes = dict(state.attributes) if state is not None else {}
        friendly_name = attributes.pop(ATTR_FRIENDLY_NAME, None)
        rows.append(
            {
                "entity_id": entity.entity_id,
                "unique_id": entity.unique_id,
                "translation_key": entity.translation_key,
                "has_entity_name": entity.has_entity_name,
                "original_name": entity.original_name,
                "friendly_name": friendly_name,
                "original_device_class": entity.original_device_class,
                "entity_category": entity.entity_category,
                "disabled_by": entity.disabled_by,
                "unit_of_measurement": entity.unit_of_measurement,
                "capabilities": entity.capabilities,
                "state": state.state if state is not None else None,
                "attributes": attributes,
            }
        )
    result: list[dict[str, Any]] = plain(rows, loaded.port)
    return result


@pytest.mark.parametrize(("kind", "platform"), PLATFORMS)
async def test_platform(
    hass: HomeAssistant, snapshot: SnapshotAssertion, kind: str, platform: str
) -> None:
    async with loaded(hass, kind) as device:
        entities = platform_entities(hass, device, platform)
        assert entities, f"{kind} has no {platform} entity"
        assert entities == snapshot


@pytest.mark.parametrize("kind", KINDS)
async def test_device(hass: HomeAssistant, snapshot: SnapshotAssertion, kind: str) -> None:
    async with loaded(hass, kind) as device:
        # Every platform with entities has its snapshot above (a new one needs adding).
        entities = er.async_entries_for_config_entry(er.async_get(hass), device.entry.entry_id)
        assert sorted({e.domain for e in entities}) == sorted(KINDS[kind].platforms)
        devices = dr.async_entries_for_config_entry(dr.async_get(hass), device.entry.entry_id)
        assert len(devices) == 1
        entry = devices[0]
        summary = {
            "manufacturer": entry.manufacturer,
            "model": entry.model,
            "name": entry.name,
            "serial_number": entry.serial_number,
            "sw_version": entry.sw_version,
            "hw_version": entry.hw_version,
            "identifiers": sorted(list(identifier) for identifier in entry.identifiers),
        }
        assert plain(summary, device.port) == snapshot

"""Fuzzing: bad input gives a typed error or a valid value, never a crash; nothing invalid
is saved.

- every decoder with random register images (also too short or too long) and the
  drivers end to end against devices answering random registers or exceptions;
- the config flow (hosts, ports, unit IDs: huge, unicode, negative, out of range);
- the options (surplus settings, vehicles: inverted ranges, huge strings);
- the decompress_stream action's fields (paths, globs, unicode, huge strings).
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import string
from typing import Any

import pytest
import voluptuous as vol
from homeassistant import config_entries
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, Unauthorized
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.solar_wallbox.const import CONF_DEVICE_TYPE, CONF_UNIT_ID, DOMAIN
from custom_components.solar_wallbox.drivers import amtron, dctr, e3dc, modbus, pac2200
from custom_components.solar_wallbox.drivers.modbus import ModbusConnection, ModbusError
from simulator.amtron import AmtronDevice
from simulator.dctr import DctrDevice
from simulator.e3dc import E3dcDevice
from simulator.modbus_server import ModbusTcpServer, RegisterImage
from simulator.model import SiteModel
from simulator.pac2200 import Pac2200Device

from ..conftest import pinned_model

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORDS = st.integers(min_value=0, max_value=0xFFFF)


def _typed_or_value(call: Any, *args: Any) -> Any:
    """Run a decoder: a value or one of our typed errors, nothing else escapes."""
    try:
        return call(*args)
    except ModbusError:
        return None


# --- decoders ----------------------------------------------------------------------------


@FAST
@given(st.lists(WORDS, max_size=e3dc.IDENTITY_COUNT + 10))
def test_e3dc_identity_decoder(regs: list[int]) -> None:
    _typed_or_value(e3dc.decode_identity, regs)


@FAST
@given(st.lists(WORDS, max_size=e3dc.DATA_COUNT + 10))
def test_e3dc_data_decoder(regs: list[int]) -> None:
    data = _typed_or_value(e3dc.decode_data, regs)
    if data is not None:
        assert 0 <= data.battery_soc <= 0xFFFF
        assert len(data.meters) == e3dc.METER_COUNT


@FAST
@given(st.lists(WORDS, max_size=dctr.REGISTER_COUNT + 10))
def test_dctr_decoders(regs: list[int]) -> None:
    data = _typed_or_value(dctr.decode_data, regs)
    if data is not None:
        assert isinstance(data.alarm_a, bool)
        assert all(0 <= c <= 0xFFFF for c in data.residual_current)
    _typed_or_value(dctr.decode_identity, regs)


PAC_ADDRESSES = [*range(1, 73), *range(801, 841)]


@FAST
@given(
    st.dictionaries(st.sampled_from(PAC_ADDRESSES), WORDS),
    st.none() | st.dictionaries(st.integers(0, 255), st.text(max_size=40), max_size=5),
)
def test_pac2200_decoders(words: dict[int, int], objects: dict[int, str] | None) -> None:
    data = pac2200.decode_data(words)
    for item in dataclasses.fields(data):
        value = getattr(data, item.name)
        assert value is None or math.isfinite(value)
    _typed_or_value(pac2200.decode_identity, words, objects)


def _amtron_image() -> dict[int, int]:
    model = SiteModel.scenario("constant")
    return AmtronDevice(model).registers()


AMTRON_IMAGE = _amtron_image()


@FAST
@given(
    st.dictionaries(st.sampled_from(sorted(AMTRON_IMAGE)), WORDS),
    st.sets(st.sampled_from(sorted(AMTRON_IMAGE)), max_size=20),
)
def test_amtron_decoders(changes: dict[int, int], missing: set[int]) -> None:
    """A real register image with random registers changed or missing."""
    words = {a: w for a, w in {**AMTRON_IMAGE, **changes}.items() if a not in missing}
    regs = amtron.Registers(words)
    identity = _typed_or_value(amtron.decode_identity, regs, frozenset())
    if identity is None:
        return
    data = _typed_or_value(amtron.decode_data, regs, identity)
    if data is not None:
        for limit in (data.hems_limit, data.min_current, data.operator_limit):
            assert limit is None or 0 <= limit <= amtron.MAX_PLAUSIBLE_CURRENT_A


@FAST
@given(st.lists(WORDS, min_size=4, max_size=4), st.integers(0, 3))
def test_modbus_decode_helpers(regs: list[int], index: int) -> None:
    assert 0 <= (modbus.u16(regs, index) or 0) <= 0xFFFF
    assert -0x8000 <= modbus.i16(regs, index) < 0x8000
    if index <= 2:
        for order in modbus.WordOrder:
            assert 0 <= (modbus.u32(regs, index, word_order=order) or 0) <= 0xFFFFFFFF
            assert -(2**31) <= modbus.i32(regs, index, word_order=order) < 2**31
        value = modbus.float32(regs, index)
        assert value is None or math.isfinite(value)
    value = modbus.float64(regs)
    assert value is None or math.isfinite(value)
    text = modbus.ascii_string(regs, index)
    assert all(0x20 <= ord(c) < 0x7F for c in text)


# --- drivers against odd devices -------------------------------------------------------


def _clients(connection: ModbusConnection) -> dict[str, Any]:
    return {
        "e3dc": e3dc.E3dcClient(connection),
        "pac2200": pac2200.Pac2200Client(connection),
        "dctr": dctr.DctrClient(connection),
        "amtron": amtron.AmtronClient(connection),
    }


def _real_image(kind: str) -> dict[int, int]:
    model = pinned_model()
    if kind == "amtron":
        return AmtronDevice(model).registers()
    if kind == "dctr":
        return dict(enumerate(DctrDevice(model).registers()))
    if kind == "e3dc":
        device = E3dcDevice(model)
        return {40000 + i: w for i, w in enumerate(device.registers())}
    return Pac2200Device(model).image()


@pytest.mark.parametrize("kind", ["e3dc", "pac2200", "dctr", "amtron"])
async def test_drivers_against_random_devices(kind: str) -> None:
    """Real register maps with random words, random holes and random exception answers:
    identify and read give data or a typed error, and never hang."""
    rng = random.Random(f"fuzz-{kind}")
    base = _real_image(kind)
    for round_ in range(12):
        image = dict(base)
        for address in rng.sample(sorted(image), k=min(len(image), rng.randint(1, 40))):
            image[address] = rng.randrange(0x10000)
        if round_ % 3 == 2:
            for address in rng.sample(sorted(image), k=5):
                del image[address]
        server = ModbusTcpServer(RegisterImage(image))
        if round_ % 4 == 3:
            server.faults.exception_code = rng.choice([1, 2, 3, 4, 6, 0x0B])
        async with server:
            connection = ModbusConnection("127.0.0.1", server.port, 1, timeout=2)
            client = _clients(connection)[kind]
            try:
                identity = await client.identify()
                await client.read()
                await client.read()
            except ModbusError:
                pass
            else:
                assert identity is not None
            finally:
                await connection.close()


# --- config flow -------------------------------------------------------------------------

NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "x" * 10_000,
    "ü" * 300,
    "💡.local",
    "-leading.example",
    "a..b",
    "host name",
    "http://192.168.1.5",
    "192.168.1.5:502",
    "../../etc/passwd",
    "{{ states('x') }}",
    "'; DROP TABLE x; --",
    "\u202e",
    "a" * 64 + ".local",
]
NASTY_NUMBERS: list[Any] = [-1, 0, 65536, 10**12, 1.5, "abc", None, float("nan")]


def _random_text(rng: random.Random) -> str:
    alphabet = string.printable + "äöüß€💡\u200b\u202e\x00"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))


async def _device_form(hass: HomeAssistant, kind: str) -> str:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": kind}
    )
    assert result["type"] is FlowResultType.FORM
    return str(result["flow_id"])


def _error_keys(hass: HomeAssistant) -> set[str]:

    from custom_components.solar_wallbox import config_flow  # noqa: PLC0415

    path = config_flow.__file__.replace("config_flow.py", "translations/en.json")
    with open(path, encoding="utf-8") as file:
        strings = json.loads(file.read())
    return {*strings["config"]["error"], *strings["options"]["error"]}  # type: ignore[index]


@pytest.mark.parametrize("kind", ["e3dc", "pac2200", "dctr", "amtron"])
async def test_config_flow_fields(hass: HomeAssistant, kind: str) -> None:
    """Hosts, ports and unit IDs: a translated error or a schema error, never an entry."""
    known = await hass.async_add_executor_job(_error_keys, hass)
    rng = random.Random(f"flow-{kind}")
    closed = 1  # nothing listens on port 1 of 127.0.0.1
    inputs: list[dict[str, Any]] = [
        {CONF_HOST: host, CONF_PORT: 502, CONF_UNIT_ID: 1} for host in NASTY_TEXT
    ]
    inputs += [{CONF_HOST: "127.0.0.1", CONF_PORT: n, CONF_UNIT_ID: 1} for n in NASTY_NUMBERS]
    inputs += [{CONF_HOST: "127.0.0.1", CONF_PORT: closed, CONF_UNIT_ID: n} for n in NASTY_NUMBERS]
    inputs += [
        {CONF_HOST: _random_text(rng), CONF_PORT: rng.randint(-5, 70000), CONF_UNIT_ID: 1}
        for _ in range(15)
    ]
    inputs += [{CONF_HOST: "127.0.0.1"}, {}, {CONF_HOST: ["list"], CONF_PORT: 1, CONF_UNIT_ID: 1}]
    for user_input in inputs:
        flow_id = await _device_form(hass, kind)
        try:
            result = await hass.config_entries.flow.async_configure(flow_id, user_input)
        except vol.Invalid:
            # The schema refused it (the frontend shows that translated).
            hass.config_entries.flow.async_abort(flow_id)
            continue
        hass.config_entries.flow.async_abort(flow_id)
        assert result["type"] is FlowResultType.FORM, user_input
        assert result["errors"], user_input
        assert set(result["errors"].values()) <= known, result["errors"]
    assert hass.config_entries.async_entries(DOMAIN) == []


async def _amtron_options(hass: HomeAssistant) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="127.0.0.1:1:255",
        data={CONF_DEVICE_TYPE: "amtron", CONF_HOST: "127.0.0.1", CONF_PORT: 1, CONF_UNIT_ID: 255},
        options={"scan_interval": 2, "max_current": 16},
    )
    entry.add_to_hass(hass)
    return entry


async def _options_step(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> str:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
    assert result["type"] is FlowResultType.FORM
    return str(result["flow_id"])


async def _assert_refused(hass: HomeAssistant, flow_id: str, user_input: dict[str, Any]) -> None:
    """The options step refuses ``user_input``: a schema error or a form with errors."""
    try:
        result = await hass.config_entries.options.async_configure(flow_id, user_input)
    except vol.Invalid:
        hass.config_entries.options.async_abort(flow_id)
        return
    hass.config_entries.options.async_abort(flow_id)
    assert result["type"] is FlowResultType.FORM, user_input
    assert result["errors"], user_input


async def test_vehicle_options_refuse_bad_input(hass: HomeAssistant) -> None:
    entry = await _amtron_options(hass)
    before = dict(entry.options)
    rng = random.Random("vehicles")
    bad: list[dict[str, Any]] = [
        {"name": "Maria", "tag": "04A1", "min_current": 16, "max_current": 10},  # inverted
        {"name": "", "tag": "04A1"},
        {"name": "Maria", "tag": "   "},
        {"name": "x" * 10_000, "tag": "04A1"},
        {"name": "Maria", "tag": "A" * 1000},
        {"name": "Ma\x00ria", "tag": "04A1"},
        {"name": "Maria", "tag": "04\nA1"},
        {"name": "Maria", "tag": "04A1", "min_current": 3},
        {"name": "Maria", "tag": "04A1", "max_current": 99},
        {"name": "Maria", "tag": "04A1", "mode": "warp"},
        {"name": "Maria", "tag": "04A1", "session_energy_limit": -1},
        {"name": "Maria", "tag": "04A1", "min_charging_power": float("nan")},
        *({"name": _random_text(rng) + "\x00", "tag": _random_text(rng)} for _ in range(10)),
    ]
    for user_input in bad:
        flow_id = await _options_step(hass, entry, "add_vehicle")
        await _assert_refused(hass, flow_id, user_input)
    assert dict(entry.options) == before
    # A good one is saved, unicode names included.
    flow_id = await _options_step(hass, entry, "add_vehicle")
    result = await hass.config_entries.options.async_configure(
        flow_id, {"name": "Jürgen's Zoë", "tag": "04 a1 b2"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["vehicles"][0]["name"] == "Jürgen's Zoë"


async def test_surplus_options_refuse_bad_input(hass: HomeAssistant) -> None:
    entry = await _amtron_options(hass)
    before = dict(entry.options)
    bad: list[dict[str, Any]] = [
        {"idle_current": 3},
        {"initial_current": 5},
        {"stale_timeout": 1},
        {"daily_start_budget": 0},
        {"voltage": 1000},
        {"start_energy": -5},
        {"phases": "2"},
        {"unknown_tag": "maybe"},
        {"grid_entry": entry.entry_id},  # the wallbox is not a grid meter
        {"rcm_entry": "no-such-entry"},
        {"grid_power_entity": "sensor.no_such_meter"},
        {"grid_power_sign": "sideways"},
        {"min_on_time": float("inf")},
        {"start_energy": float("nan")},  # NaN passes number selectors: checked by the flow
    ]
    # The pages in order (the sources, the car, starting and stopping).
    pages = [
        {"grid_entry", "battery_entry", "rcm_entry", "grid_power_entity", "grid_power_sign"},
        {"phases", "voltage", "unknown_tag"},
    ]
    for change in bad:
        flow_id = await _options_step(hass, entry, "surplus")
        form = await hass.config_entries.options.async_configure(flow_id, None)
        defaults = {
            str(key): key.default() for key in form["data_schema"].schema if callable(key.default)
        }
        for page, next_step in zip(pages, ("surplus_car", "surplus_timing"), strict=True):
            if change.keys() <= page:
                break
            # A field of a later page: this page as it is, then on.
            form = await hass.config_entries.options.async_configure(flow_id, defaults)
            assert form["step_id"] == next_step
            defaults = {
                str(key): key.default()
                for key in form["data_schema"].schema
                if callable(key.default)
            }
        await _assert_refused(hass, flow_id, {**defaults, **change})
    assert dict(entry.options) == before


# --- the decompress_stream action --------------------------------------------------------


async def test_decompress_action_fields(
    hass: HomeAssistant, hass_admin_user: MockUser, tmp_path: Any
) -> None:
    """Paths, globs and outputs: a clear error, no file written outside the allowlist."""
    from homeassistant.core import Context  # noqa: PLC0415
    from homeassistant.setup import async_setup_component  # noqa: PLC0415

    allowed = tmp_path / "media"
    outside = tmp_path / "outside"
    await hass.async_add_executor_job(allowed.mkdir)
    await hass.async_add_executor_job(outside.mkdir)
    hass.config.allowlist_external_dirs = {str(allowed)}
    assert await async_setup_component(hass, DOMAIN, {})
    rng = random.Random("service")
    paths: list[Any] = [
        *NASTY_TEXT,
        str(outside / "x.json.gz"),
        str(allowed / ".." / "outside" / "*.gz"),
        str(allowed / "**" / "*.gz"),
        "/etc/*",
        "/",
        str(allowed / ("ü" * 200)),
        *(_random_text(rng) for _ in range(10)),
    ]
    context = Context(user_id=hass_admin_user.id)
    errors: list[Exception] = []
    for path in paths:
        for output in (None, str(outside) + "/", "../x", "\x00"):
            data: dict[str, Any] = {"path": path}
            if output is not None:
                data["output"] = output
            try:
                await hass.services.async_call(
                    DOMAIN,
                    "decompress_stream",
                    data,
                    blocking=True,
                    context=context,
                    return_response=True,
                )
            except (vol.Invalid, HomeAssistantError) as err:
                errors.append(err)
    assert errors
    for err in errors:
        assert not isinstance(err, Unauthorized)
        if not isinstance(err, vol.Invalid):
            assert err.translation_key, repr(err)  # a translated message
    written = await hass.async_add_executor_job(lambda: list(outside.rglob("*")))
    assert written == []


def test_connection_numbers_are_whole_and_in_range() -> None:
    from custom_components.solar_wallbox.config_flow import _whole  # noqa: PLC0415

    assert _whole(502, 1, 65535) == 502
    assert _whole(502.0, 1, 65535) == 502
    for bad in (True, "502", None, 502.5, float("nan"), float("inf"), 0, 65536):
        assert _whole(bad, 1, 65535) is None, bad

"""The raw measurement log of PAC2200 and DCTR entries: format, flushes, failures, options."""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import shutil
import sqlite3
import zlib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.solar_wallbox import logformat, logwriter, rawlog, streamlog
from custom_components.solar_wallbox.config_flow import identify_device
from custom_components.solar_wallbox.const import (
    CONF_DEVICE_TYPE,
    CONF_RAWLOG,
    CONF_RAWLOG_DIRECTORY,
    CONF_RAWLOG_FLUSH_INTERVAL,
    CONF_RAWLOG_SAMPLE_INTERVAL,
    CONF_SCAN_INTERVAL,
    CONF_UNIT_ID,
    DOMAIN,
    DeviceType,
)
from custom_components.solar_wallbox.drivers.dctr import DctrData
from custom_components.solar_wallbox.drivers.pac2200 import Pac2200Data
from custom_components.solar_wallbox.logwriter import GzipLogWriter, Sample
from custom_components.solar_wallbox.rawlog import RawLogger
from custom_components.solar_wallbox.rawlog_options import suggested_directory

from ..conftest import SimulatedDevice
from ..harness import e3dc_entry, setup_entry

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data"


class Clock:
    """A settable clock for the coordinator's reading timestamps."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1) -> None:
        self.now += timedelta(seconds=seconds)


def files(directory: Path, pattern: str) -> list[Path]:
    return sorted(directory.glob(pattern))


def decode_bytes(data: bytes) -> tuple[streamlog.GzipStreamDecoder, bytes]:
    decoder = streamlog.GzipStreamDecoder()
    out = b"".join(decoder.feed(data))
    decoder.finish()
    return decoder, out


def pac_data(**values: float | None) -> Pac2200Data:
    names = [f.name for f in dataclasses.fields(Pac2200Data)]
    base: dict[str, float | None] = {name: float(i) for i, name in enumerate(names)}
    return Pac2200Data(**{**base, **values})


def dctr_data(alarm_a: int = 0) -> DctrData:
    return DctrData(
        validity=1,
        residual_current=(5, 2, 3, 1, 1, 3, 2, 3),
        alarm_a_raw=alarm_a,
        alarm_b_raw=0,
        thresholds_a=(30,) * 8,
        thresholds_b=(300,) * 8,
        enabled_a_raw=0xFF,
        enabled_b_raw=0x7F,
        alarm_delay=10,
    )


# --- line format -----------------------------------------------------------------------


def test_pac2200_line_has_the_original_fields_order_and_swap() -> None:
    data = pac_data(apparent_power_total=3000.5, active_power_total=2900.25, voltage_l3_l1=399.0)
    record = logwriter.pac2200_record(1_700_000_000, data)
    assert tuple(record) == logformat.PAC2200_FIELDS
    assert record["p_avg"] == 3000.5  # sic: apparent power, as the original logged it
    assert record["pva_avg"] == 2900.25  # sic: active power
    assert record["u_l1l3"] == 399.0
    line = logformat.encode_line(logwriter.pac2200_record(1, pac_data(frequency=float("nan"))))
    assert line.endswith(b"\n")
    assert b" " not in line
    assert json.loads(line)["frequency"] is None
    assert json.loads(logformat.encode_line({"a": float("inf"), "b": None})) == {
        "a": None,
        "b": None,
    }
    sample = SAMPLES / "pac2200log-1700100000.json.gz"
    if sample.exists():  # the original tool's field names and order
        _, out = decode_bytes(sample.read_bytes())
        assert list(record) == list(json.loads(out.split(b"\n", 1)[0]))


def test_rcm_line_has_the_original_layout() -> None:
    record = logwriter.rcm_record(1_700_100_000, dctr_data(alarm_a=0x80))
    assert tuple(record) == logformat.RCM_FIELDS
    assert record["f_i"] == dict(zip(logformat.RCM_BANDS, (5, 2, 3, 1, 1, 3, 2, 3), strict=True))
    assert record["raised_alarm_a"]["dc"] is True
    assert not any(v for k, v in record["raised_alarm_a"].items() if k != "dc")
    assert record["activated_alarms_b"]["dc"] is False
    assert record["activated_alarms_b"]["ac_gt10khz"] is True
    sample = SAMPLES / "rcmlog-1700100000.json.gz"
    if sample.exists():
        _, out = decode_bytes(sample.read_bytes())
        original = json.loads(out.split(b"\n", 1)[0])
        ours = logwriter.rcm_record(original["update"], dctr_data())
        assert list(ours) == list(original)
        for key, value in original.items():
            assert type(ours[key]) is type(value), key
            if isinstance(value, dict):
                assert list(ours[key]) == list(value), key


def test_written_lines_decode_to_the_readings(tmp_path: Path) -> None:
    """Writer → decoder: each reading comes back in the decoded lines and the SQLite rows.

    All values differ, so a field, band or column out of place fails.
    """
    update, day = 1_714_521_600, date(2024, 5, 1)
    pac = pac_data(frequency=float("nan"))
    dctr = DctrData(
        validity=1,
        residual_current=tuple(range(11, 19)),
        alarm_a_raw=0x81,
        alarm_b_raw=0x02,
        thresholds_a=tuple(range(21, 29)),
        thresholds_b=tuple(range(31, 39)),
        enabled_a_raw=0xF0,
        enabled_b_raw=0x0F,
        alarm_delay=99,
    )
    written: list[tuple[Path, bytes]] = []
    for device_type, data in ((DeviceType.PAC2200, pac), (DeviceType.DCTR, dctr)):
        encode = logwriter.encoder(device_type)
        writer = GzipLogWriter(tmp_path, logwriter.FILE_PREFIXES[device_type], encode)
        path = writer.open(update, day)
        writer.write([Sample(update, day, data)])  # not closed: as after a crash
        written.append((path, encode(Sample(update, day, data))))
        writer.abandon()
    database = tmp_path / "logs.sqlite"
    results = streamlog.decompress_files(
        [(path, tmp_path / f"{path.name}.ndjson") for path, _ in written],
        fmt="ndjson",
        sqlite=database,
    )
    for (_, line), result in zip(written, results, strict=True):
        assert (result.error, result.lines, result.truncated, result.sqlite_rows) == (
            None,
            1,
            True,
            1,
        )
        assert Path(str(result.output)).read_bytes() == line
    with contextlib.closing(sqlite3.connect(database)) as db:
        db.row_factory = sqlite3.Row
        [pac_row] = db.execute("SELECT * FROM pac2200").fetchall()
        [rcm_row] = db.execute("SELECT * FROM rcm").fetchall()
    assert pac_row["timestamp"] == update
    for field, attribute in logformat.PAC2200_LOG_FIELDS.items():
        value = getattr(pac, attribute)
        assert pac_row[field] == (None if attribute == "frequency" else value), field
    assert (pac_row["p_avg"], pac_row["pva_avg"]) == (
        pac.apparent_power_total,  # sic: the original's names
        pac.active_power_total,
    )
    expected: dict[str, int] = {"timestamp": update, "validity": 1, "alarm_delay": 99}
    for index, band in enumerate(logformat.RCM_BANDS):
        bit = 1 << (7 - index)  # docs/devices.md §4: bit 7 DC … bit 0 AC > 10 kHz
        expected |= {
            f"f_i_{band}": 11 + index,
            f"thresholds_a_{band}": 21 + index,
            f"thresholds_b_{band}": 31 + index,
            f"raised_alarm_a_{band}": int(bool(0x81 & bit)),
            f"raised_alarm_b_{band}": int(bool(0x02 & bit)),
            f"activated_alarms_a_{band}": int(bool(0xF0 & bit)),
            f"activated_alarms_b_{band}": int(bool(0x0F & bit)),
        }
    assert {key: value for key, value in dict(rcm_row).items() if key != "source"} == expected
    assert (rcm_row["raised_alarm_a_dc"], rcm_row["raised_alarm_b_ac_gt1khz"]) == (1, 1)


# --- the file writer -------------------------------------------------------------------


def _writer(directory: Path) -> GzipLogWriter:
    return GzipLogWriter(
        directory,
        "pac2200log",
        lambda s: logformat.encode_line(logwriter.pac2200_record(s.update, s.data)),
    )


def test_writer_flushes_are_readable_and_close_writes_a_trailer(tmp_path: Path) -> None:
    writer = _writer(tmp_path / "logs")
    day = date(2024, 5, 1)
    path = writer.open(1_714_521_600, day)
    assert path.name == "pac2200log-1714521600.json.gz"
    header = path.read_bytes()
    assert header == logformat.GZIP_HEADER
    if (SAMPLES / "pac2200log-1700100000.json.gz").exists():
        assert (SAMPLES / "pac2200log-1700100000.json.gz").read_bytes()[:10] == header
    writer.write([Sample(1_714_521_600 + i, day, pac_data()) for i in range(5)])
    killed = path.read_bytes()  # a crash now leaves exactly this
    decoder, out = decode_bytes(killed)
    assert (decoder.truncated, decoder.error, out.count(b"\n")) == (True, None, 5)
    # Python's own zlib reads it too (old tools use the same approach).
    assert zlib.decompressobj(31).decompress(killed) == out
    writer.write([Sample(1_714_521_610, day, pac_data())])
    writer.close([Sample(1_714_521_611, day, pac_data())])
    lines = gzip.decompress(path.read_bytes()).splitlines()
    assert [json.loads(line)["update"] for line in lines] == [
        *range(1_714_521_600, 1_714_521_605),
        1_714_521_610,
        1_714_521_611,
    ]
    writer.close()  # twice is fine
    writer.sync()


def test_writer_new_file_per_day_and_free_names(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    first = writer.open(100, date(2024, 1, 1))
    writer.write(
        [Sample(101, date(2024, 1, 1), pac_data()), Sample(200, date(2024, 1, 2), pac_data())]
    )
    second = writer.path
    assert second == tmp_path / "pac2200log-200.json.gz"
    assert len(gzip.decompress(first.read_bytes()).splitlines()) == 1  # closed with trailer
    writer.abandon()
    again = _writer(tmp_path)
    assert again.open(100, date(2024, 1, 1)).name == "pac2200log-101.json.gz"  # 100 exists
    again.abandon()
    again.abandon()


def test_writer_notices_a_removed_file(tmp_path: Path) -> None:
    writer = _writer(tmp_path / "logs")
    writer.open(1, date(2024, 1, 1))
    shutil.rmtree(tmp_path / "logs")
    with pytest.raises(FileNotFoundError):
        writer.write([Sample(2, date(2024, 1, 1), pac_data())])
    writer.abandon()


# --- in Home Assistant -----------------------------------------------------------------


@pytest.fixture
def log_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    hass.config.allowlist_external_dirs = {str(tmp_path / "media")}
    return tmp_path / "media" / "logs"


def rawlog_options(directory: Path, **options: Any) -> dict[str, Any]:
    return {
        CONF_SCAN_INTERVAL: 2,
        CONF_RAWLOG: True,
        CONF_RAWLOG_DIRECTORY: str(directory),
        CONF_RAWLOG_SAMPLE_INTERVAL: 1,
        CONF_RAWLOG_FLUSH_INTERVAL: 60,
        **options,
    }


async def add_pac(hass: HomeAssistant, sim: SimulatedDevice, options: dict[str, Any]) -> Any:
    data = {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port, CONF_UNIT_ID: 1}
    found = await identify_device(DeviceType.PAC2200, data)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Siemens PAC2200",
        unique_id=found.unique_id,
        data={CONF_DEVICE_TYPE: "pac2200", **data},
        options=options,
    )
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    return entry


async def poll(hass: HomeAssistant, entry: Any, clock: Clock, times: int, step: float = 1) -> None:
    coordinator = entry.runtime_data.coordinator
    coordinator.clock = clock
    for _ in range(times):
        clock.tick(step)
        await coordinator.async_refresh()
    await hass.async_block_till_done()


def issue(hass: HomeAssistant, entry: Any) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"rawlog_failed_{entry.entry_id}")


async def test_pac2200_log_survives_a_kill_and_closes_cleanly(
    hass: HomeAssistant, pac_sim: SimulatedDevice, log_dir: Path
) -> None:
    entry = await add_pac(hass, pac_sim, rawlog_options(log_dir))
    logger: RawLogger = entry.runtime_data.rawlog
    assert logger.running
    [path] = files(log_dir, "pac2200log-*.json.gz")
    clock = Clock(dt_util.utcnow() + timedelta(seconds=5))
    await poll(hass, entry, clock, 9)
    await logger.async_flush()
    flushed = path.read_bytes()  # what a process killed now leaves behind
    decoder, out = decode_bytes(flushed)
    assert (decoder.truncated, decoder.error, out.count(b"\n")) == (True, None, 10)
    await poll(hass, entry, clock, 5)  # not flushed yet: only in memory
    assert path.read_bytes() == flushed  # a crash loses at most one flush interval
    reading = entry.runtime_data.coordinator.data.data
    assert await hass.config_entries.async_unload(entry.entry_id)
    lines = gzip.decompress(path.read_bytes()).splitlines()  # a proper trailer
    assert len(lines) == 15
    last = json.loads(lines[-1])
    assert tuple(last) == logformat.PAC2200_FIELDS
    assert last["update"] == int(clock.now.timestamp())
    assert last["pva_avg"] == reading.active_power_total
    assert last["p_avg"] == reading.apparent_power_total
    assert last["u_l1"] == reading.voltage_l1_n
    assert not logger.running
    assert issue(hass, entry) is None


async def test_sample_interval_and_flush_timer(
    hass: HomeAssistant, pac_sim: SimulatedDevice, log_dir: Path
) -> None:
    options = rawlog_options(log_dir, **{CONF_RAWLOG_SAMPLE_INTERVAL: 5})
    entry = await add_pac(hass, pac_sim, options)
    logger: RawLogger = entry.runtime_data.rawlog
    start = dt_util.utcnow().replace(microsecond=0) + timedelta(seconds=60)
    clock = Clock(start - timedelta(seconds=start.timestamp() % 5) - timedelta(seconds=1))
    await poll(hass, entry, clock, 10)  # seconds 0..9 of two 5-s slots: two lines
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    await hass.async_block_till_done(wait_background_tasks=True)
    [path] = files(log_dir, "pac2200log-*.json.gz")
    _, out = decode_bytes(path.read_bytes())
    updates = [json.loads(line)["update"] for line in out.splitlines()]
    assert updates[1:] == [int(clock.now.timestamp()) - 9, int(clock.now.timestamp()) - 4]
    assert logger.lines == len(updates)


async def test_failed_polls_write_no_line(
    hass: HomeAssistant, pac_sim: SimulatedDevice, log_dir: Path
) -> None:
    entry = await add_pac(hass, pac_sim, rawlog_options(log_dir))
    logger: RawLogger = entry.runtime_data.rawlog
    await pac_sim.server.stop()
    await poll(hass, entry, Clock(dt_util.utcnow() + timedelta(seconds=5)), 3)
    assert not entry.runtime_data.coordinator.last_update_success
    await logger.async_flush()
    assert logger.lines == 1  # only the reading from the setup


async def test_new_file_at_local_midnight(
    hass: HomeAssistant, pac_sim: SimulatedDevice, log_dir: Path
) -> None:
    entry = await add_pac(hass, pac_sim, rawlog_options(log_dir))
    midnight = dt_util.start_of_local_day() + timedelta(days=1)
    clock = Clock(midnight - timedelta(seconds=3))
    await poll(hass, entry, clock, 4)  # 23:59:58, 23:59:59, 00:00:00, 00:00:01
    assert await hass.config_entries.async_unload(entry.entry_id)
    first, second = files(log_dir, "pac2200log-*.json.gz")
    assert second.name == f"pac2200log-{int(midnight.timestamp())}.json.gz"
    assert len(gzip.decompress(first.read_bytes()).splitlines()) == 3
    assert len(gzip.decompress(second.read_bytes()).splitlines()) == 2


async def test_removed_directory_raises_an_issue_and_polling_goes_on(
    hass: HomeAssistant, pac_sim: SimulatedDevice, log_dir: Path
) -> None:
    entry = await add_pac(hass, pac_sim, rawlog_options(log_dir))
    logger: RawLogger = entry.runtime_data.rawlog
    shutil.rmtree(log_dir)
    clock = Clock(dt_util.utcnow() + timedelta(seconds=5))
    await poll(hass, entry, clock, 2)
    await logger.async_flush()
    assert not logger.running
    found = issue(hass, entry)
    assert found is not None
    assert found.translation_key == "rawlog_failed"
    assert found.translation_placeholders == {
        "title": "Siemens PAC2200",
        "directory": str(log_dir),
        "error": "the log file was removed",
    }
    await poll(hass, entry, clock, 2)
    assert entry.runtime_data.coordinator.last_update_success
    assert hass.states.get("sensor.pac2200_frequency").state not in ("unavailable", "unknown")
    await logger.async_flush()  # stopped: nothing happens
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_full_disk_raises_an_issue(
    hass: HomeAssistant, pac_sim: SimulatedDevice, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = await add_pac(hass, pac_sim, rawlog_options(log_dir))
    logger: RawLogger = entry.runtime_data.rawlog

    def full(self: GzipLogWriter, samples: Any = ()) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(GzipLogWriter, "write", full)
    monkeypatch.setattr(GzipLogWriter, "close", full)
    await poll(hass, entry, Clock(dt_util.utcnow() + timedelta(seconds=5)), 1)
    await logger.async_flush()
    assert issue(hass, entry).translation_placeholders["error"] == "No space left on device"
    assert not logger.running
    # A failure at the final close is reported the same way.
    assert await hass.config_entries.async_unload(entry.entry_id)
    ir.async_delete_issue(hass, DOMAIN, logger.issue_id)
    entry2 = await add_pac(hass, pac_sim, rawlog_options(log_dir))
    assert await hass.config_entries.async_unload(entry2.entry_id)
    assert issue(hass, entry2) is not None


async def test_directory_not_allowed_then_fixed(
    hass: HomeAssistant, pac_sim: SimulatedDevice, log_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    entry = await add_pac(hass, pac_sim, rawlog_options(outside))
    assert entry.runtime_data.rawlog is None
    assert issue(hass, entry).translation_placeholders["error"] == "not in allowlist_external_dirs"
    assert not outside.exists()
    hass.config_entries.async_update_entry(entry, options=rawlog_options(log_dir))
    await hass.async_block_till_done()  # the update listener reloads the entry
    assert entry.runtime_data.rawlog is not None
    assert issue(hass, entry) is None
    hass.config_entries.async_update_entry(entry, options={CONF_SCAN_INTERVAL: 2})
    await hass.async_block_till_done()
    assert entry.runtime_data.rawlog is None
    assert len(files(log_dir, "*.json.gz")) == 1


async def test_home_assistant_stop_writes_the_trailer(
    hass: HomeAssistant, pac_sim: SimulatedDevice, log_dir: Path
) -> None:
    entry = await add_pac(hass, pac_sim, rawlog_options(log_dir))
    await poll(hass, entry, Clock(dt_util.utcnow() + timedelta(seconds=5)), 2)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    [path] = files(log_dir, "*.json.gz")
    assert len(gzip.decompress(path.read_bytes()).splitlines()) == 3
    assert not entry.runtime_data.rawlog.running


async def test_dctr_log(hass: HomeAssistant, dctr_sim: SimulatedDevice, log_dir: Path) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Doepke DCTR",
        unique_id=f"127.0.0.1:{dctr_sim.port}:1",
        data={
            CONF_DEVICE_TYPE: "dctr",
            CONF_HOST: "127.0.0.1",
            CONF_PORT: dctr_sim.port,
            CONF_UNIT_ID: 1,
        },
        options=rawlog_options(log_dir),
    )
    await setup_entry(hass, entry)
    dctr_sim.device.force_alarm("dc", 12)
    await poll(hass, entry, Clock(dt_util.utcnow() + timedelta(seconds=5)), 2)
    assert await hass.config_entries.async_unload(entry.entry_id)
    [path] = files(log_dir, "rcmlog-*.json.gz")
    records = [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
    assert [r["raised_alarm_a"]["dc"] for r in records] == [False, True, True]
    assert all(tuple(r) == logformat.RCM_FIELDS for r in records)
    assert records[-1]["f_i"]["dc"] >= 12


def test_settings_from_options() -> None:
    settings = rawlog.RawLogSettings.from_options(
        {CONF_RAWLOG_SAMPLE_INTERVAL: 0, CONF_RAWLOG_FLUSH_INTERVAL: 1}
    )
    assert settings == rawlog.RawLogSettings(False, "", 1, 10)


# --- options flow ----------------------------------------------------------------------


async def test_options_flow(hass: HomeAssistant, pac_sim: SimulatedDevice, log_dir: Path) -> None:
    hass.config.media_dirs = {"local": str(log_dir.parent)}
    entry = await add_pac(hass, pac_sim, {CONF_SCAN_INTERVAL: 2})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "device"
    schema = result["data_schema"].schema
    keys = {str(key): key for key in schema}
    assert set(keys) >= {
        CONF_RAWLOG,
        CONF_RAWLOG_DIRECTORY,
        CONF_RAWLOG_SAMPLE_INTERVAL,
        CONF_RAWLOG_FLUSH_INTERVAL,
    }
    suggested = keys[CONF_RAWLOG_DIRECTORY].description["suggested_value"]
    assert suggested == str(log_dir.parent / DOMAIN)
    for directory, error in (
        ("", "directory_required"),
        ("/etc", "directory_not_allowed"),
        ("relative/dir", "directory_not_allowed"),
        (f"{log_dir}/../../x", "directory_not_allowed"),
    ):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {CONF_SCAN_INTERVAL: 2, CONF_RAWLOG: True, CONF_RAWLOG_DIRECTORY: directory},
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {CONF_RAWLOG_DIRECTORY: error}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SCAN_INTERVAL: 1,
            CONF_RAWLOG: True,
            CONF_RAWLOG_DIRECTORY: f" {log_dir} ",
            CONF_RAWLOG_SAMPLE_INTERVAL: 2,
            CONF_RAWLOG_FLUSH_INTERVAL: 30,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {
        CONF_SCAN_INTERVAL: 1,
        CONF_RAWLOG: True,
        CONF_RAWLOG_DIRECTORY: str(log_dir),
        CONF_RAWLOG_SAMPLE_INTERVAL: 2,
        CONF_RAWLOG_FLUSH_INTERVAL: 30,
    }
    assert entry.runtime_data.rawlog is not None
    assert entry.runtime_data.rawlog.settings.flush_interval == 30
    # Disabled: the directory is kept but not checked.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_SCAN_INTERVAL: 1, CONF_RAWLOG: False, CONF_RAWLOG_DIRECTORY: "/etc"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.runtime_data.rawlog is None


async def test_no_raw_log_options_for_the_e3dc(
    hass: HomeAssistant, e3dc_sim: SimulatedDevice
) -> None:
    entry = e3dc_entry(e3dc_sim.port)
    await setup_entry(hass, entry)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert {str(key) for key in result["data_schema"].schema} == {CONF_SCAN_INTERVAL}
    hass.config.media_dirs = {}
    assert suggested_directory(hass) is None

"""Chaos soak: the whole system (four simulators, Home Assistant, surplus charging) under
random faults in simulated time, with invariants checked after every step.

Used by tests/tools/test_soak.py (a one-hour run in every test run) and by
``python -m bench.soak --hours N --seed S`` for long runs. Needs the Home Assistant test
harness (the ``hass`` fixture), so it lives with the tests.

Simulated time: the site model, every reading's timestamp, the transport's back-off
clock and the controller all use one simulated clock, advanced one second per step; the
coordinators are refreshed when their scan interval is due in that clock instead of by
their own timers. Requests to a hanging device time out after 0.5 s of real time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import async_get_platforms
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.solar_wallbox import devices
from custom_components.solar_wallbox.binary_sensor import LinkBinarySensor
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
from custom_components.solar_wallbox.drivers.modbus import BACKOFF_MAX, ModbusConnection
from simulator.amtron import AmtronDevice, create_server
from simulator.car import CarConfig
from simulator.dctr import DctrDevice
from simulator.e3dc import E3dcDevice
from simulator.modbus_server import ModbusTcpServer
from simulator.model import SiteModel
from simulator.pac2200 import Pac2200Device

KINDS = ("e3dc", "pac2200", "dctr", "amtron")
UNITS = {"e3dc": 1, "pac2200": 1, "dctr": 1, "amtron": 255}
SCAN = {"e3dc": 5, "pac2200": 2, "dctr": 2, "amtron": 2}
TAG = "04A1B2C3D4E5F6"
REQUEST_TIMEOUT = 0.5  # real seconds (pymodbus takes 0.1 s to connect; margin for a busy CI)
MAX_CURRENT = 16
MIN_CURRENT = 6
TICK = 5  # the charging manager's timer, simulated seconds

# Faults of one device: name → (min, max) duration in simulated seconds.
DEVICE_FAULTS: dict[str, tuple[float, float]] = {
    "refused": (5, 60),
    "drop_mid_request": (5, 30),
    "stall": (5, 30),
    "exception": (5, 30),
    "garbage": (5, 30),
    "not_available": (5, 30),
    "restart": (5, 20),
}
SITE_FAULTS = ("rcm_alarm", "stale_grid_meter", "ha_restart")
# Log records at WARNING or above that are expected while a fault is active, by logger
# name prefix and message start. Everything else is a violation.
EXPECTED_LOGS: tuple[tuple[str, str], ...] = (
    ("custom_components.solar_wallbox", "Error fetching"),
    ("custom_components.solar_wallbox", "Error requesting"),
    ("custom_components.solar_wallbox", "Could not set the charging current"),
    ("homeassistant.config_entries", "Config entry 'e3dc' for solar_wallbox integration not"),
    ("homeassistant.config_entries", "Config entry 'pac2200' for solar_wallbox integration not"),
    ("homeassistant.config_entries", "Config entry 'dctr' for solar_wallbox integration not"),
    ("homeassistant.config_entries", "Config entry 'amtron' for solar_wallbox integration not"),
    ("pymodbus", ""),
    ("homeassistant.loader", "We found a custom integration solar_wallbox"),
)
# Our own integrated totals: they never decrease, not even to zero.
INTEGRATED = ("sensor.e3dc_",)


@dataclass
class SoakConfig:
    """What to run."""

    hours: float = 1.0
    seed: int = 1
    faults_per_device_per_hour: float = 6.0
    rcm_alarms_per_hour: float = 2.0
    stale_grid_per_hour: float = 1.0
    ha_restarts_per_hour: float = 1.0
    start_hour: float = 10.0  # local time of day at which the simulated run starts


@dataclass
class Fault:
    """One scheduled fault."""

    kind: str
    target: str  # a device kind, or "site"
    start: float  # simulated seconds since the start of the run
    end: float
    active: bool = False
    done: bool = False
    recovered_after: float | None = None


@dataclass
class Summary:
    """What happened and what was checked."""

    config: SoakConfig
    simulated_s: float = 0.0
    real_s: float = 0.0
    faults: Counter[str] = field(default_factory=Counter)
    survived: Counter[str] = field(default_factory=Counter)
    checks: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    worst_recovery: dict[str, float] = field(default_factory=dict)
    expected_logs: int = 0
    polls: int = 0
    failed_polls: int = 0
    tasks: list[int] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    energy: dict[str, float] = field(default_factory=dict)
    charging_s: float = 0.0  # simulated seconds with a current limit above 0 A
    acknowledged: int = 0

    def violate(self, message: str) -> None:
        """Record an invariant violation (the first 50 are kept verbatim)."""
        self.checks["violations"] += 1
        if len(self.violations) < 50:
            self.violations.append(message)

    def table(self) -> str:
        """The summary as a plain-text table."""
        cfg = self.config
        lines = [
            f"Chaos soak: {cfg.hours:g} h simulated, seed {cfg.seed}, "
            f"{self.real_s:.0f} s real ({self.simulated_s / max(self.real_s, 1e-9):.0f}x)",
            "",
            f"{'fault':<22}{'injected':>10}{'survived':>10}{'worst recovery':>16}",
        ]
        for kind in (*DEVICE_FAULTS, *SITE_FAULTS):
            worst = self.worst_recovery.get(kind)
            lines.append(
                f"{kind:<22}{self.faults[kind]:>10}{self.survived[kind]:>10}"
                f"{'-' if worst is None else f'{worst:.0f} s':>16}"
            )
        lines.append(
            f"{'total':<22}{sum(self.faults.values()):>10}{sum(self.survived.values()):>10}"
        )
        lines += ["", f"{'invariant':<44}{'checks':>10}"]
        for name, count in sorted(self.checks.items()):
            if name != "violations":
                lines.append(f"{name:<44}{count:>10}")
        lines += [
            "",
            f"polls: {self.polls} ({self.failed_polls} failed while a fault was active)",
            f"charging (limit above 0 A): {self.charging_s / 3600:.1f} h; "
            f"RCM alarms acknowledged: {self.acknowledged}",
            f"expected warnings/errors logged: {self.expected_logs}",
            f"tasks: first {self.tasks[0] if self.tasks else '-'}, "
            f"max {max(self.tasks, default='-')}, last {self.tasks[-1] if self.tasks else '-'}",
            f"RSS: first {self.rss_mb[0] if self.rss_mb else 0:.0f} MB, "
            f"last {self.rss_mb[-1] if self.rss_mb else 0:.0f} MB",
        ]
        for name, value in self.energy.items():
            lines.append(f"{name}: {value:.3f}")
        lines.append(f"invariant violations: {self.checks['violations']}")
        lines += [f"  {v}" for v in self.violations]
        return "\n".join(lines)


class _LogWatch(logging.Handler):
    """Collects WARNING+ records."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _watch_logs() -> Iterator[_LogWatch]:
    handler = _LogWatch()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:  # pragma: no cover  (not Linux)
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Soak:
    """One soak run over a Home Assistant test instance."""

    def __init__(self, hass: HomeAssistant, config: SoakConfig) -> None:
        self.hass = hass
        self.config = config
        self.rng = random.Random(config.seed)
        random.seed(config.seed)  # the garbage fault's random registers
        self.model = SiteModel.scenario(
            "clouds", seed=config.seed, start_s=config.start_hour * 3600.0
        )
        self.charger = AmtronDevice(self.model)
        self.dctr = DctrDevice(self.model)
        self.pac = Pac2200Device(self.model)
        self.e3dc = E3dcDevice(self.model)
        self.devices: dict[str, Any] = {
            "e3dc": self.e3dc,
            "pac2200": self.pac,
            "dctr": self.dctr,
            "amtron": self.charger,
        }
        self.servers: dict[str, ModbusTcpServer] = {}
        self.entries: dict[str, MockConfigEntry] = {}
        self.t = 0.0  # simulated seconds since the start
        self.start = dt_util.utcnow()
        self.summary = Summary(config)
        self.faults: list[Fault] = []
        self.next_poll: dict[str, float] = dict.fromkeys(KINDS, 0.0)
        self.last_ok: dict[str, float] = dict.fromkeys(KINDS, 0.0)
        self.energy_last: dict[str, float] = {}
        self.model_pv_start = 0.0
        self.pv_sensor_start: float | None = None
        self.written_once = False
        self.ack_pending = False

    # -- clocks ----------------------------------------------------------------------------

    def now(self) -> datetime:
        """Simulated wall-clock time (UTC)."""
        return self.start + timedelta(seconds=self.t)

    def monotonic(self) -> float:
        """Simulated monotonic clock of the transports' back-off."""
        return 1_000_000.0 + self.t

    def _connection_factory(self) -> Callable[..., ModbusConnection]:
        def create(
            data: Mapping[str, Any], *, timeout: float = REQUEST_TIMEOUT
        ) -> ModbusConnection:
            return ModbusConnection(
                str(data[CONF_HOST]),
                int(data[CONF_PORT]),
                int(data[CONF_UNIT_ID]),
                timeout=REQUEST_TIMEOUT,
                clock=self.monotonic,
            )

        return create

    # -- setup -----------------------------------------------------------------------------

    async def _start_server(self, kind: str, port: int = 0) -> None:
        old = self.servers.get(kind)
        faults = old.faults if old is not None else None
        if kind == "amtron":
            server = create_server(self.charger, port=port, faults=faults)
        else:
            server = ModbusTcpServer(self.devices[kind], port=port, faults=faults)
        await server.start()
        self.servers[kind] = server

    async def setup(self) -> None:
        """Start the simulators and set up the four entries with surplus charging on."""
        for kind in KINDS:
            await self._start_server(kind)
        for kind in KINDS:
            port = self.servers[kind].port
            data = {CONF_HOST: "127.0.0.1", CONF_PORT: port, CONF_UNIT_ID: UNITS[kind]}
            found = await identify_device(DeviceType(kind), data)
            options: dict[str, Any] = {CONF_SCAN_INTERVAL: SCAN[kind]}
            if kind == "amtron":
                options |= {
                    CONF_MAX_CURRENT: MAX_CURRENT,
                    CONF_GRID_ENTRY: self.entries["pac2200"].entry_id,
                    CONF_BATTERY_ENTRY: self.entries["e3dc"].entry_id,
                    CONF_RCM_ENTRY: self.entries["dctr"].entry_id,
                    CONF_VEHICLES: [{"name": "Maria", "tag": TAG}],
                }
            entry = MockConfigEntry(
                domain=DOMAIN,
                title=kind,
                unique_id=found.unique_id,
                data={CONF_DEVICE_TYPE: kind, **data},
                options=options,
            )
            entry.add_to_hass(self.hass)
            self.entries[kind] = entry
            assert await self.hass.config_entries.async_setup(entry.entry_id)
            await self.hass.async_block_till_done()
        await self.hass.services.async_call(
            "switch",
            "turn_on",
            {"entity_id": "switch.amtron_surplus_charging"},
            blocking=True,
        )
        self.charger.plug_in(CarConfig(tag=TAG, soc_pct=20.0, capacity_kwh=80.0))
        self._adopt_all()
        self.model_pv_start = self.model.energy.pv_wh

    def _adopt_all(self) -> None:
        """Give every (new) coordinator and the manager the simulated clock."""
        for entry in self.entries.values():
            if entry.state is not ConfigEntryState.LOADED:
                continue
            coordinator = entry.runtime_data.coordinator
            coordinator.clock = self.now
            # Polls are driven by the soak in simulated time, not by the real-time timer.
            coordinator._schedule_refresh = lambda: None  # type: ignore[method-assign]
            if coordinator._unsub_refresh is not None:
                coordinator._unsub_refresh()
                coordinator._unsub_refresh = None
            if entry.runtime_data.charging is not None:
                entry.runtime_data.charging.clock = self.now

    # -- the schedule ----------------------------------------------------------------------

    def schedule(self) -> None:
        """Every fault kind at least once, then random ones (Poisson), never overlapping
        on one device; HA restarts only while no device fault is active."""
        duration = self.config.hours * 3600.0
        warmup = 120.0
        busy: dict[str, list[tuple[float, float]]] = {k: [] for k in (*KINDS, "site")}

        def free(target: str, start: float, end: float) -> bool:
            if end > duration - 120.0:
                return False
            return all(end + 30 < s or start > e + 30 for s, e in busy[target])

        def add(kind: str, target: str, start: float, length: float) -> bool:
            end = start + length
            if not free(target, start, end):
                return False
            if kind == "ha_restart" and not all(free(k, start - 90, end + 90) for k in KINDS):
                return False
            busy[target].append((start, end))
            if kind in ("stale_grid_meter",):
                busy["pac2200"].append((start, end))
            if kind == "rcm_alarm":
                busy["dctr"].append((start, end))
            self.faults.append(Fault(kind, target, start, end))
            return True

        rng = self.rng
        # Coverage first: each device fault on each device, the site faults once.
        for target in KINDS:
            for kind, (low, high) in DEVICE_FAULTS.items():
                for _ in range(50):
                    if add(kind, target, rng.uniform(warmup, duration), rng.uniform(low, high)):
                        break
        for kind, length in (("rcm_alarm", 40.0), ("stale_grid_meter", 90.0), ("ha_restart", 1.0)):
            for _ in range(200):
                if add(kind, "site", rng.uniform(warmup, duration), length):
                    break
        # Then random extra ones at the configured rates.
        hours = self.config.hours
        cfg = self.config
        per_device = int(cfg.faults_per_device_per_hour * hours) - len(DEVICE_FAULTS)
        extra: list[tuple[str, str]] = [("device", k) for k in KINDS for _ in range(per_device)]
        for kind, rate in (
            ("rcm_alarm", cfg.rcm_alarms_per_hour),
            ("stale_grid_meter", cfg.stale_grid_per_hour),
            ("ha_restart", cfg.ha_restarts_per_hour),
        ):
            extra += [(kind, "site")] * (int(rate * hours) - 1)
        site_lengths: dict[str, tuple[float, float]] = {
            "rcm_alarm": (20.0, 90.0),
            "stale_grid_meter": (60.0, 180.0),
            "ha_restart": (1.0, 1.0),
        }
        for what, target in extra:
            for _ in range(50):
                start = rng.uniform(warmup, duration)
                if what == "device":
                    kind = rng.choice(list(DEVICE_FAULTS))
                    low, high = DEVICE_FAULTS[kind]
                    length = rng.uniform(low, high)
                else:
                    kind = what
                    length = rng.uniform(*site_lengths[kind])
                if add(kind, target, start, length):
                    break
        self.faults.sort(key=lambda f: f.start)

    # -- faults ----------------------------------------------------------------------------

    async def _begin(self, fault: Fault) -> None:
        fault.active = True
        self.summary.faults[fault.kind] += 1
        target = fault.target
        if fault.kind == "rcm_alarm":
            self.dctr.force_alarm("dc", 40)
            return
        if fault.kind == "stale_grid_meter":
            self.servers["pac2200"].faults.stall = True
            return
        if fault.kind == "ha_restart":
            await self._restart_home_assistant()
            fault.end = self.t
            return
        faults = self.servers[target].faults
        match fault.kind:
            case "refused":
                faults.refuse_connections = True
                await self.servers[target].drop_connections()
            case "drop_mid_request":
                faults.drop_mid_request = True
            case "stall":
                faults.stall = True
            case "exception":
                faults.exception_code = 4
            case "garbage":
                faults.garbage = "random"
            case "not_available":
                faults.garbage = "na"
            case "restart":
                await self.servers[target].stop()
                if target == "pac2200":
                    # The meter comes back with its counters reset (lower than before).
                    self.pac._counters = dict.fromkeys(self.pac._counters, 0.0)

    async def _end(self, fault: Fault) -> None:
        fault.active = False
        fault.done = True
        target = fault.target
        match fault.kind:
            case "rcm_alarm":
                self.dctr.clear()
                self.ack_pending = True  # once the monitor reports no alarm any more
                return
            case "stale_grid_meter":
                self.servers["pac2200"].faults.stall = False
                return
            case "ha_restart":
                return
        faults = self.servers[target].faults
        faults.refuse_connections = False
        faults.drop_mid_request = False
        faults.stall = False
        faults.exception_code = None
        faults.garbage = None
        if fault.kind == "restart":
            await self._start_server(target, self.servers[target].port)

    async def _restart_home_assistant(self) -> None:
        """Unload every entry and set it up again (entities restore their state)."""
        before = self._energy_states()
        for kind in reversed(KINDS):
            await self.hass.config_entries.async_unload(self.entries[kind].entry_id)
        await self.hass.async_block_till_done()
        for kind in KINDS:
            assert await self.hass.config_entries.async_setup(self.entries[kind].entry_id)
            await self.hass.async_block_till_done()
        self._adopt_all()
        after = self._energy_states()
        self.summary.checks["energy kept across HA restart"] += 1
        for entity_id, value in before.items():
            if entity_id in after and after[entity_id] < value - 1e-9:
                self.summary.violate(
                    f"t={self.t:.0f}: {entity_id} {value} → {after[entity_id]} across a restart"
                )
        for kind in KINDS:
            self.next_poll[kind] = self.t

    # -- the loop --------------------------------------------------------------------------

    async def run(self) -> Summary:
        """Run the configured simulated hours; return the summary."""
        real_start = time.monotonic()
        self.schedule()
        # The harness runs the loop in debug mode, which records a stack for every
        # callback: 40 % of the time, and nothing the soak checks needs it.
        debug = self.hass.loop.get_debug()
        self.hass.loop.set_debug(False)
        try:
            return await self._run(real_start)
        finally:
            self.hass.loop.set_debug(debug)

    async def _run(self, real_start: float) -> Summary:
        with _watch_logs() as logs:
            await self.setup()
            steps = int(self.config.hours * 3600)
            for _ in range(steps):
                await self._step()
                self._check_logs(logs)
            for fault in self.faults:
                if fault.active:
                    await self._end(fault)
        self._final_checks()
        self.summary.simulated_s = self.t
        self.summary.real_s = time.monotonic() - real_start
        return self.summary

    async def _step(self) -> None:
        self.t += 1.0
        self.model.step(1.0)
        for fault in self.faults:
            if not fault.active and not fault.done and fault.start <= self.t:
                await self._begin(fault)
            if fault.active and fault.end <= self.t:
                await self._end(fault)
        if self.charger_plug_cycle():
            pass
        polled: list[str] = []
        for kind in KINDS:
            entry = self.entries[kind]
            if entry.state is not ConfigEntryState.LOADED:
                if entry.state is ConfigEntryState.SETUP_RETRY and self.t >= self.next_poll[kind]:
                    # Home Assistant retries the setup; here in simulated time.
                    await self.hass.config_entries.async_reload(entry.entry_id)
                    await self.hass.async_block_till_done()
                    self._adopt_all()
                    self.next_poll[kind] = self.t + 10
                continue
            if self.t >= self.next_poll[kind]:
                self.next_poll[kind] = self.t + SCAN[kind]
                await entry.runtime_data.coordinator.async_refresh()
                polled.append(kind)
        manager = self._manager()
        if manager is not None and int(self.t) % TICK == 0:
            await manager.async_evaluate()
        if manager is not None and self.ack_pending and "dctr" in polled:
            dctr = self.entries["dctr"].runtime_data.coordinator
            if dctr.last_update_success and not (dctr.data.data.alarm_a or dctr.data.data.alarm_b):
                await manager.async_acknowledge_rcm()  # the user presses the button
                self.ack_pending = False
                self.summary.acknowledged += 1
        await self.hass.async_block_till_done()
        for kind in polled:
            self._after_poll(kind)
        self._check_site()
        if int(self.t) % 600 == 0:
            self.summary.tasks.append(len(asyncio.all_tasks()))
            self.summary.rss_mb.append(_rss_mb())

    def charger_plug_cycle(self) -> bool:
        """Every 3 simulated hours the car leaves and another one (low SoC) arrives."""
        if self.t % (3 * 3600) == 0 and self.t > 0:
            self.charger.unplug()
            return True
        if self.t % (3 * 3600) == 300 and self.t > 300:
            self.charger.plug_in(CarConfig(tag=TAG, soc_pct=20.0, capacity_kwh=80.0))
            return True
        return False

    def _manager(self) -> Any:
        entry = self.entries["amtron"]
        if entry.state is not ConfigEntryState.LOADED:
            return None
        return entry.runtime_data.charging

    def _device_faulted(self, kind: str, *, margin: float = 0.0) -> bool:
        """True while a fault affects ``kind`` (or ended less than ``margin`` s ago)."""
        for fault in self.faults:
            affects = fault.target == kind or (
                fault.kind == "stale_grid_meter" and kind == "pac2200"
            )
            if not affects or fault.kind in ("rcm_alarm", "ha_restart"):
                continue
            if fault.start <= self.t and (fault.active or self.t <= fault.end + margin):
                return True
        return False

    # -- checks ----------------------------------------------------------------------------

    def _after_poll(self, kind: str) -> None:
        entry = self.entries[kind]
        coordinator = entry.runtime_data.coordinator
        ok = coordinator.last_update_success
        summary = self.summary
        summary.polls += 1
        if ok:
            self.last_ok[kind] = self.t
            self._recovered(kind)
        else:
            summary.checks["failure only while faulted"] += 1
            # Back-off can keep a device unreachable up to BACKOFF_MAX after its fault.
            if not self._device_faulted(kind, margin=BACKOFF_MAX + SCAN[kind] + 2):
                summary.violate(f"t={self.t:.0f}: {kind} poll failed without a fault")
            else:
                summary.failed_polls += 1
        # Entities follow their device: unavailable while and only while it is.
        summary.checks["entities available iff device"] += 1
        for platform in async_get_platforms(self.hass, DOMAIN):
            if platform.config_entry is None or platform.config_entry.entry_id != entry.entry_id:
                continue
            for entity_id, entity in platform.entities.items():
                if not isinstance(entity, CoordinatorEntity) or isinstance(
                    entity, LinkBinarySensor
                ):
                    continue
                state = self.hass.states.get(entity_id)
                if state is None:
                    continue
                unavailable = state.state == STATE_UNAVAILABLE
                if unavailable == ok:
                    summary.violate(
                        f"t={self.t:.0f}: {entity_id} is {state.state} while {kind} "
                        f"{'answers' if ok else 'does not answer'}"
                    )
        if kind == "dctr" and ok:
            self._check_rcm()
        self._check_energy()

    def _recovered(self, kind: str) -> None:
        for fault in self.faults:
            if (
                fault.done
                and fault.recovered_after is None
                and (
                    fault.target == kind or (fault.kind == "stale_grid_meter" and kind == "pac2200")
                )
                and fault.kind not in ("rcm_alarm", "ha_restart")
            ):
                fault.recovered_after = max(0.0, self.t - fault.end)
                self.summary.survived[fault.kind] += 1
                worst = self.summary.worst_recovery.get(fault.kind, 0.0)
                self.summary.worst_recovery[fault.kind] = max(worst, fault.recovered_after)
                self.summary.checks["recovery within back-off bound"] += 1
                if fault.recovered_after > BACKOFF_MAX + SCAN[kind] + 2:
                    self.summary.violate(
                        f"t={self.t:.0f}: {kind} recovered {fault.recovered_after:.0f} s "
                        f"after {fault.kind} ended"
                    )

    def _check_rcm(self) -> None:
        """A reading with an alarm → 0 A decided in the same step, and written if possible."""
        data = self.entries["dctr"].runtime_data.coordinator.data.data
        alarm = bool(getattr(data, "alarm_a", False) or getattr(data, "alarm_b", False))
        manager = self._manager()
        if not alarm or manager is None or not manager.enabled:
            return
        self.summary.checks["RCM alarm → 0 A within one DCTR poll"] += 1
        decision = manager.decision
        if decision is None or decision.current != 0:
            self.summary.violate(f"t={self.t:.0f}: RCM alarm read, decision {decision}")
        elif self.charger.hems_limit_a != 0 and not self._device_faulted("amtron"):
            self.summary.violate(
                f"t={self.t:.0f}: RCM alarm read, wallbox still at {self.charger.hems_limit_a} A"
            )

    def _check_site(self) -> None:
        manager = self._manager()
        summary = self.summary
        limit = self.charger.hems_limit_a
        if manager is not None and manager.decision is not None:
            self.written_once = self.written_once or manager.controller.last_written is not None
        if limit > 0:
            summary.charging_s += 1.0
        if self.written_once:
            summary.checks["current limit 0 or min..max"] += 1
            if limit != 0 and not MIN_CURRENT <= limit <= MAX_CURRENT:
                summary.violate(f"t={self.t:.0f}: current limit {limit} A")
        if manager is None or manager.decision is None:
            return
        grid = self.entries["pac2200"]
        stale_timeout = manager.settings.stale_timeout
        if grid.state is ConfigEntryState.LOADED:
            reading = grid.runtime_data.coordinator.data
            age = (self.now() - reading.measured_at).total_seconds() if reading else 1e9
            if age > stale_timeout + TICK:
                summary.checks["stale site data → safe state"] += 1
                if manager.decision.current != 0:
                    summary.violate(
                        f"t={self.t:.0f}: grid reading {age:.0f} s old, "
                        f"current {manager.decision.current} A ({manager.decision.reason})"
                    )

    def _energy_states(self) -> dict[str, float]:
        values: dict[str, float] = {}
        for state in self.hass.states.async_all("sensor"):
            if state.attributes.get("device_class") != "energy":
                continue
            try:
                values[state.entity_id] = float(state.state)
            except ValueError:
                continue
        return values

    def _check_energy(self) -> None:
        """Energy sensors never decrease (a PAC2200 restart may reset its own counters)."""
        current = self._energy_states()
        self.summary.checks["energy never decreases"] += 1
        for entity_id, value in current.items():
            last = self.energy_last.get(entity_id)
            if last is not None and value < last - 1e-9:
                # A session counter or a meter cleared after a restart starts again near
                # zero; nothing else may ever go down.
                reset = value < 1.0 and not entity_id.startswith(INTEGRATED)
                if not reset:
                    self.summary.violate(f"t={self.t:.0f}: {entity_id} fell {last} → {value}")
            self.energy_last[entity_id] = value
        if self.pv_sensor_start is None and "sensor.e3dc_pv_energy" in current:
            self.pv_sensor_start = current["sensor.e3dc_pv_energy"]

    def _check_logs(self, logs: _LogWatch) -> None:
        for record in logs.records:
            message = record.getMessage()
            expected = any(
                record.name.startswith(prefix) and message.startswith(start)
                for prefix, start in EXPECTED_LOGS
            )
            if expected and record.exc_info is None:
                self.summary.expected_logs += 1
            else:
                self.summary.violate(
                    f"t={self.t:.0f}: unexpected log {record.levelname} {record.name}: "
                    f"{message[:300]}"
                )
        logs.records.clear()

    def _final_checks(self) -> None:
        summary = self.summary
        # Every fault ended and was survived (the device answered again afterwards).
        for fault in self.faults:
            if fault.kind in ("rcm_alarm", "ha_restart"):
                if fault.done:
                    summary.survived[fault.kind] += 1
                continue
            summary.checks["every fault survived"] += 1
            if fault.recovered_after is None:
                summary.violate(f"{fault.kind} on {fault.target} at {fault.start:.0f}: no recovery")
        # No double counting: the integrated PV energy is not above what the site produced.
        pv = self.energy_last.get("sensor.e3dc_pv_energy")
        if pv is not None and self.pv_sensor_start is not None:
            sensor_wh = (pv - self.pv_sensor_start) * 1000.0
            model_wh = self.model.energy.pv_wh - self.model_pv_start
            summary.energy["PV energy integrated (kWh)"] = sensor_wh / 1000
            summary.energy["PV energy of the site (kWh)"] = model_wh / 1000
            summary.checks["no double counting (PV energy)"] += 1
            if sensor_wh > model_wh * 1.02 + 10:
                summary.violate(f"PV energy {sensor_wh:.0f} Wh > site {model_wh:.0f} Wh")
        # Stable tasks and memory after the first sample.
        if len(summary.tasks) >= 3:
            summary.checks["task count stable"] += 1
            if summary.tasks[-1] > summary.tasks[1] + 10:
                summary.violate(f"tasks grew: {summary.tasks}")
        if len(summary.rss_mb) >= 3:
            summary.checks["memory stable"] += 1
            if summary.rss_mb[-1] > summary.rss_mb[1] + 100:
                summary.violate(f"RSS grew: {summary.rss_mb[1]:.0f} → {summary.rss_mb[-1]:.0f} MB")


async def run_soak(hass: HomeAssistant, config: SoakConfig) -> Summary:
    """Run one soak with ``config``; the caller patches nothing, this does it itself."""
    soak = Soak(hass, config)
    original = devices.create_connection
    devices.create_connection = soak._connection_factory()  # type: ignore[assignment]
    try:
        summary = await soak.run()
    finally:
        devices.create_connection = original  # type: ignore[assignment]
        for entry in soak.entries.values():
            if entry.state is ConfigEntryState.LOADED:
                await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        for server in soak.servers.values():
            await server.stop()
    return summary

"""Inputs, settings and outputs of the surplus controller (pure data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ChargeMode(StrEnum):
    """What the user asks for."""

    OFF = "off"
    PV = "pv"  # only surplus: pause when it cannot carry the minimum
    MIN_PV = "min_pv"  # never below the minimum, surplus on top
    FAST = "fast"  # maximum current


class UnknownTagPolicy(StrEnum):
    """What to do with an RFID tag that has no vehicle profile."""

    DEFAULT = "default"  # charge with the default settings
    BLOCK = "block"  # do not charge


class Reason(StrEnum):
    """Why the controller chose its current (shown as a translated enum sensor)."""

    RCM_ALARM = "rcm_alarm"
    RCM_LATCHED = "rcm_latched"
    RCM_STALE = "rcm_stale"
    MODE_OFF = "mode_off"
    NO_VEHICLE = "no_vehicle"
    VEHICLE_BLOCKED = "vehicle_blocked"
    SESSION_LIMIT = "session_limit"
    FAST = "fast"
    INITIAL_PHASE = "initial_phase"
    SITE_STALE = "site_stale"
    WAITING_FOR_SURPLUS = "waiting_for_surplus"
    MIN_OFF_TIME = "min_off_time"
    START_BUDGET = "start_budget"
    STARTING = "starting"
    CHARGING_SURPLUS = "charging_surplus"
    MIN_PV = "min_pv"
    HOLDING_MIN = "holding_min"
    MIN_ON_TIME = "min_on_time"
    STOPPING = "stopping"
    # Grid connection limits (README.md, "Grid connection limits"): they cap the current in
    # every mode and are reported when they are what holds it down.
    FUSE_LIMIT = "fuse_limit"  # the main fuse minus its margin leaves no more on a phase
    GRID_DIMMED = "grid_dimmed"  # §14a EnWG: the grid operator dims the charger
    CURTAILMENT_PROBE = "curtailment_probe"  # the inverter is curtailed: probing upward
    # Departure plans (README.md, "Departure plans").
    PLAN_GRID = "plan_grid"  # a grid slot the plan reserved
    PLAN_CATCH_UP = "plan_catch_up"  # only full power from now on reaches the target
    MIN_SOC = "min_soc"  # below the vehicle's minimum SoC: full power now
    SOC_LIMIT = "soc_limit"  # the vehicle reached its limit SoC


# Reasons for which the controller lowers the current to 0 for safety.
SAFETY_REASONS = frozenset({Reason.RCM_ALARM, Reason.RCM_LATCHED, Reason.RCM_STALE})


def mask_tag(tag: str) -> str:
    """A tag for logs: only its last four characters (it is what starts a charge)."""
    compact = "".join(tag.split())
    return f"…{compact[-4:]}" if len(compact) > 4 else "…"


def normalise_tag(tag: str) -> str:
    """RFID tags compare without spaces and case."""
    return "".join(tag.split()).casefold()


@dataclass(frozen=True, slots=True)
class VehicleProfile:
    """Settings for one vehicle, chosen by its RFID tag (None = use the default)."""

    name: str
    tag: str
    mode: ChargeMode | None = None
    min_current: int | None = None
    max_current: int | None = None
    min_charging_power: float | None = None  # W; overrides min_current × V × phases
    session_energy_limit: float = 0.0  # Wh; 0 = none


@dataclass(frozen=True, slots=True)
class Settings:
    """Every number of the control law (defaults are the documented defaults)."""

    mode: ChargeMode = ChargeMode.PV
    phases: int = 3  # configured phases (until the car's real draw is seen)
    voltage: float = 230.0
    min_current: int = 6
    max_current: int = 16
    min_charging_power: float = 0.0  # W; 0 = min_current × voltage × phases
    # Grid connection (0 = no fuse limit): A per phase of the main fuse and the margin
    # kept below it; while the grid operator dims (§14a EnWG) the car gets at most
    # dimming_power (W, 4.2 kW: the legal minimum a dimmed device keeps).
    fuse_current: float = 0.0
    fuse_margin: float = 2.0
    dimming_power: float = 4200.0
    # W kept flowing into the grid as a margin (negative: that much import is accepted);
    # available power = car power − grid power − grid target + battery term.
    grid_target: float = 0.0
    priority_soc: float = 0.0  # %: below it the home battery keeps its charging power
    support_soc: float = 90.0  # %: above it the battery may help keep a session going
    battery_support_power: float = 1000.0  # W the battery may give to a running session
    start_energy: float = 2.0  # Wh of surplus above the minimum power needed to start
    stop_energy: float = 80.0  # Wh of deficit below the minimum power needed to stop
    min_on_time: float = 120.0  # s
    min_off_time: float = 120.0  # s
    daily_start_budget: int = 20
    hysteresis: float = 100.0  # W of extra surplus before the current is raised
    follow_timeout: float = 30.0  # s after which a change counts as followed anyway
    follow_tolerance: float = 0.5  # A
    settle_time: float = 6.0  # s a car needs to follow a change (delay and ramp)
    stale_timeout: float = 15.0  # s
    refresh_interval: float = 60.0  # s between writes of an unchanged value
    idle_current: int = 0  # A signalled while no vehicle is connected (0 or min..max)
    initial_current: int = 0  # A during the initial phase after plug-in (0 = no phase)
    initial_duration: float = 0.0  # s
    unknown_tag: UnknownTagPolicy = UnknownTagPolicy.DEFAULT
    session_energy_limit: float = 0.0  # Wh for vehicles without a profile; 0 = none
    vehicles: tuple[VehicleProfile, ...] = field(default=())

    def profile_for(self, tag: str | None) -> VehicleProfile | None:
        """The profile of ``tag`` (case-insensitive), if any."""
        if not tag:
            return None
        wanted = normalise_tag(tag)
        for profile in self.vehicles:
            if normalise_tag(profile.tag) == wanted:
                return profile
        return None


@dataclass(frozen=True, slots=True)
class SiteInput:
    """Grid power (+ import) and, with a home battery, its power and SoC."""

    measured_at: datetime
    grid_power: float
    battery_power: float | None = None  # + charging, − discharging
    battery_soc: float | None = None
    pv_power: float | None = None
    # A per phase L1..L3 at the grid connection, car included: + import, − export (a
    # source of magnitudes only counts every phase as import: cautious); None = none.
    phase_currents: tuple[float, float, float] | None = None
    dimmed: bool | None = None  # §14a EnWG dimming signal on (None = no signal linked)
    curtailed: bool | None = None  # the inverter curtails its feed-in (None = unknown)


@dataclass(frozen=True, slots=True)
class WallboxInput:
    """What the wallbox reported in its latest poll."""

    measured_at: datetime
    connected: bool  # IEC state B, C or D
    power: float  # W measured
    currents: tuple[float, float, float]  # A per phase
    current_limit: int | None  # register 1000 as read back
    session_energy: float | None = None  # Wh
    session_duration: float | None = None  # s
    rfid_tag: str | None = None
    device_min_current: int | None = None
    device_max_current: int | None = None  # smallest of operator limit, EV max, ceiling

    @property
    def active_phases(self) -> int:
        """Phases the car draws on (above 0.5 A)."""
        return sum(1 for current in self.currents if current > 0.5)


@dataclass(frozen=True, slots=True)
class RcmInput:
    """Latest residual current monitor state."""

    measured_at: datetime | None
    alarm: bool | None
    link_ok: bool
    detail: str | None = None  # which alarm, e.g. "A: dc" (shown, remembered with the latch)


# The lockout's ``alarm`` when it was latched because the saved state could not be read.
LOCKOUT_STATE_UNREADABLE = "state_unreadable"


@dataclass(frozen=True, slots=True)
class Lockout:
    """The residual current lockout: what the controller must never forget.

    ``latched`` holds charging at 0 A after an alarm until the user acknowledges it and
    the alarm is gone; ``acknowledged`` is an acknowledgement given and not yet used (it
    releases the latch at the first fresh reading without an alarm; a new alarm cancels it).
    """

    latched: bool = False
    since: datetime | None = None
    alarm: str | None = None
    acknowledged: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision: the current to apply and everything the entities show."""

    current: int  # 0 or min..max
    reason: Reason
    write: bool  # True when this current must be written now
    available_power: float | None = None  # W
    min_power: float | None = None  # W the car needs at the minimum current
    power_per_amp: float | None = None
    phases: int | None = None
    countdown: float | None = None  # s until the next start/stop, if one is pending
    start_energy: float = 0.0  # Wh accumulated toward a start
    stop_energy: float = 0.0  # Wh accumulated toward a stop
    vehicle: str | None = None
    mode: ChargeMode | None = None
    starts_today: int = 0
    started: bool = False  # this decision starts a charging period
    stopped: bool = False  # this decision ends one
    overwritten: bool = False  # the wallbox holds another limit than the one written last
    # The grid connection's caps this decision (A; None = no cap), whether or not they are
    # what held the current down: the fuse's room on the car's phases, the §14a cap.
    fuse_cap: int | None = None
    dimming_cap: int | None = None


# -- departure plans (README.md, "Departure plans") -------------------------------------


class PlanStatus(StrEnum):
    """Where a departure plan stands (a translated enum sensor)."""

    NONE = "none"
    WAITING_FOR_SUN = "waiting_for_sun"
    CHARGING_FROM_SUN = "charging_from_sun"
    CHARGING_PLANNED = "charging_planned"
    CHARGING_NOW = "charging_now"
    TARGET_REACHED = "target_reached"
    TARGET_IMPOSSIBLE = "target_impossible"


@dataclass(frozen=True, slots=True)
class Demand:
    """What the vehicle's state of charge and its plan ask of the controller now.

    ``power`` (W) is the least the car must get now whatever the surplus (a reserved grid
    slot, the plan's catch-up, or the minimum SoC): the lowest current that gives it, or
    the surplus's current when that is higher; ``stop`` ends charging at the limit SoC in
    every mode.
    """

    power: float = 0.0
    reason: Reason | None = None
    stop: bool = False

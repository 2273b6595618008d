"""Days for the closed-loop benchmark: built-in scenarios, JSON scenario files, CSV profiles.

A scenario is one simulated day of the site model (`simulator.model.SiteModel`) with a car
plugged in for a window of the day. Everything random (clouds, appliances) comes from the
model's seeded generator, so every strategy sees exactly the same PV and household load.
Days drawn at random from a seed (``random:N``) are in `bench.random_days`.

JSON scenario file (one object or a list of them; every key optional except ``name``)::

    {
      "name": "my_day", "title": "Some day", "seed": 3,
      "pv": {"peak_w": 7000, "sunrise_h": 6, "sunset_h": 20, "clouds_per_h": 10,
             "cloud_duration_s": [20, 300], "cloud_cut": [0.4, 0.8], "cloud_edge_s": 5,
             "cloud_hours": [0, 24]},
      "house": {"base_w": 400,
                "appliances": [{"name": "cooker", "power_w": 3000, "duration_s": [900, 2700],
                                "starts_per_h": 0.2, "hours": [11, 20],
                                "phases": [0.3333, 0.3333, 0.3334]}]},
      "battery": {"capacity_wh": 10000, "max_charge_w": 3000, "max_discharge_w": 3000,
                  "soc_min_pct": 5, "soc_max_pct": 100, "time_constant_s": 2},
      "soc_pct": 40,
      "car": {"phases": 3, "max_current_a": 16, "capacity_kwh": 200, "soc_pct": 10,
              "target_soc_pct": 100, "efficiency": 0.92, "response_delay_s": 2, "ramp_s": 3,
              "taper_soc_pct": null, "taper_min_a": 6, "min_current_a": 6},
      "arrive": "08:00", "leave": "18:00",
      "start": "00:00",
      "profile": "day.csv",
      "mode": "pv", "feed_in_limit_w": null, "meter_interval_s": 1,
      "fuse_current_a": 0, "fuse_margin_a": 2, "stale_timeout_s": null
    }

``pv.cloud_hours`` limits the local hours in which clouds start (afternoon storms).
``car.taper_soc_pct`` (null: off) makes the car take less above that state of charge,
linearly down to ``car.taper_min_a`` per phase at ``target_soc_pct``; a car with
``car.min_current_a`` above 6 refuses smaller offers (see `simulator.car`).

An appliance may also run at fixed times: ``"schedule": [[18.5, 2700]]`` (local start
hour, duration in s; see `simulator.model.Appliance`).

``mode`` is what every strategy charges in: ``pv`` (surplus only, the default), ``min_pv``
or ``fast`` (each baseline in its own equivalent, see `bench.strategies`).
``feed_in_limit_w`` limits the export (the inverter curtails above it; the E3DC's EMS bit 4
tells ours). ``meter_interval_s`` is how often the site values (grid, battery, PV) are
reported: 1 = the PAC2200 and E3DC polled every 2 s as usual; 15 = a slow meter, every
strategy sees the last report, ours decides on each report and on its 5 s tick.
``fuse_current_a`` (0 = none) and ``fuse_margin_a`` are the main fuse per phase and the
margin below it (ours' Fuse and Fuse margin settings; evcc gets a main circuit with
``maxCurrent`` = fuse − margin). ``stale_timeout_s`` replaces ours' Stale data timeout.

``start`` begins the simulation later than midnight (the battery SoC is then the one at
that time); the default simulates the whole day.

``profile`` (a path relative to the JSON file) replaces the PV curve and the household load
(house without the car) by a measured day. CSV profile: header ``t_s,pv_w,house_w``, one row
per sample, ``t_s`` in seconds after local midnight (any spacing; linear interpolation in
between, the first/last value held outside). ``house_w`` must not include the car.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from simulator.car import CarConfig
from simulator.model import (
    DAY_S,
    DEFAULT_APPLIANCES,
    Appliance,
    BatteryConfig,
    HouseProfile,
    PvProfile,
)

HOUR = 3600.0
MODES = ("pv", "min_pv", "fast")


class ScenarioError(ValueError):
    """A scenario file or profile that cannot be used."""


@dataclass(frozen=True, slots=True)
class CarSpec:
    """The car of a scenario (see `simulator.car.CarConfig`)."""

    phases: int = 3
    max_current_a: float = 16.0
    capacity_kwh: float = 200.0  # large: it never gets full unless a scenario says so
    soc_pct: float = 10.0
    target_soc_pct: float = 100.0
    efficiency: float = 0.92
    response_delay_s: float = 2.0
    ramp_s: float = 3.0
    taper_soc_pct: float | None = None  # None: full current until target_soc_pct
    taper_min_a: float = 6.0
    min_current_a: float = 6.0

    def config(self) -> CarConfig:
        """The simulator's car configuration."""
        return CarConfig(
            name="Maria",
            phases=self.phases,
            max_current_a=self.max_current_a,
            capacity_kwh=self.capacity_kwh,
            soc_pct=self.soc_pct,
            target_soc_pct=self.target_soc_pct,
            efficiency=self.efficiency,
            response_delay_s=self.response_delay_s,
            ramp_s=self.ramp_s,
            taper_soc_pct=self.taper_soc_pct,
            taper_min_a=self.taper_min_a,
            min_current_a=self.min_current_a,
        )


@dataclass(frozen=True, slots=True)
class Profile:
    """A measured day: PV and household power for every second of the day."""

    source: str
    pv_w: tuple[float, ...]
    house_w: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Scenario:
    """One simulated day with a car plugged in from `arrive_s` to `leave_s`."""

    name: str
    title: str
    pv: PvProfile = field(default_factory=PvProfile)
    house: HouseProfile = field(default_factory=HouseProfile)
    battery: BatteryConfig = field(default_factory=BatteryConfig)
    soc_pct: float = 50.0  # home battery at midnight
    car: CarSpec = field(default_factory=CarSpec)
    arrive_s: float = 8 * HOUR
    leave_s: float = 18 * HOUR
    seed: int = 1
    profile: Profile | None = None
    start_s: float = 0.0  # simulation start (the day's midnight by default)
    mode: str = "pv"  # "pv", "min_pv" or "fast" for every strategy
    feed_in_limit_w: float | None = None  # W of export the inverter allows (None: no limit)
    meter_interval_s: int = 1  # s between reports of the site values
    fuse_current_a: float = 0.0  # A per phase of the main fuse (0: none)
    fuse_margin_a: float = 2.0  # A kept below the fuse
    stale_timeout_s: float | None = None  # ours' Stale data timeout (None: its default)

    @property
    def has_optimum(self) -> bool:
        """Whether `bench.optimum` bounds this day. It knows no fuse, and a day in Fast or
        Min+PV is not about surplus. A feed-in limit needs no constraint of its own: it
        only removes export, which the objective (import − stored energy) does not count,
        and PV is curtailed only while exporting at the limit, where import is 0 either
        way; so the optimum over the available PV (the bench's PV arrays) is the day's."""
        return self.fuse_current_a <= 0 and self.mode == "pv"

    def __post_init__(self) -> None:
        """Check the window, the car and the grid connection."""
        if self.mode not in MODES:
            raise ScenarioError(f"{self.name}: mode must be one of {', '.join(MODES)}")
        if self.meter_interval_s < 1:
            raise ScenarioError(f"{self.name}: meter_interval_s must be at least 1")
        if self.feed_in_limit_w is not None and self.feed_in_limit_w < 0:
            raise ScenarioError(f"{self.name}: feed_in_limit_w must not be negative")
        if self.fuse_current_a < 0 or self.fuse_margin_a < 0:
            raise ScenarioError(f"{self.name}: fuse values must not be negative")
        if not 0 <= self.start_s <= self.arrive_s < self.leave_s <= DAY_S:
            raise ScenarioError(
                f"{self.name}: need start ≤ arrival < departure within the same day"
            )
        if self.car.phases not in (1, 3):
            raise ScenarioError(f"{self.name}: a car charges on 1 or 3 phases")


FAST_CLOUDS = PvProfile(
    peak_w=9000.0,
    sunrise_h=5.5,
    sunset_h=21.0,
    clouds_per_h=30.0,
    cloud_duration_s=(10.0, 120.0),
    cloud_cut=(0.3, 0.8),
    cloud_edge_s=3.0,
)
CURTAILED_PEAK_W = 6500.0
SLOW_METER_S = 15
SLOW_METER_STALE_S = 30.0
"""Ours' Stale data timeout on the slow-meter day: twice the meter's interval (one late or
missed report does not yet mean stale data)."""


def _summer(name: str = "summer") -> Scenario:
    return Scenario(
        name,
        "Clear summer day",
        pv=PvProfile(peak_w=9000.0, sunrise_h=5.5, sunset_h=21.0),
        soc_pct=50.0,
        seed=1,
    )


BUILTIN: dict[str, Scenario] = {
    s.name: s
    for s in (
        _summer(),
        Scenario(
            "fast_clouds",
            "Summer day with fast passing clouds",
            pv=FAST_CLOUDS,
            soc_pct=50.0,
            seed=2,
        ),
        Scenario(
            "winter",
            "Overcast winter day, heat pump",
            pv=PvProfile(
                peak_w=5500.0,
                sunrise_h=8.0,
                sunset_h=16.5,
                clouds_per_h=8.0,
                cloud_duration_s=(120.0, 900.0),
                cloud_cut=(0.15, 0.5),
                cloud_edge_s=30.0,
            ),
            house=HouseProfile(
                base_w=450.0,
                appliances=(
                    *DEFAULT_APPLIANCES[:2],
                    Appliance("heat_pump", 2800.0, (1800.0, 5400.0), 0.6),
                ),
            ),
            soc_pct=20.0,
            seed=3,
        ),
        Scenario(
            "evening_loads",
            "Afternoon and evening load spikes (cooker, heat pump, kettle)",
            pv=PvProfile(peak_w=8000.0, sunrise_h=5.5, sunset_h=21.0, clouds_per_h=2.0),
            house=HouseProfile(
                base_w=400.0,
                appliances=(
                    Appliance("kettle", 2000.0, (60.0, 240.0), 3.0, (1.0, 0.0, 0.0), (15.0, 21.0)),
                    Appliance("cooker", 3000.0, (600.0, 1800.0), 1.5, hours=(16.0, 20.0)),
                    Appliance("heat_pump", 2200.0, (900.0, 2400.0), 1.0, hours=(14.0, 21.0)),
                ),
            ),
            soc_pct=50.0,
            arrive_s=12 * HOUR,
            leave_s=21 * HOUR,
            seed=4,
        ),
        Scenario(
            "one_phase",
            "1-phase car (16 A) on the 3-phase box, some clouds",
            pv=PvProfile(peak_w=9000.0, sunrise_h=5.5, sunset_h=21.0, clouds_per_h=6.0),
            car=CarSpec(phases=1),
            soc_pct=50.0,
            seed=5,
        ),
        Scenario(
            "empty_battery",
            "Spring morning with an empty home battery",
            pv=PvProfile(peak_w=7000.0, sunrise_h=6.5, sunset_h=19.5),
            soc_pct=5.0,
            seed=6,
        ),
        Scenario(
            "meter_15s",
            "fast_clouds with a meter that reports every 15 s",
            pv=FAST_CLOUDS,
            soc_pct=50.0,
            seed=2,
            meter_interval_s=SLOW_METER_S,
            stale_timeout_s=SLOW_METER_STALE_S,
        ),
        Scenario(
            "curtailed",
            "6.5 kW PV, feed-in limit 60 % (3.9 kW), battery full",
            pv=PvProfile(peak_w=CURTAILED_PEAK_W, sunrise_h=6.0, sunset_h=20.0),
            soc_pct=75.0,
            arrive_s=11 * HOUR,
            leave_s=18 * HOUR,
            seed=7,
            feed_in_limit_w=0.6 * CURTAILED_PEAK_W,
        ),
        Scenario(
            "fuse_evening",
            "Fast on a 25 A fuse: heat pump, kettle on L1, cooker",
            pv=PvProfile(peak_w=3000.0, sunrise_h=8.0, sunset_h=16.5),
            house=HouseProfile(
                base_w=400.0,
                appliances=(
                    Appliance("heat_pump", 3000.0, (0.0, 0.0), 0.0, schedule=((17.5, 9000.0),)),
                    Appliance(
                        "kettle",
                        2000.0,
                        (0.0, 0.0),
                        0.0,
                        (1.0, 0.0, 0.0),
                        schedule=((18.0, 180.0),),
                    ),
                    Appliance(
                        "cooker",
                        5000.0,
                        (0.0, 0.0),
                        0.0,
                        (0.4, 0.35, 0.25),
                        schedule=((18.5, 2700.0),),
                    ),
                ),
            ),
            soc_pct=5.0,
            start_s=16 * HOUR,
            arrive_s=17 * HOUR,
            leave_s=22 * HOUR,
            seed=8,
            mode="fast",
            fuse_current_a=25.0,
            fuse_margin_a=2.0,
        ),
    )
}
"""The built-in days (`--scenario NAME`)."""


# -- CSV profiles ---------------------------------------------------------------------------


def load_profile(path: Path) -> Profile:
    """Read a ``t_s,pv_w,house_w`` CSV file and resample it to one value per second."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"t_s", "pv_w", "house_w"} - set(reader.fieldnames or ())
            if missing:
                raise ScenarioError(f"{path}: missing columns {', '.join(sorted(missing))}")
            rows = [
                (float(row["t_s"]), float(row["pv_w"]), float(row["house_w"])) for row in reader
            ]
    except OSError as err:
        raise ScenarioError(f"{path}: {err}") from err
    except (TypeError, ValueError) as err:
        raise ScenarioError(f"{path}: {err}") from err
    if not rows:
        raise ScenarioError(f"{path}: no rows")
    if any(not all(math.isfinite(v) for v in row) for row in rows):
        raise ScenarioError(f"{path}: values must be finite numbers")
    rows.sort()
    seconds = int(DAY_S) + 1
    pv = _resample([(t, p) for t, p, _ in rows], seconds)
    house = _resample([(t, h) for t, _, h in rows], seconds)
    return Profile(str(path), tuple(max(0.0, v) for v in pv), tuple(max(0.0, v) for v in house))


def _resample(points: list[tuple[float, float]], seconds: int) -> list[float]:
    """Linear interpolation at 0, 1, … seconds; the end values are held outside."""
    out: list[float] = []
    i = 0
    last = len(points) - 1
    for second in range(seconds):
        t = float(second)
        while i < last and points[i + 1][0] <= t:
            i += 1
        t0, v0 = points[i]
        if t <= t0 or i == last:
            out.append(v0)
            continue
        t1, v1 = points[i + 1]
        out.append(v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v1)
    return out


def profile_scenario(path: Path) -> Scenario:
    """A day driven by a CSV profile, everything else at the defaults."""
    return Scenario(path.stem, f"Profile {path.name}", profile=load_profile(path))


# -- JSON scenario files -----------------------------------------------------------------


def load_scenarios(path: Path) -> list[Scenario]:
    """Scenarios from a JSON file (one object or a list of objects)."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ScenarioError(f"{path}: {err}") from err
    items = data if isinstance(data, list) else [data]
    return [scenario_from_dict(item, base=path.parent) for item in items]


def scenario_from_dict(data: Any, *, base: Path = Path()) -> Scenario:
    """Build a scenario from parsed JSON (see the module docstring)."""
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise ScenarioError("a scenario is an object with at least a 'name'")
    known = {
        "name",
        "title",
        "seed",
        "pv",
        "house",
        "battery",
        "soc_pct",
        "car",
        "arrive",
        "leave",
        "start",
        "profile",
        "mode",
        "feed_in_limit_w",
        "meter_interval_s",
        "fuse_current_a",
        "fuse_margin_a",
        "stale_timeout_s",
    }
    name: str = data["name"]
    unknown = set(data) - known
    if unknown:
        raise ScenarioError(f"{name}: unknown keys {', '.join(sorted(unknown))}")
    try:
        house = HouseProfile()
        if "house" in data:
            house_data = dict(_object(data["house"], "house"))
            appliances = house_data.pop("appliances", None)
            house = _build(HouseProfile, house_data, "house")
            if appliances is not None:
                if not isinstance(appliances, list):
                    raise ScenarioError("house.appliances must be a list")
                house = replace(
                    house, appliances=tuple(_appliance(_object(a, "appliance")) for a in appliances)
                )
        profile = None
        if "profile" in data:
            profile = load_profile(base / str(data["profile"]))
        return Scenario(
            name,
            str(data.get("title", name)),
            pv=_build(PvProfile, _object(data.get("pv", {}), "pv"), "pv"),
            house=house,
            battery=_build(BatteryConfig, _object(data.get("battery", {}), "battery"), "battery"),
            soc_pct=float(data.get("soc_pct", 50.0)),
            car=_build(CarSpec, _object(data.get("car", {}), "car"), "car"),
            arrive_s=_clock(data.get("arrive", "08:00")),
            leave_s=_clock(data.get("leave", "18:00")),
            seed=int(data.get("seed", 1)),
            profile=profile,
            start_s=_clock(data.get("start", 0)),
            mode=str(data.get("mode", "pv")),
            feed_in_limit_w=_optional_float(data.get("feed_in_limit_w")),
            meter_interval_s=int(data.get("meter_interval_s", 1)),
            fuse_current_a=float(data.get("fuse_current_a", 0.0)),
            fuse_margin_a=float(data.get("fuse_margin_a", 2.0)),
            stale_timeout_s=_optional_float(data.get("stale_timeout_s")),
        )
    except (TypeError, ValueError) as err:
        if isinstance(err, ScenarioError):
            raise
        raise ScenarioError(f"{name}: {err}") from err


def _appliance(values: dict[str, Any]) -> Appliance:
    """An appliance; its ``schedule`` is a list of [start hour, duration s] pairs."""
    schedule = values.get("schedule", [])
    if not isinstance(schedule, list) or not all(
        isinstance(run, list) and len(run) == 2 for run in schedule
    ):
        raise ScenarioError("appliance.schedule must be a list of [start hour, duration s]")
    runs = tuple((float(start), float(duration)) for start, duration in schedule)
    return replace(_build(Appliance, {**values, "schedule": []}, "appliance"), schedule=runs)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioError(f"{what} must be an object")
    return value


def _build[T](cls: type[T], values: dict[str, Any], what: str) -> T:
    """``cls(**values)`` with lists turned into tuples and unknown keys rejected."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(values) - names
    if unknown:
        raise ScenarioError(f"{what}: unknown keys {', '.join(sorted(unknown))}")
    converted = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**converted)


def _clock(value: Any) -> float:
    """``"HH:MM"`` (or seconds after midnight as a number) → seconds after midnight."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    hours, sep, minutes = str(value).partition(":")
    if sep and hours.isdigit() and minutes.isdigit() and int(minutes) < 60:
        seconds = int(hours) * HOUR + int(minutes) * 60.0
        if seconds <= DAY_S:
            return seconds
    raise ScenarioError(f"expected HH:MM, got {value!r}")

"""What the demo starts: ports, the scripted timeline, simulator arguments, HA configuration."""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

HOST = "127.0.0.1"
DOMAIN = "solar_wallbox"
DASHBOARD_URL_PATH = "solar-wallbox"
DASHBOARD_FILENAME = "solar_wallbox_dashboard.yaml"
"""Name of the dashboard in the configuration directory (written from `DASHBOARDS`)."""
DASHBOARDS = {"en": "dashboard.yaml", "de": "dashboard.de.yaml"}
"""Home Assistant's system language → the dashboard in demo/ for its entity ids and texts."""
HISTORY_HOURS = 0.2
"""What the demo's history graphs span (12 minutes): a few minutes of the demo fill them."""

SCENARIO = "clouds"
VEHICLE_NAME = "Maria"
CAR_TAG = "04A1B2C3D4E5F6"
# The main fuse the demo sets in the grid connection options (A per phase): a small one, as
# in many older flats, so that the simulated cooker (simulator/loads.py) next to the car at
# full power brings L1 close to it.
DEMO_FUSE_A = 25

DEVICES: tuple[tuple[str, int, int], ...] = (
    ("e3dc", 0, 1),
    ("pac2200", 2, 1),
    ("dctr", 3, 1),
    ("amtron", 1, 255),
)
"""Devices in the order they are added: flow step / simulator option, port offset, unit id."""


@dataclass(frozen=True)
class Ports:
    """TCP ports on 127.0.0.1: Home Assistant, and the devices on base .. base + 3."""

    hass: int = 8123
    device_base: int = 5020

    def device(self, name: str) -> int:
        """Port of a device of `DEVICES`."""
        offsets = {device: offset for device, offset, _ in DEVICES}
        return self.device_base + offsets[name]

    def devices(self) -> list[int]:
        """The device ports."""
        return [self.device(name) for name, _, _ in DEVICES]

    def all(self) -> list[int]:
        """Every port the demo listens on."""
        return [self.hass, *self.devices()]


@dataclass(frozen=True)
class Timeline:
    """Simulated times of day (seconds after midnight) of the scripted events."""

    start_s: float
    car_arrives_s: float
    rcm_s: float
    rcm_duration_s: float
    cooker_s: float
    cooker_duration_s: float

    def real_offset_s(self, clock_s: float, speed: float) -> float:
        """Real seconds after the simulator's start at which it reaches `clock_s`."""
        return ((clock_s - self.start_s) % 86400.0) / speed


def parse_clock(text: str) -> float:
    """``HH:MM`` → seconds after midnight."""
    hours, sep, minutes = text.partition(":")
    if sep and hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60:
        return int(hours) * 3600.0 + int(minutes) * 60.0
    raise argparse.ArgumentTypeError(f"expected HH:MM, got {text!r}")


def format_clock(seconds: float) -> str:
    """Seconds after midnight (of any day) → ``HH:MM``."""
    minutes = int(seconds // 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_clock_s(seconds: float) -> str:
    """Seconds after midnight → ``HH:MM:SS`` (the simulator's exact start)."""
    whole = int(seconds) % 86400
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def demo_clock(wanted_s: float, now: datetime) -> tuple[str, float]:
    """A time zone in which it is about ``wanted_s`` (a time of day) at ``now``, and the
    exact time of day there.

    The demo's Home Assistant runs in that zone and the simulated site starts at that time,
    so at the default real-time speed the charger's clock (session start, duration), the
    controller's timers and Home Assistant's clock agree, whatever time it is here.
    """
    utc = now.astimezone(UTC)
    utc_s = utc.hour * 3600 + utc.minute * 60 + utc.second
    offset_h = round((wanted_s - utc_s) / 3600)
    offset_h = (offset_h + 12) % 24 - 12  # -12..+11 hours
    # POSIX-style names: Etc/GMT-2 is two hours ahead of UTC.
    zone = "UTC" if offset_h == 0 else f"Etc/GMT{-offset_h:+d}"
    return zone, float((utc_s + offset_h * 3600) % 86400)


def make_timeline(
    start_s: float,
    speed: float,
    car_after_s: float,
    rcm_after_s: float,
    rcm_for_s: float,
    cooker_after_s: float,
    cooker_for_s: float,
) -> Timeline:
    """The car `car_after_s`, the RCM episode `rcm_after_s` and the cooker `cooker_after_s`
    real seconds after the start.

    Each is rounded up to whole simulated minutes (the simulator takes ``HH:MM``), at
    least one minute after the start; the RCM episode lasts `rcm_for_s` real seconds, the
    cooker `cooker_for_s`.
    """

    def after(real_s: float) -> float:
        return start_s + max(1, math.ceil(real_s * speed / 60.0)) * 60.0

    return Timeline(
        start_s=start_s,
        car_arrives_s=after(car_after_s),
        rcm_s=after(rcm_after_s),
        rcm_duration_s=max(1.0, round(rcm_for_s * speed)),
        cooker_s=after(cooker_after_s),
        cooker_duration_s=max(1.0, round(cooker_for_s * speed)),
    )


def simulator_args(ports: Ports, timeline: Timeline, speed: float) -> list[str]:
    """Arguments of ``python -m simulator`` for the demo site."""
    args = [
        f"--scenario={SCENARIO}",
        f"--speed={speed:g}",
        f"--start={format_clock_s(timeline.start_s)}",
        f"--car-arrives={format_clock(timeline.car_arrives_s)}",
        f"--car-tag={CAR_TAG}",
        f"--rcm-episode={format_clock(timeline.rcm_s)}+{timeline.rcm_duration_s:g}",
        f"--cooker={format_clock(timeline.cooker_s)}+{timeline.cooker_duration_s:g}",
        "--status-interval=30",
    ]
    args += [f"--{name}={HOST}:{ports.device(name)}" for name, _, _ in DEVICES]
    return args


CONFIGURATION_YAML = """\
# Written by scripts/demo on every start; edits are lost.
homeassistant:
  name: Solar Wallbox demo
  latitude: 49.0
  longitude: 8.4
  elevation: 115
  unit_system: metric
  currency: EUR
  country: DE
  language: {language}
  time_zone: {time_zone}
  auth_providers:
    # A browser on this machine is logged in without a password (there is one user).
    - type: trusted_networks
      trusted_networks:
        - 127.0.0.1/32
        - ::1/128
      allow_bypass_login: true
    - type: homeassistant

http:
  server_host: {host}
  server_port: {port}

# Not default_config: it also loads go2rtc and other integrations that need system
# binaries a machine may lack (as in scripts/develop).
frontend:
config:
energy:
history:
logbook:
recorder:
  purge_keep_days: 1
automation:
script:

lovelace:
  dashboards:
    {url_path}:
      mode: yaml
      filename: {filename}
      title: Solar Wallbox
      icon: mdi:ev-station
      show_in_sidebar: true

logger:
  default: warning
  logs:
    custom_components.solar_wallbox: info
"""


# A simulated day-ahead price for departure plans (README.md, "Departure plans"): 36 hours
# from the current hour in the EPEX Spot sensor's shape (a ``data`` list), cheap at night
# and at midday, dear in the morning and evening (€/kWh by local hour).
DEMO_PRICE_SENSOR = "sensor.demo_day_ahead_price"
DEMO_PRICES = (
    *(0.24, 0.21, 0.19, 0.18, 0.18, 0.19, 0.24, 0.34, 0.38, 0.31, 0.24, 0.20),
    *(0.19, 0.20, 0.23, 0.27, 0.32, 0.38, 0.40, 0.36, 0.31, 0.28, 0.26, 0.25),
)
DEMO_PLAN_ENERGY_KWH = 6.0  # the one-off plan the demo sets: this much by the departure
DEMO_PLAN_HOURS = 3.0  # … this many hours after the demo starts
PRICE_TEMPLATE_YAML = """\
template:
  - sensor:
      - name: Demo day-ahead price
        unique_id: demo_day_ahead_price
        unit_of_measurement: "€/kWh"
        state: "{% set prices = PRICES %}{{ prices[now().hour] }}"
        attributes:
          data: >-
            {% set prices = PRICES %}
            {% set start = now().replace(minute=0, second=0, microsecond=0) %}
            {% set ns = namespace(items=[]) %}
            {% for h in range(36) %}
            {% set t = start + timedelta(hours=h) %}
            {% set ns.items = ns.items + [{"start_time": t.isoformat(),
                "end_time": (t + timedelta(hours=1)).isoformat(),
                "price_per_kwh": prices[t.hour]}] %}
            {% endfor %}
            {{ ns.items }}
"""


def configuration_yaml(ports: Ports, time_zone: str, language: str = "en") -> str:
    """``configuration.yaml`` of the demo instance (`language`: the system language)."""
    core = CONFIGURATION_YAML.format(
        language=language,
        time_zone=time_zone,
        host=HOST,
        port=ports.hass,
        url_path=DASHBOARD_URL_PATH,
        filename=DASHBOARD_FILENAME,
    )
    return core + PRICE_TEMPLATE_YAML.replace("PRICES", str(list(DEMO_PRICES)))


def onboarding_storage() -> dict[str, Any]:
    """``.storage/onboarding`` with every step but the user's done.

    Creating the owner through the onboarding API then completes onboarding, so the
    frontend shows no wizard (and the core config step does not start the integrations
    Home Assistant suggests for new installations).
    """
    return {
        "version": 4,
        "minor_version": 1,
        "key": "onboarding",
        "data": {"done": ["core_config", "analytics", "integration"]},
    }


_HOURS_TO_SHOW = re.compile(r"^(\s*hours_to_show:)\s*[0-9.]+\s*$", re.MULTILINE)


def demo_dashboard(text: str, hours: float = HISTORY_HOURS) -> str:
    """A dashboard's YAML with every ``hours_to_show`` set to `hours` (the rest unchanged).

    The committed dashboards show the last hour, as suits an installation that runs for
    days; the demo's copy spans what a visitor has watched, so the first minutes fill the
    graphs instead of a sliver at their right edge.
    """
    written, count = _HOURS_TO_SHOW.subn(lambda m: f"{m.group(1)} {hours:g}", text)
    if not count:
        raise ValueError("the dashboard has no hours_to_show")
    return written


def frontend_language(language: str) -> dict[str, str]:
    """The owner's profile setting "language" (frontend user data) for `language`.

    The frontend otherwise follows the browser's language; the other fields are the
    frontend's defaults.
    """
    return {
        "language": language,
        "number_format": "language",
        "time_format": "language",
        "date_format": "language",
        "time_zone": "local",
        "first_weekday": "language",
    }

"""Start the simulated site and a configured Home Assistant; ``--check`` smoke-tests both.

Everything listens on 127.0.0.1 only. Home Assistant gets a fresh configuration directory
``.demo/config`` on every run: trusted networks (127.0.0.1, ::1) with bypass login, so a
browser on this machine is logged in without a password, and the committed dashboard of its
language (``demo/dashboard.yaml``, ``demo/dashboard.de.yaml``; the history graphs shortened,
see `demo_dashboard`) as a YAML-mode dashboard. The owner user is created through the
onboarding API (the other onboarding steps are marked done in the seeded storage), then the
four devices and surplus charging are set up through the config and options flows the UI
uses. Both children run in process groups of their own; every way out of `main` stops them
(SIGTERM, then SIGKILL), and on Linux they get SIGTERM as well should the launcher die.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from . import checks
from .checks import States
from .config import (
    CAR_TAG,
    DASHBOARD_FILENAME,
    DASHBOARD_URL_PATH,
    DASHBOARDS,
    DEMO_FUSE_A,
    DEMO_PLAN_ENERGY_KWH,
    DEMO_PLAN_HOURS,
    DEMO_PRICE_SENSOR,
    DEVICES,
    DOMAIN,
    HOST,
    SCENARIO,
    VEHICLE_NAME,
    Ports,
    Timeline,
    configuration_yaml,
    demo_clock,
    demo_dashboard,
    format_clock,
    frontend_language,
    make_timeline,
    onboarding_storage,
    parse_clock,
    simulator_args,
)

REPO = Path(__file__).resolve().parent.parent
DEMO_DIR = REPO / ".demo"
CONFIG_DIR = DEMO_DIR / "config"

USERNAME = "demo"
PASSWORD = "demo"  # noqa: S105 - loopback-only demo; printed for a manual login

CHECK_TIMELINE = (20.0, 120.0, 20.0, 120.0, 300.0)
"""--check: the car once surplus charging is on (about 12 s on a laptop), the RCM episode
well after charging started (20–70 s after plug-in: the start energy has to accumulate),
in real seconds after the start, and the episode's duration (real s); the cooker from the
RCM episode on, for as long as the check's steps after it may take (Fast mode once the
alarm is acknowledged: the fuse holds the car down)."""
DEMO_TIMELINE = (60.0, 300.0, 30.0, 180.0, 60.0)
"""Interactive: the car after a minute, the cooker (with Fast mode) for a minute after three,
the RCM alarm after five."""


class DemoError(Exception):
    """The demo cannot go on; the message says why."""


class Stop(Exception):
    """SIGINT, SIGTERM or SIGHUP arrived."""


# Processes ----------------------------------------------------------------------------


def busy_ports(ports: list[int]) -> list[int]:
    """Ports on 127.0.0.1 that something listens on, or that cannot be bound."""
    busy = []
    for port in ports:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex((HOST, port)) == 0:
                busy.append(port)
                continue
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, port))
            except OSError:
                busy.append(port)
    return busy


def listening(ports: list[int]) -> bool:
    """Whether every port on 127.0.0.1 accepts a connection."""
    for port in ports:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex((HOST, port)) != 0:
                return False
    return True


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the launcher dies, even by SIGKILL."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Child:
    """A started process, leader of its own process group."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.monotonic)

    def running(self) -> bool:
        """Whether the leader still runs."""
        return self.process.poll() is None

    def stop(self, timeout: float) -> None:
        """SIGTERM the group, SIGKILL what is left after `timeout` s; reap the leader."""
        pgid = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"  {self.name} did not stop within {timeout:.0f} s: killing it", flush=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self.process.wait()

    def tail(self, lines: int = 30) -> str:
        """The end of its log."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def start_child(name: str, args: list[str], log: Path) -> Child:
    """Start `args` in a new process group (session), output to `log`."""
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            args,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
    return Child(name, process, log)


def wait_for(what: str, probe: Callable[[], bool], timeout: float, interval: float = 0.5) -> None:
    """Call `probe` until it returns True; DemoError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# Home Assistant API -------------------------------------------------------------------


@dataclass
class Api:
    """Minimal REST (and one-shot websocket) client of the demo instance."""

    base: str
    token: str | None = None
    refresh_token: str | None = None

    @property
    def client_id(self) -> str:
        """Client id of the tokens: the instance's own URL, like the frontend's."""
        return f"{self.base}/"

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        form: dict[str, str] | None = None,
        auth: bool = True,
        timeout: float = 30.0,
        raw: bool = False,
    ) -> Any:
        """One request: JSON in and out (`raw`: the text). HTTP errors raise DemoError."""
        for attempt in range(2):
            headers = {}
            data = None
            if form is not None:
                data = urllib.parse.urlencode(form).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            elif body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            if auth and self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
                self.base + path, data=data, headers=headers, method=method
            )
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                    text: str = response.read().decode()
            except urllib.error.HTTPError as err:
                if err.code == 401 and auth and self.refresh_token and attempt == 0:
                    self.refresh()  # access tokens expire after 30 minutes
                    continue
                detail = err.read().decode(errors="replace")[:500]
                raise DemoError(f"{method} {path}: HTTP {err.code} {detail}") from None
            return text if raw or not text else json.loads(text)
        raise AssertionError("unreachable")

    def reachable(self, path: str) -> bool:
        """Whether `path` answers with a success (no authentication)."""
        try:
            self.request("GET", path, auth=False, timeout=3, raw=True)
        except (DemoError, OSError):
            return False
        return True

    def _token(self, form: dict[str, str]) -> dict[str, Any]:
        tokens: dict[str, Any] = self.request(
            "POST", "/auth/token", form={**form, "client_id": self.client_id}, auth=False
        )
        return tokens

    def login(self, auth_code: str) -> None:
        """Exchange an authorization code for tokens."""
        tokens = self._token({"grant_type": "authorization_code", "code": auth_code})
        self.token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]

    def refresh(self) -> None:
        """A new access token."""
        assert self.refresh_token is not None
        tokens = self._token({"grant_type": "refresh_token", "refresh_token": self.refresh_token})
        self.token = tokens["access_token"]

    def states(self) -> dict[str, dict[str, Any]]:
        """entity id → state object."""
        return {state["entity_id"]: state for state in self.request("GET", "/api/states")}

    def service(self, domain: str, service: str, data: dict[str, Any]) -> None:
        """Call a service."""
        self.request("POST", f"/api/services/{domain}/{service}", data)

    def flow(self, kind: str, flow_id: str | None, data: dict[str, Any]) -> dict[str, Any]:
        """Start (`flow_id` None) or continue a config (`kind` "") or options ("options/") flow."""
        path = f"/api/config/config_entries/{kind}flow"
        result: dict[str, Any] = self.request(
            "POST", f"{path}/{flow_id}" if flow_id else path, data
        )
        return result

    async def _ws_command(self, command: dict[str, Any]) -> Any:
        import aiohttp  # noqa: PLC0415 - Home Assistant's dependency, needed only here

        url = self.base.replace("http://", "ws://", 1) + "/api/websocket"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            if (reply := await ws.receive_json())["type"] != "auth_ok":
                raise DemoError(f"websocket authentication failed: {reply}")
            await ws.send_json({"id": 1, **command})
            reply = await ws.receive_json()
        if not reply.get("success"):
            raise DemoError(f"websocket {command['type']}: {reply.get('error')}")
        return reply["result"]

    def ws_command(self, command: dict[str, Any]) -> Any:
        """One websocket command; its result."""
        return asyncio.run(asyncio.wait_for(self._ws_command(command), 30))


# The demo -----------------------------------------------------------------------------


@dataclass
class Demo:
    """One run: the children, the API client, the check's failures."""

    ports: Ports
    speed: float
    timeline: Timeline
    time_zone: str
    language: str = "en"
    children: list[Child] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    t0: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        """The API client of the instance about to start."""
        self.api = Api(f"http://{HOST}:{self.ports.hass}")

    def entity(self, english: str) -> str:
        """The entity id in the demo's language of an English one of `checks`."""
        return checks.localized(english, self.language)

    def states(self) -> dict[str, Any]:
        """The states keyed by the English entity ids of `checks` (see `checks.in_english`)."""
        return checks.in_english(self.api.states(), self.language)

    def say(self, text: str) -> None:
        """A progress line with the time since the start."""
        print(f"[{time.monotonic() - self.t0:5.1f} s] {text}", flush=True)

    def alive(self) -> bool:
        """True while every child runs; DemoError with the end of its log if one exited."""
        for child in self.children:
            if not child.running():
                raise DemoError(
                    f"{child.name} exited with status {child.process.returncode}; "
                    f"the end of {child.log.relative_to(REPO)}:\n{child.tail()}"
                )
        return True

    def prepare(self) -> None:
        """A fresh ``.demo/config`` with the integration, the dashboard and onboarding."""
        if DEMO_DIR.exists():
            shutil.rmtree(DEMO_DIR)
        (CONFIG_DIR / "custom_components").mkdir(parents=True)
        (CONFIG_DIR / ".storage").mkdir()
        (CONFIG_DIR / "custom_components" / DOMAIN).symlink_to(REPO / "custom_components" / DOMAIN)
        dashboard = (REPO / "demo" / DASHBOARDS[self.language]).read_text(encoding="utf-8")
        (CONFIG_DIR / DASHBOARD_FILENAME).write_text(demo_dashboard(dashboard), encoding="utf-8")
        (CONFIG_DIR / "configuration.yaml").write_text(
            configuration_yaml(self.ports, self.time_zone, self.language), encoding="utf-8"
        )
        (CONFIG_DIR / ".storage" / "onboarding").write_text(
            json.dumps(onboarding_storage(), indent=2), encoding="utf-8"
        )

    def start(self) -> None:
        """The simulator first (the config flows need the devices), then Home Assistant."""
        timeline = self.timeline
        sim = [sys.executable, "-m", "simulator", *simulator_args(self.ports, timeline, self.speed)]
        self.children.append(start_child("simulator", sim, DEMO_DIR / "simulator.log"))
        self.say(
            f"simulator: {SCENARIO} day from {format_clock(timeline.start_s)} at "
            f"{self.speed:g}x; car ({VEHICLE_NAME}) at {format_clock(timeline.car_arrives_s)}, "
            f"RCM alarm at {format_clock(timeline.rcm_s)} for {timeline.rcm_duration_s:g} s, "
            f"cooker at {format_clock(timeline.cooker_s)} for {timeline.cooker_duration_s:g} s"
        )
        hass = [sys.executable, "-m", "homeassistant", "--config", str(CONFIG_DIR)]
        self.children.append(start_child("Home Assistant", hass, DEMO_DIR / "hass.log"))
        self.say(f"Home Assistant starting, language {self.language} (log: .demo/hass.log)")
        devices = self.ports.devices()
        wait_for("the simulated devices", lambda: self.alive() and listening(devices), 30, 0.2)

    def onboard(self) -> None:
        """Create the owner through onboarding (which completes it) and log in."""
        api = self.api
        wait_for("Home Assistant", lambda: self.alive() and api.reachable("/api/onboarding"), 180)
        owner = {
            "name": "Demo",
            "username": USERNAME,
            "password": PASSWORD,
            "language": self.language,
        }
        reply = api.request(
            "POST", "/api/onboarding/users", {**owner, "client_id": api.client_id}, auth=False
        )
        api.login(reply["auth_code"])
        # The owner's profile language, so the frontend does not follow the browser's.
        language = frontend_language(self.language)
        api.ws_command({"type": "frontend/set_user_data", "key": "language", "value": language})
        steps = api.request("GET", "/api/onboarding", auth=False)
        if not all(step["done"] for step in steps):
            raise DemoError(f"onboarding not complete: {steps}")
        wait_for(
            "Home Assistant to finish starting",
            lambda: self.alive() and api.request("GET", "/api/config")["state"] == "RUNNING",
            180,
        )
        self.say("Home Assistant running, owner created, onboarding complete")

    def configure(self) -> None:
        """Add the devices, link them for surplus charging, add Maria, switch it on."""
        api = self.api
        entries: dict[str, str] = {}
        for name, _, unit in DEVICES:
            flow_id = api.flow("", None, {"handler": DOMAIN})["flow_id"]
            api.flow("", flow_id, {"next_step_id": name})
            address = {"host": HOST, "port": self.ports.device(name), "unit_id": unit}
            result = api.flow("", flow_id, address)
            if result.get("type") != "create_entry":
                raise DemoError(f"adding the {name} failed: {result}")
            entries[name] = result["result"]["entry_id"]
            self.say(f"added {result['title']} ({HOST}:{self.ports.device(name)})")

        flow_id = api.flow("options/", None, {"handler": entries["amtron"]})["flow_id"]
        form = api.flow("options/", flow_id, {"next_step_id": "surplus"})
        surplus = {f["name"]: f["default"] for f in form["data_schema"] if "default" in f}
        surplus |= {
            "grid_entry": entries["pac2200"],
            "battery_entry": entries["e3dc"],
            "rcm_entry": entries["dctr"],
        }
        # The other pages (the car, starting and stopping) as they come.
        result = api.flow("options/", flow_id, surplus)
        for _page in range(5):
            if result.get("type") != "form":
                break
            fields = result.get("data_schema", [])
            page = {f["name"]: f["default"] for f in fields if "default" in f}
            result = api.flow("options/", flow_id, page)
        if result.get("type") != "create_entry":
            raise DemoError(f"the surplus charging options failed: {result}")

        # The grid connection: the demo's main fuse (the PAC2200 gives the phase currents).
        flow_id = api.flow("options/", None, {"handler": entries["amtron"]})["flow_id"]
        form = api.flow("options/", flow_id, {"next_step_id": "grid_connection"})
        grid = {f["name"]: f["default"] for f in form["data_schema"] if "default" in f}
        grid |= {"fuse_current": DEMO_FUSE_A}
        if (result := api.flow("options/", flow_id, grid)).get("type") != "create_entry":
            raise DemoError(f"the grid connection options failed: {result}")

        # Departure plans: the vehicle page as it comes, the demo's price sensor.
        flow_id = api.flow("options/", None, {"handler": entries["amtron"]})["flow_id"]
        form = api.flow("options/", flow_id, {"next_step_id": "vehicle_battery"})
        page = {f["name"]: f["default"] for f in form["data_schema"] if "default" in f}
        form = api.flow("options/", flow_id, page)
        page = {f["name"]: f["default"] for f in form.get("data_schema", []) if "default" in f}
        page |= {"price_entity": DEMO_PRICE_SENSOR}
        if (result := api.flow("options/", flow_id, page)).get("type") != "create_entry":
            raise DemoError(f"the departure plan options failed: {result}")

        flow_id = api.flow("options/", None, {"handler": entries["amtron"]})["flow_id"]
        api.flow("options/", flow_id, {"next_step_id": "add_vehicle"})
        vehicle = {"name": VEHICLE_NAME, "tag": CAR_TAG}
        if (result := api.flow("options/", flow_id, vehicle)).get("type") != "create_entry":
            raise DemoError(f"adding the vehicle failed: {result}")

        def reloaded() -> bool:
            # Saving options reloads the wallbox entry: wait until it and its switch are back.
            path = f"/api/config/config_entries/entry?domain={DOMAIN}"
            loaded = [e for e in api.request("GET", path) if e["state"] == "loaded"]
            switch = self.states().get(checks.SURPLUS_SWITCH, {}).get("state")
            return self.alive() and len(loaded) == len(DEVICES) and switch in {"on", "off"}

        wait_for("the wallbox to reload", reloaded, 60)

        switch = self.entity(checks.SURPLUS_SWITCH)

        def switched_on() -> bool:
            if self.states()[checks.SURPLUS_SWITCH]["state"] == "on":
                return True
            api.service("switch", "turn_on", {"entity_id": switch})
            return False

        wait_for(f"{switch} to turn on", switched_on, 30, 1)
        # A one-off departure plan: DEMO_PLAN_ENERGY_KWH within DEMO_PLAN_HOURS.
        departure = datetime.now(UTC) + timedelta(hours=DEMO_PLAN_HOURS)
        api.service(
            "number",
            "set_value",
            {"entity_id": self.entity(checks.PLAN_ENERGY), "value": DEMO_PLAN_ENERGY_KWH},
        )
        api.service(
            "datetime",
            "set_value",
            {"entity_id": self.entity(checks.DEPARTURE), "datetime": departure.isoformat()},
        )
        self.say(
            f"departure plan: {DEMO_PLAN_ENERGY_KWH:g} kWh by "
            f"{departure.astimezone().strftime('%H:%M')}, prices from {DEMO_PRICE_SENSOR}"
        )
        self.say(
            "surplus charging on: grid meter PAC2200, home battery E3DC, RCM interlock DCTR, "
            f"vehicle {VEHICLE_NAME} (tag {CAR_TAG})"
        )

    def dashboard(self) -> dict[str, Any]:
        """The dashboard as Home Assistant loads it (DemoError if it cannot)."""
        config: dict[str, Any] = self.api.ws_command(
            {"type": "lovelace/config", "url_path": DASHBOARD_URL_PATH, "force": True}
        )
        return config

    def real_s_until(self, clock_s: float) -> float:
        """Real seconds from now until the simulator reaches a time of day (0 if past)."""
        started = self.children[0].started if self.children else time.monotonic()
        at = started + self.timeline.real_offset_s(clock_s, self.speed)
        return max(0.0, at - time.monotonic())

    # --check ----------------------------------------------------------------------------

    def expect(self, what: str, problems: Callable[[States], list[str]], timeout: float) -> bool:
        """Poll the states until `problems` finds none; on timeout record what it found."""
        deadline = time.monotonic() + timeout
        while True:
            self.alive()
            found = [checks.localized_text(p, self.language) for p in problems(self.states())]
            if not found:
                self.say(f"ok: {what}")
                return True
            if time.monotonic() > deadline:
                self.failures += [f"{what}: {problem}" for problem in found]
                self.say(f"FAILED after {timeout:.0f} s: {what}")
                return False
            time.sleep(1)

    def run_check(self) -> list[str]:
        """The end-to-end checks; the failures (none: passed)."""
        dashboard = self.dashboard()
        always = checks.localized_set(checks.ALWAYS_CHECKED, self.language)
        entities = checks.dashboard_entities(dashboard) | always
        self.say(f"ok: the dashboard loads ({len(entities)} entities with those checked)")
        for content in checks.markdown_contents(dashboard):
            try:
                self.api.request("POST", "/api/template", {"template": content}, raw=True)
            except DemoError as err:
                self.failures.append(f"a markdown card's template does not render: {err}")
        if not self.api.reachable(f"/{DASHBOARD_URL_PATH}"):
            self.failures.append(f"the frontend does not serve /{DASHBOARD_URL_PATH}")
        # What the browser's login page does: from 127.0.0.1 it must log in without a form.
        login = {"handler": ["trusted_networks", None], "redirect_uri": self.api.client_id}
        login_flow = self.api.request(
            "POST", "/auth/login_flow", {**login, "client_id": self.api.client_id}, auth=False
        )
        if login_flow.get("type") != "create_entry":
            self.failures.append(f"login from 127.0.0.1 asks for input: {login_flow}")
        if not self.failures:
            self.say("ok: markdown renders, frontend serves the dashboard, login without password")
        # The dashboard's own ids, on the states as Home Assistant has them.
        unknown = checks.localized_set(checks.MAY_BE_UNKNOWN, self.language)
        every = f"every entity has a state ({self.language} entity ids)"
        if not self.expect(
            every, lambda _: checks.entity_problems(self.api.states(), entities, unknown), 90
        ):
            return self.failures
        self.expect("PAC2200 grid power ≈ E3DC grid power", checks.grid_problems, 30)
        self.expect("E3DC power balance", checks.balance_problems, 30)
        decisions = checks.decision_states()
        self.expect(
            "decision, surplus switch, current limit, charge mode, SoC",
            lambda s: checks.value_problems(s, decisions),
            20,
        )
        until_car = self.real_s_until(self.timeline.car_arrives_s)
        self.expect(f"car plugged in as {VEHICLE_NAME}", checks.car_problems, until_car + 30)
        self.expect(
            "session start on Home Assistant's clock",
            lambda s: checks.session_clock_problems(s, datetime.now(UTC)),
            30,
        )
        until_rcm = self.real_s_until(self.timeline.rcm_s)
        charging = "charging with surplus (> 500 W, limit 6..16 A)"
        self.expect(charging, checks.charging_problems, max(30.0, until_rcm - 2))
        fuse = f"main fuse watched ({DEMO_FUSE_A} A: the current within the room it leaves)"
        self.expect(fuse, checks.fuse_problems, 20)
        plan = "departure plan: the cheapest slots of the demo price reserved"
        self.expect(plan, checks.plan_problems, 30)
        share = f"solar share > {checks.MIN_SOLAR_SHARE_PCT:g} % while charging on surplus"
        self.expect(
            share,
            checks.solar_share_problems,
            max(30.0, self.real_s_until(self.timeline.rcm_s) - 2),
        )
        if not self.expect("RCM alarm stops charging", checks.alarm_problems, until_rcm + 30):
            return self.failures
        latched = "alarm gone, charging locked until acknowledged"
        if not self.expect(latched, checks.latched_problems, 60):
            return self.failures
        self.api.service("button", "press", {"entity_id": self.entity(checks.ACKNOWLEDGE)})
        self.expect("acknowledged: lock released", checks.released_problems, 20)
        # The cooker is on (since the RCM episode): in Fast mode the fuse holds the car down.
        cooker_left = self.real_s_until(self.timeline.cooker_s + self.timeline.cooker_duration_s)
        previous = self.fast_mode()
        fuse = f"Fast mode next to the cooker: the {DEMO_FUSE_A} A fuse holds the car down"
        self.expect(fuse, checks.fuse_limit_problems, max(5.0, min(30.0, cooker_left - 2)))
        self.select_mode(previous)
        # The history graphs: the decision has changed several times by now.
        decision, grid = self.entity(checks.DECISION), self.entity(checks.PAC_GRID)
        path = f"/api/history/period?filter_entity_id={decision},{grid}"
        history = {rows[0]["entity_id"]: len(rows) for rows in self.api.request("GET", path)}
        if history.get(decision, 0) > 1 and history.get(grid, 0) > 0:
            self.say("ok: history recorded")
        else:
            self.failures.append(f"history not recorded: {history}")
        return self.failures

    def fast_mode(self) -> str:
        """Select the charge mode Fast; the mode selected before."""
        previous = str(self.states().get(checks.CHARGE_MODE, {}).get("state", "pv"))
        self.select_mode("fast")
        return previous if previous != "fast" else "pv"

    def select_mode(self, mode: str) -> None:
        """Select a charge mode (its option key: off, pv, min_pv, fast)."""
        entity = self.entity(checks.CHARGE_MODE)
        self.api.service("select", "select_option", {"entity_id": entity, "option": mode})

    # Interactive ------------------------------------------------------------------------

    def status_line(self) -> str:
        """One line of what the dashboard shows."""
        states = self.states()

        def get(entity: str) -> Any:
            return states.get(entity, {}).get("state", "?")

        def kw(entity: str) -> str:
            try:
                return f"{float(get(entity)) / 1000:.1f} kW"
            except ValueError:
                return "?"

        rcm = "ALARM" if get(checks.ALARM_A) == "on" else "ok"
        return (
            f"PV {kw(checks.PV)}, house {kw(checks.HOUSE)}, battery {kw(checks.BATTERY)}, "
            f"grid {kw(checks.PAC_GRID)}, car {kw(checks.CHARGING_POWER)} "
            f"({get(checks.VEHICLE)}), limit {get(checks.LIMIT)} A, "
            f"decision {get(checks.DECISION)}, RCM {rcm}"
        )

    def serve(self, status_every: float) -> None:
        """Until a signal: watch the children, print a status line now and then; Fast mode
        while the cooker is on (the fuse holds the car down), the mode before after it."""
        next_status = time.monotonic() + status_every
        timeline = self.timeline
        cooker_on = time.monotonic() + self.real_s_until(timeline.cooker_s)
        cooker_off = cooker_on + timeline.cooker_duration_s / self.speed
        previous: str | None = None
        while self.alive():
            now = time.monotonic()
            try:
                if previous is None and cooker_on <= now < cooker_off:
                    previous = self.fast_mode()
                    self.say(
                        "the cooker is on and the car wants to charge fast: charge mode Fast; "
                        f"the {DEMO_FUSE_A} A main fuse holds the car below 16 A on L1"
                    )
                elif previous is not None and now >= cooker_off:
                    self.select_mode(previous)
                    self.say(f"the cooker is off: charge mode {previous} again")
                    previous, cooker_on = None, float("inf")
                if status_every and now >= next_status:
                    next_status += status_every
                    self.say(self.status_line())
            except (DemoError, OSError) as err:
                self.say(f"no status: {err}")
            time.sleep(1)

    def stop(self) -> None:
        """Stop the children, Home Assistant first (it closes its Modbus connections)."""
        for child in reversed(self.children):
            if child.running():
                self.say(f"stopping {child.name}")
            child.stop(timeout=30 if child.name == "Home Assistant" else 10)
        self.children.clear()


def build_parser() -> argparse.ArgumentParser:
    """Command line of ``scripts/demo``."""
    parser = argparse.ArgumentParser(
        prog="scripts/demo",
        description=(
            "Simulated E3DC, Amtron (with a car), PAC2200 and DCTR plus Home Assistant with "
            "the devices, surplus charging and a dashboard configured; open the printed URL. "
            "Ctrl-C stops everything. The configuration in .demo/ is recreated on every start."
        ),
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="smoke test: start, verify entities and values end to end, stop; exit 0/1",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help=(
            "simulated seconds per real second (default 1: the charger's clock, the "
            "controller's timers and Home Assistant's clock agree; faster runs show "
            "session times and countdowns on different clocks)"
        ),
    )
    parser.add_argument(
        "--start",
        type=parse_clock,
        default="10:30",
        metavar="HH:MM",
        help=(
            "time of day to start at (default 10:30): the demo's Home Assistant runs in a "
            "time zone where it is about that time now"
        ),
    )
    parser.add_argument(
        "--language",
        choices=checks.LANGUAGES,
        default="en",
        help=(
            "Home Assistant's system language and the owner's (default en): entity names "
            "and ids, the dashboard and the frontend in that language"
        ),
    )
    parser.add_argument(
        "--port", type=int, default=8123, help="Home Assistant's port on 127.0.0.1 (default 8123)"
    )
    parser.add_argument(
        "--device-ports",
        type=int,
        default=5020,
        metavar="BASE",
        help="E3DC, Amtron, PAC2200, DCTR on 127.0.0.1 ports BASE..BASE+3 (default 5020)",
    )
    parser.add_argument(
        "--status-interval",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="print a status line every SECONDS while running (0: never; default 60)",
    )
    return parser


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    """Run the demo or the check; the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 < args.speed <= 1000:
        parser.error("--speed must be > 0 and at most 1000")
    ports = Ports(args.port, args.device_ports)
    if busy := busy_ports(ports.all()):
        print(
            f"scripts/demo: {'ports' if len(busy) > 1 else 'port'} "
            f"{', '.join(map(str, sorted(busy)))} on {HOST} already in use: another Home "
            "Assistant (scripts/develop?), simulator or demo is running. Stop it, or choose "
            "other ports with --port and --device-ports.",
            file=sys.stderr,
        )
        return 1
    time_zone, start_s = demo_clock(args.start, datetime.now(UTC))
    timeline = make_timeline(
        start_s, args.speed, *(CHECK_TIMELINE if args.check else DEMO_TIMELINE)
    )
    demo = Demo(ports, args.speed, timeline, time_zone, args.language)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    status = 1
    try:
        demo.prepare()
        demo.start()
        demo.onboard()
        demo.configure()
        demo.dashboard()
        if args.check:
            for failure in demo.run_check():
                print(f"FAILED: {failure}", file=sys.stderr, flush=True)
            status = 1 if demo.failures else 0
            demo.say("check passed" if status == 0 else f"check FAILED ({len(demo.failures)})")
        else:
            url = f"http://{HOST}:{ports.hass}/{DASHBOARD_URL_PATH}"
            print(
                f"\n  Solar Wallbox demo: {url}\n"
                f"  No login needed from this machine (else user {USERNAME!r}, password "
                f"{PASSWORD!r}).\n  Logs: .demo/hass.log, .demo/simulator.log. "
                "Ctrl-C stops everything.\n",
                flush=True,
            )
            demo.serve(args.status_interval)
    except Stop as stop:
        demo.say(f"{stop}: stopping")
        status = 1 if args.check else 0
    except DemoError as err:
        print(f"scripts/demo: {err}", file=sys.stderr, flush=True)
        if any(child.name == "Home Assistant" and child.running() for child in demo.children):
            print(f"--- end of .demo/hass.log:\n{demo.children[-1].tail()}", file=sys.stderr)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        demo.stop()
        demo.say("everything stopped")
    return status

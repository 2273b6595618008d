"""The simulator's grid connection: feed-in limit and curtailment (read over Modbus from the
E3DC), scheduled appliances, and the PAC2200's phase currents against the model."""

import copy
import random
import struct

import pytest

from simulator import E3dcDevice, ModbusTcpServer, SiteModel
from simulator.e3dc import EMS_CURTAILMENT_ACTIVE, EMS_EMERGENCY_POWER_POSSIBLE
from simulator.model import Appliance, BatteryConfig, HouseProfile, PvProfile
from simulator.pac2200 import CURRENT, Pac2200Device, phase_currents
from simulator.state import load_state

from .test_simulator import connect, i32_low_word_first

pytestmark = pytest.mark.usefixtures("socket_enabled")

LIMIT_W = 3000.0


def flat_site(*, soc_pct: float = 100.0, limit: float | None = LIMIT_W) -> SiteModel:
    """8 kW PV around the clock, a 500 W house, no randomness."""
    return SiteModel(
        PvProfile(peak_w=8000.0, flat=True),
        HouseProfile(base_w=500.0, appliances=()),
        soc_pct=soc_pct,
        feed_in_limit_w=limit,
    )


def is_curtailed(model: SiteModel) -> bool:
    """`SiteModel.curtailed` now (a call, so that a type checker does not keep it narrowed)."""
    return model.curtailed


def test_feed_in_limit_curtails_to_the_limit() -> None:
    """A full battery: export is held at the limit, a load takes the curtailed PV first."""
    model = flat_site()
    model.step(10.0)
    assert model.pv_available_w == 8000.0
    assert model.grid_w == pytest.approx(-LIMIT_W)
    assert model.pv_w == pytest.approx(3500.0)
    assert model.curtailed_w == pytest.approx(4500.0)
    assert is_curtailed(model)
    # A 2 kW load: PV rises by 2 kW, the export stays at the limit.
    model.loads["wallbox"] = 2000.0
    model.step(1.0)
    assert model.pv_w == pytest.approx(5500.0)
    assert model.grid_w == pytest.approx(-LIMIT_W)
    assert is_curtailed(model)
    # A 6 kW load uses more than the curtailment: no more curtailment, less export.
    model.loads["wallbox"] = 6000.0
    model.step(1.0)
    assert model.pv_w == 8000.0
    assert model.grid_w == pytest.approx(-1500.0)
    assert not is_curtailed(model)
    assert model.curtailed_w == 0.0
    # The counter integrated the curtailed seconds (10 s × 4.5 kW + 1 s × 2.5 kW).
    assert model.energy.curtailed_wh == pytest.approx((45000.0 + 2500.0) / 3600.0)
    # Without a limit the same site exports everything.
    free = flat_site(limit=None)
    free.step(10.0)
    assert free.grid_w == pytest.approx(-7500.0)
    assert not free.curtailed


def test_battery_charges_from_the_available_pv() -> None:
    """The home battery takes its power before the curtailment, not from the export."""
    model = flat_site(soc_pct=50.0)
    for _ in range(30):
        model.step(1.0)
    assert model.battery_w == pytest.approx(3000.0)
    assert model.grid_w == pytest.approx(-LIMIT_W)
    assert model.pv_w == pytest.approx(6500.0)


def test_export_never_above_the_limit_on_a_random_day() -> None:
    """Clouds, appliances, a battery that fills, a changing load: the export never exceeds
    the limit, and `curtailed` is exactly 'PV produced below PV available'."""
    model = SiteModel.scenario("clouds", seed=5, start_s=9 * 3600.0)
    model.soc_pct = 90.0
    model.feed_in_limit_w = LIMIT_W
    rng = random.Random(1)
    curtailed_seconds = free_seconds = 0
    for second in range(4 * 3600):
        if second % 60 == 0:
            model.loads["wallbox"] = rng.choice((0.0, 1400.0, 4140.0, 11000.0))
        model.step(1.0)
        assert -model.grid_w <= LIMIT_W + 1e-6
        assert model.curtailed == (model.pv_w < model.pv_available_w)
        curtailed_seconds += model.curtailed
        free_seconds += not model.curtailed
    assert curtailed_seconds > 600
    assert free_seconds > 600


def test_replay_curtails_like_step() -> None:
    """`replay` with a feed-in limit gives what `step_pinned` gives, and `last_pv_w` is the
    PV produced."""
    rng = random.Random(9)
    pv = [max(0.0, 6000.0 + rng.gauss(0.0, 2500.0)) for _ in range(3000)]
    house = [300.0 + rng.random() * 3000.0 for _ in range(3000)]
    model = SiteModel(battery=BatteryConfig(capacity_wh=1500.0), soc_pct=70.0, start_s=0.0)
    model.feed_in_limit_w = 2000.0
    fast = copy.deepcopy(model)
    produced: list[float] = []
    for p, h in zip(pv, house, strict=True):
        model.pv_override, model.house_override = p, h
        model.step_pinned(1.0)
        produced.append(model.pv_w)
    seen: list[float] = []

    def after(_i: int, _battery: float, _soc: float, _grid: float) -> float:
        seen.append(fast.last_pv_w)
        return 0.0

    fast.replay(pv, house, after)
    assert fast.energy == model.energy
    assert fast.energy.curtailed_wh > 100.0
    assert seen == produced


async def test_e3dc_reports_curtailment_over_modbus() -> None:
    """EMS status bit 4 (PDU 40084) is set exactly while the model curtails, on top of the
    bits a test set; PV power (40067) is the curtailed PV."""
    model = flat_site(limit=None)
    device = E3dcDevice(model)
    async with ModbusTcpServer(device) as server, connect(server) as client:
        model.step(5.0)
        words = await client.read(40067, 18)
        assert i32_low_word_first(words, 40067, 40067) == 8000
        assert words[40084 - 40067] == EMS_EMERGENCY_POWER_POSSIBLE
        # Switched on through the state API (what the snapshot fixtures use).
        load_state(model, {"feed_in_limit_w": 3000})
        model.step(1.0)
        words = await client.read(40067, 18)
        assert i32_low_word_first(words, 40067, 40067) == 3500
        assert i32_low_word_first(words, 40073, 40067) == -3000  # grid: export at the limit
        assert words[40084 - 40067] == EMS_EMERGENCY_POWER_POSSIBLE | EMS_CURTAILMENT_ACTIVE
        # A load larger than the curtailment ends it: the bit clears.
        model.loads["wallbox"] = 6000.0
        model.step(1.0)
        words = await client.read(40084, 1)
        assert words == [EMS_EMERGENCY_POWER_POSSIBLE]
        model.loads["wallbox"] = 1000.0
        model.step(1.0)
        assert await client.read(40084, 1) == [EMS_EMERGENCY_POWER_POSSIBLE | 1 << 4]


def test_scheduled_appliance_runs_at_its_times() -> None:
    """A scheduled run starts at its hour and lasts its duration, every day, on its phases,
    and draws no random numbers (a random appliance's draws stay the same)."""
    cooker = Appliance(
        "cooker", 6000.0, (0.0, 0.0), 0.0, (0.5, 0.3, 0.2), schedule=((18.5, 1800.0),)
    )
    kettle = Appliance("kettle", 2000.0, (60.0, 120.0), 2.0, (1.0, 0.0, 0.0))
    with_cooker = SiteModel(
        house=HouseProfile(
            base_w=0.0, base_phases=(1 / 3, 1 / 3, 1 / 3), appliances=(kettle, cooker)
        ),
        start_s=18 * 3600.0,
        seed=3,
    )
    without = SiteModel(
        house=HouseProfile(base_w=0.0, base_phases=(1 / 3, 1 / 3, 1 / 3), appliances=(kettle,)),
        start_s=18 * 3600.0,
        seed=3,
    )
    on: list[int] = []
    for second in range(1, 24 * 3600 + 1):
        with_cooker.step_weather(1.0)
        without.step_weather(1.0)
        if "cooker" in with_cooker.running_appliances:
            on.append(second)
            l1, l2, l3 = with_cooker.household_phase_w()
            kettle_w = 2000.0 if "kettle" in with_cooker.running_appliances else 0.0
            assert (l1, l2, l3) == pytest.approx((3000.0 + kettle_w, 1800.0, 1200.0))
        assert ("kettle" in with_cooker.running_appliances) == (
            "kettle" in without.running_appliances
        )
    # 18:30:00 .. 18:59:59 after starting at 18:00:00: seconds 1800 .. 3599.
    assert on == list(range(1800, 3600))
    assert with_cooker.household_phase_w() == pytest.approx(with_cooker.house_phase_w())


async def test_pac2200_phase_currents_follow_the_phases() -> None:
    """The PAC2200's phase currents (read over Modbus) are `phase_currents` of the model's
    grid phase powers, car and 1-phase appliances included, which is what the benchmark
    gives our controller."""
    kettle = Appliance(
        "kettle", 2000.0, (0.0, 0.0), 0.0, (1.0, 0.0, 0.0), schedule=((12.0, 600.0),)
    )
    model = SiteModel(
        PvProfile(peak_w=0.0, flat=True),
        HouseProfile(base_w=600.0, base_phases=(0.5, 0.3, 0.2), appliances=(kettle,)),
        BatteryConfig(),
        soc_pct=5.0,  # empty: the battery gives nothing
        start_s=11.99 * 3600.0,
    )
    model.loads["wallbox"] = (16 * 230.0, 0.0, 0.0)  # a 1-phase car at 16 A
    device = Pac2200Device(model)
    device.voltage_noise_v = 0.0
    async with ModbusTcpServer(device) as server, connect(server) as client:
        for _ in range(60):
            model.step(1.0)
        assert "kettle" in model.running_appliances
        words = await client.read(CURRENT[0], 6)
        read = [
            struct.unpack(">f", struct.pack(">HH", words[i], words[i + 1]))[0] for i in (0, 2, 4)
        ]
    expected = phase_currents(model.grid_phase_w())
    assert read == pytest.approx(expected, rel=1e-6)
    # L1: 300 W base + 2000 W kettle + 3680 W car, at the meter's power factor 0.95.
    assert expected[0] == pytest.approx((300.0 + 2000.0 + 3680.0) / 0.95 / 230.0)
    assert expected[1] == pytest.approx(180.0 / 0.95 / 230.0)

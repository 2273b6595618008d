"""`simulator.state.load_state`: fixtures put the simulators into a state, or fail loudly."""

import pytest

from simulator.amtron import CHARGING, AmtronDevice
from simulator.e3dc import E3dcDevice
from simulator.model import SiteModel
from simulator.pac2200 import Pac2200Device
from simulator.state import load_state


def test_values_are_converted_to_the_attribute_types() -> None:
    model = SiteModel.scenario("constant")
    load_state(model, {"pv_override": 5000, "soc_pct": 64, "loads": {"wallbox": 6900.0}})
    assert model.pv_w == 5000.0
    assert model.soc_pct == 64.0
    assert isinstance(model.soc_pct, float)
    assert model.house_w == 600.0 + 6900.0
    device = E3dcDevice(model)
    load_state(device, {"modbus_fw": [1, 91], "wallbox_control": [33, 0, 0, 0, 0, 0, 0, 0]})
    assert device.modbus_fw == (1, 91)
    assert device.wallbox_control[0] == 33


def test_int_keys_and_nested_objects() -> None:
    model = SiteModel.scenario("constant")
    meter = Pac2200Device(model)
    load_state(meter, {"device_identification": {"0x00": "Siemens", "0x80": "LQN-1"}})
    assert meter.device_identification == {0: "Siemens", 0x80: "LQN-1"}
    charger = AmtronDevice(model)
    load_state(charger, {"car": {"config": {"phases": 1, "evccid": "00A1B2C3D4E5"}}})
    assert charger.car.config.phases == 1
    assert charger.car.config.evccid == "00A1B2C3D4E5"


@pytest.mark.parametrize(
    ("state", "error"),
    [
        ({"serail": "x"}, ValueError),  # a typo is no new attribute
        ({"_plugged_at": 0.0}, ValueError),  # private state stays private
        ({"firmware": 5.22}, TypeError),
        ({"wallbox_control": [True]}, TypeError),
        ({"modbus_fw": [1]}, TypeError),
        ({"emergency_power": 2.0}, TypeError),
        ({"model": 1}, TypeError),  # an object takes a mapping
    ],
)
def test_mismatches_fail(state: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        load_state(E3dcDevice(SiteModel.scenario("constant")), state)


def test_resume_session() -> None:
    model = SiteModel.scenario("constant")
    charger = AmtronDevice(model)
    charger.hems_limit_a = 10
    charger.resume_session(7200.0, 13500.0)
    assert charger.status == CHARGING
    assert charger.session_duration_s == 7200.0
    assert charger.session_start_s == 12 * 3600.0 - 7200.0
    assert charger.car.current_a == 10.0
    assert model.loads["wallbox"] == (2300.0, 2300.0, 2300.0)
    # It carries on like any settled session: the next steps keep the current.
    model.step(10.0)
    assert charger.car.current_a == 10.0
    assert charger.status == CHARGING
    assert charger.session_energy_wh == pytest.approx(13500.0 + 6900.0 * 10 / 3600)

"""Device simulators for Solar Wallbox: a site model served over Modbus TCP.

No Home Assistant and no pymodbus imports here: tests and demos drive the simulators with
their own clients. Start with `SiteModel`, a device such as `E3dcDevice`, and
`ModbusTcpServer` or `SimulatedSite`.
"""

from .e3dc import E3dcDevice
from .modbus_server import (
    ExceptionCode,
    Faults,
    ModbusDeviceError,
    ModbusTcpServer,
    RegisterImage,
    SimDevice,
)
from .model import (
    SCENARIOS,
    Appliance,
    BatteryConfig,
    EnergyCounters,
    HouseProfile,
    PvProfile,
    SiteModel,
)
from .runner import SimulatedSite

__all__ = [
    "SCENARIOS",
    "Appliance",
    "BatteryConfig",
    "E3dcDevice",
    "EnergyCounters",
    "ExceptionCode",
    "Faults",
    "HouseProfile",
    "ModbusDeviceError",
    "ModbusTcpServer",
    "PvProfile",
    "RegisterImage",
    "SimDevice",
    "SimulatedSite",
    "SiteModel",
]

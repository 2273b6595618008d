"""Benchmarks of the Solar Wallbox device drivers (no Home Assistant imports).

The drivers live in ``custom_components/solar_wallbox/drivers/``. Importing them normally
runs the integration's ``__init__.py`` first, which imports Home Assistant (slow, and not
needed to talk Modbus). Unless the integration package is already loaded (as in the test
suite), a bare package object is registered in its place so that only the drivers and
pymodbus are imported. Do not import Home Assistant in the same process after this.
"""

import sys
import types
from pathlib import Path

_INTEGRATION = "custom_components.solar_wallbox"
_INTEGRATION_DIR = Path(__file__).resolve().parent.parent / "custom_components" / "solar_wallbox"

if _INTEGRATION not in sys.modules:
    _package = types.ModuleType(_INTEGRATION, "Solar Wallbox drivers only (see bench/__init__.py)")
    _package.__path__ = [str(_INTEGRATION_DIR)]
    sys.modules[_INTEGRATION] = _package

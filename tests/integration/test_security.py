"""Security review, one test per defence (see SECURITY.md for the threats).

Defences tested elsewhere and only referenced in SECURITY.md: the file action's admin check
and allowlist (tests/test_decompress_service.py), the Amtron driver's single allow-listed
write path (tests/test_amtron_driver.py), bad input in flows and fields (tests/test_fuzz.py).
"""

from __future__ import annotations

import ast
import asyncio
import json
import logging
import re
import struct
import tracemalloc
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant

from custom_components.solar_wallbox.diagnostics import async_get_config_entry_diagnostics
from custom_components.solar_wallbox.drivers.modbus import ModbusConnection, ModbusError
from simulator.car import CarConfig

from .sites import MARIA_TAG, Site, W

COMPONENT = Path(__file__).resolve().parents[2] / "custom_components" / "solar_wallbox"
UNKNOWN_TAG = "0BADC0FFEE1234"


async def test_surplus_charging_writes_only_register_1000(hass: HomeAssistant, site: Site) -> None:
    """A whole day of decisions (start, changes, pause, RCM alarm, modes) writes nothing
    but the current limit; 131/132 only when the user sets the fail-safe numbers."""
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    site.charger.plug_in(CarConfig(tag=MARIA_TAG))
    await site.run(300)
    site.model.pv_override = 3000.0
    await site.run(300)
    site.dctr.force_alarm("dc", 40)
    await site.run(10)
    site.dctr.clear()
    await site.run(10)
    await site.call("button", "press", f"button.{W}acknowledge_rcm_alarm")
    for mode in ("fast", "min_pv", "off", "pv"):
        await site.call("select", "select_option", f"select.{W}charge_mode", option=mode)
        await site.run(20)
    assert {address for address, _ in site.charger.writes} == {1000}
    assert len(site.charger.writes) > 3
    await site.call("number", "set_value", f"number.{W}safe_current", value=6)
    assert {address for address, _ in site.charger.writes} == {131, 132, 1000}


async def test_diagnostics_contain_no_hosts_or_tags(hass: HomeAssistant, site: Site) -> None:
    """Every device's diagnostics, the controller's included, after errors that name the
    host: neither the address nor a tag appears anywhere."""
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    site.charger.plug_in(CarConfig(tag=UNKNOWN_TAG))
    await site.run(30)
    await site.servers["pac2200"].stop()  # an error message that names the host
    await site.run(10)
    for kind, entry in site.entries.items():
        dump = json.dumps(await async_get_config_entry_diagnostics(hass, entry), default=str)
        assert "127.0.0.1" not in dump, kind
        # The port as a number of its own (its digits may occur inside a float reading).
        port = re.compile(rf"(?<![\d.]){site.servers[kind].port}(?![\d.])")
        assert not port.search(dump), kind
        assert MARIA_TAG not in dump, kind
        assert UNKNOWN_TAG not in dump, kind


async def test_logs_contain_no_tags(
    hass: HomeAssistant, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """RFID tags are credentials of a kind (they start a charge): never in the log."""
    caplog.set_level(logging.DEBUG)
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    site.charger.plug_in(CarConfig(tag=UNKNOWN_TAG))
    await site.run(30)
    site.charger.unplug()
    await site.run(10)
    site.charger.plug_in(CarConfig(tag=MARIA_TAG))
    await site.run(30)
    assert "Vehicle connected" in caplog.text  # the lines that could have held them
    assert UNKNOWN_TAG not in caplog.text
    assert MARIA_TAG not in caplog.text
    assert "…1234" in caplog.text  # an unknown tag is shown by its last digits only


FORBIDDEN_CALLS = {
    "eval",
    "exec",
    "compile",
    "__import__",
    "import_module",
    "system",
    "popen",
    "Popen",
    "run",
    "call",
    "check_output",
    "loads",
    "load",
}
FORBIDDEN_MODULES = {"pickle", "marshal", "subprocess", "shelve", "yaml"}


def test_no_code_path_evaluates_strings() -> None:
    """No eval/exec/compile, no pickle/marshal/yaml/shelve, no subprocess or os.system,
    no dynamic imports: nothing a device, a file or a user sends can become code."""
    findings: list[str] = []
    for path in sorted(COMPONENT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names]
                module = getattr(node, "module", None) or ""
                for name in [module, *names]:
                    if name.split(".")[0] in FORBIDDEN_MODULES:
                        findings.append(f"{path.name}:{node.lineno} imports {name}")
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                owner = (
                    func.value.id
                    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    else ""
                )
                builtin = isinstance(func, ast.Name) and name in {
                    "eval",
                    "exec",
                    "compile",
                    "__import__",
                }
                if (
                    builtin
                    or name == "import_module"
                    or (
                        owner in {"os", "subprocess", "pickle", "marshal", "yaml"}
                        and name in FORBIDDEN_CALLS
                    )
                ):
                    findings.append(f"{path.name}:{node.lineno} calls {owner}.{name}")
    assert findings == []


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The scan above is not blind: it reports each pattern in a sample file."""
    sample = "import pickle\nimport os\neval('1')\nos.system('x')\n"
    tree = ast.parse(sample)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import)]
    assert {c.func.id for c in calls if isinstance(c.func, ast.Name)} == {"eval"}
    assert {c.func.attr for c in calls if isinstance(c.func, ast.Attribute)} == {"system"}
    assert {a.name for i in imports for a in i.names} & FORBIDDEN_MODULES == {"pickle"}


async def _hostile_server(behaviour: str) -> tuple[asyncio.Server, int]:
    """A TCP server on 127.0.0.1 answering every request with something hostile."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            header = await reader.readexactly(7)
            await reader.readexactly(struct.unpack(">H", header[4:6])[0] - 1)
            tid = header[:2]
            if behaviour == "endless":
                chunk = bytes(range(256)) * 256  # 64 kB of garbage, again and again
                for _ in range(400):  # 25 MB
                    writer.write(chunk)
                    await writer.drain()
            elif behaviour == "huge_length":
                # Claims 65535 bytes follow, sends a few, then nothing.
                writer.write(tid + b"\x00\x00\xff\xff\x01\x03\xfe" + b"\x00" * 100)
                await writer.drain()
                await asyncio.sleep(1.5)
            elif behaviour == "huge_count":
                # A well-formed frame whose byte count claims 255 bytes: 250 registers.
                writer.write(tid + b"\x00\x00\x01\x02\x01\x03\xff" + b"\x12" * 255)
                await writer.drain()
                await asyncio.sleep(1.5)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


@pytest.mark.parametrize("behaviour", ["endless", "huge_length", "huge_count"])
async def test_modbus_answers_cannot_exhaust_memory(behaviour: str) -> None:
    """A device (or anything on the LAN pretending to be one) sending endless garbage or
    frames claiming to be huge: a typed error within the timeout, memory stays bounded."""
    server, port = await _hostile_server(behaviour)
    connection = ModbusConnection("127.0.0.1", port, 1, timeout=1.0)
    tracemalloc.start()
    try:
        with pytest.raises(ModbusError):
            async with asyncio.timeout(5):
                await connection.read_holding_registers(0, 10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await connection.close()
        server.close()
        await server.wait_closed()
    assert peak < 16 * 2**20, f"{peak / 2**20:.1f} MB"  # of 25 MB sent

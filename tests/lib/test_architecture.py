"""Project rules that code review would otherwise have to catch."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "custom_components" / "solar_wallbox"
HA_FREE = [
    COMPONENT / "drivers",
    COMPONENT / "charging",
    COMPONENT / "logformat.py",
    COMPONENT / "logwriter.py",
    COMPONENT / "streamlog.py",
    ROOT / "simulator",
    ROOT / "bench",
    ROOT / "demo",
    ROOT / "tests" / "lib",  # the tests of the code above run without the harness
]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", HA_FREE, ids=lambda p: str(p.relative_to(ROOT)))
def test_package_never_imports_homeassistant(package: Path) -> None:
    """drivers/, charging/, the log format, writer and decoder, simulator/, bench/ and
    demo/ stay free of Home Assistant."""
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in (sorted(package.rglob("*.py")) if package.is_dir() else [package])
        for module in _imported_modules(path)
        if module == "homeassistant" or module.startswith("homeassistant.")
    ]
    assert offenders == []


def test_import_scan_detects_homeassistant(tmp_path: Path) -> None:
    """The scan above really finds both import forms."""
    probe = tmp_path / "probe.py"
    probe.write_text("import homeassistant.core\nfrom homeassistant.const import X\n")
    assert _imported_modules(probe) == {"homeassistant.core", "homeassistant.const"}


def test_manifest_keys_sorted_and_requirements() -> None:
    """domain, name, then alphabetical; pymodbus as a range, never a pin."""
    manifest = json.loads((COMPONENT / "manifest.json").read_text())
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert manifest["domain"] == "solar_wallbox"
    assert manifest["config_flow"] is True
    assert manifest["iot_class"] == "local_polling"
    assert manifest["integration_type"] == "device"
    assert manifest["requirements"] == ["pymodbus>=3.8.3"]
    assert "version" in manifest
    assert "loggers" in manifest


def test_hacs_json() -> None:
    """HACS rejects unknown keys."""
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs == {"name": "Solar Wallbox", "homeassistant": "2025.4.0"}


def _flatten(tree: dict[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            flat.update(_flatten(value, path))
        else:
            flat[path] = str(value)
    return flat


def _translations(lang: str) -> dict[str, str]:
    return _flatten(json.loads((COMPONENT / "translations" / f"{lang}.json").read_text()))


def test_en_and_de_have_the_same_keys_and_placeholders() -> None:
    """Every English string has a German one with the same {placeholders}."""
    en, de = _translations("en"), _translations("de")
    assert set(en) == set(de)
    for key, text in en.items():
        assert set(re.findall(r"{\w+}", text)) == set(re.findall(r"{\w+}", de[key])), key
        assert "[%key:" not in text
        assert de[key].strip(), key


def _string_literals(pattern: str) -> set[str]:
    regex = re.compile(pattern)
    found: set[str] = set()
    for path in COMPONENT.rglob("*.py"):
        found.update(regex.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_translation_key_used_exists() -> None:
    """translation_key="x" in code has a name for its platform; error keys exist."""
    en = _translations("en")
    entity_keys = {key.split(".")[2] for key in en if key.startswith("entity.")}
    used = _string_literals(r'translation_key="(\w+)"')
    used |= _string_literals(r'_(?:power|percent|energy|ems)\(\s*"(\w+)"')
    exception_keys = {k.split(".")[1] for k in en if k.startswith("exceptions.")}
    selector_keys = {k.split(".")[1] for k in en if k.startswith("selector.")}
    known = entity_keys | exception_keys | selector_keys
    missing = sorted(k for k in used if k not in known)
    assert missing == []
    for key in _string_literals(r'errors\[[^\]]+\] = "(\w+)"'):
        assert f"config.error.{key}" in en or f"options.error.{key}" in en, key
    for device in ("e3dc", "pac2200", "dctr", "amtron"):
        assert f"config.error.not_{device}" in en
        assert f"config.step.user.menu_options.{device}" in en
    for key in _string_literals(r'reason="(\w+)"'):
        repair = any(k.endswith(f".fix_flow.abort.{key}") for k in en)
        assert f"config.abort.{key}" in en or repair, key
    # Repair issues: every one raised has a title and a description.
    for key in _string_literals(r'ISSUE_\w+: Final = "(\w+)"') | {"rawlog_failed"}:
        assert f"issues.{key}.title" in en, key
        assert f"issues.{key}.description" in en, key


def _all_descriptions() -> tuple[list[object], list[object]]:
    """Every sensor and binary sensor description of every device type."""
    from custom_components.solar_wallbox.devices import amtron, dctr, e3dc, pac2200  # noqa: PLC0415
    from custom_components.solar_wallbox.drivers import dctr as dctr_driver  # noqa: PLC0415
    from custom_components.solar_wallbox.drivers import e3dc as e3dc_driver  # noqa: PLC0415
    from custom_components.solar_wallbox.drivers import pac2200 as pac_driver  # noqa: PLC0415
    from custom_components.solar_wallbox.drivers.amtron import AmtronIdentity  # noqa: PLC0415

    e3dc_data = e3dc_driver.decode_data([0] * e3dc_driver.DATA_COUNT)
    sensors: list[object] = [
        *e3dc.sensor_descriptions(e3dc_data),
        *e3dc.WALLBOX_SENSORS,
        *e3dc.ENERGY_SENSORS,
        *pac2200.sensor_descriptions(None),  # type: ignore[arg-type]
        *dctr.sensor_descriptions(None),  # type: ignore[arg-type]
        *amtron.SENSORS,
    ]
    binary: list[object] = [
        *e3dc.binary_sensor_descriptions(e3dc_data),
        *dctr.binary_sensor_descriptions(None),  # type: ignore[arg-type]
        *amtron.BINARY_SENSORS,
    ]
    old = AmtronIdentity("5.12", "1.0", None, False, frozenset({"voltages", "model"}))
    assert len(amtron.sensor_descriptions(old)) < len(amtron.SENSORS)
    assert pac_driver
    assert dctr_driver
    return sensors, binary


def test_every_entity_description_has_a_translation() -> None:
    """Every description's translation key (and enum state) is translated and has an icon."""
    en = _translations("en")
    sensors, binary = _all_descriptions()
    for description in sensors:
        key = description.translation_key  # type: ignore[attr-defined]
        assert f"entity.sensor.{key}.name" in en, key
        for option in description.options or ():  # type: ignore[attr-defined]
            assert f"entity.sensor.{key}.state.{option}" in en
    for bdesc in binary:
        key = bdesc.translation_key  # type: ignore[attr-defined]
        assert f"entity.binary_sensor.{key}.name" in en, key
    icons = json.loads((COMPONENT / "icons.json").read_text())["entity"]
    for platform, entries in _entity_keys(en).items():
        for key in entries:
            if key not in {"battery_soc"}:  # the battery device class brings its icon
                assert key in icons.get(platform, {}), f"{platform}.{key} has no icon"


def test_device_triggers_are_translated() -> None:
    from custom_components.solar_wallbox.device_trigger import TRIGGERS  # noqa: PLC0415

    en = _translations("en")
    for trigger in TRIGGERS:
        assert f"device_automation.trigger_type.{trigger}" in en


def _entity_keys(en: dict[str, str]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for key in en:
        if key.startswith("entity."):
            _, platform, name, *_ = key.split(".")
            result.setdefault(platform, set()).add(name)
    return result


def _package_import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module → the package's modules it imports at run time (``if TYPE_CHECKING`` left out).

    ``from . import name`` of a submodule is an edge to that submodule only: importing a
    submodule needs its parent package, which is always initialised first, so an edge to
    the parent would be a cycle that cannot happen.
    """

    def name_of(path: Path) -> str:
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join([package, *parts])

    modules = {name_of(path): path for path in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}

    def imports(body: list[ast.stmt], me: str, is_package: bool, found: set[str]) -> None:
        for node in body:
            if isinstance(node, ast.If):
                if getattr(node.test, "id", None) != "TYPE_CHECKING":
                    imports(node.body, me, is_package, found)
                imports(node.orelse, me, is_package, found)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody):
                    imports(block, me, is_package, found)
            elif isinstance(node, ast.ImportFrom) and node.level:
                parts = me.split(".")
                base = ".".join(parts[: len(parts) - node.level + int(is_package)])
                target = f"{base}.{node.module}" if node.module else base
                submodules = {f"{target}.{alias.name}" for alias in node.names}
                found.update(submodules & modules.keys() or {target})
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package):
                found.add(str(node.module))

    for name, path in modules.items():
        found: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports(tree.body, name, path.name == "__init__.py", found)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, stack: list[str]) -> None:
        for imported in sorted(graph[module]):
            if imported in stack:
                cycles.append([*stack[stack.index(imported) :], imported])
            elif imported not in done:
                visit(imported, [*stack, imported])
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    return cycles


def test_no_import_cycles_in_the_integration() -> None:
    """Modules import each other in one direction only (types under TYPE_CHECKING)."""
    graph = _package_import_graph(COMPONENT, "custom_components.solar_wallbox")
    assert "custom_components.solar_wallbox.charging_manager" in graph
    assert _cycles(graph) == []


def test_cycle_check_finds_a_cycle(tmp_path: Path) -> None:
    """The check above really finds cycles, and ignores type-checking-only imports."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from . import a\n")
    (package / "a.py").write_text("from .b import thing\n")
    (package / "b.py").write_text("from .a import other\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .d import x\n"
    )
    (package / "d.py").write_text("from .c import y\n")
    cycles = _cycles(_package_import_graph(package, "pkg"))
    assert cycles == [["pkg.a", "pkg.b", "pkg.a"]]


PACKAGE = "custom_components.solar_wallbox"
DEVICE_TYPES = ("amtron", "dctr", "e3dc", "pac2200")


def test_device_modules_import_only_their_own_driver() -> None:
    """devices/<type>.py talks to its own driver (and the transport), no other device's."""
    graph = _package_import_graph(COMPONENT, PACKAGE)
    for device in DEVICE_TYPES:
        imported = graph[f"{PACKAGE}.devices.{device}"]
        drivers = {m for m in imported if m.startswith(f"{PACKAGE}.drivers.")}
        own = {m for m in drivers if m.split(".")[-1].split("_")[0] == device}  # dctr_bands
        assert drivers - own <= {f"{PACKAGE}.drivers.modbus"}, device
        assert f"{PACKAGE}.drivers.{device}" in drivers, device
        others = {m for m in imported if m.startswith(f"{PACKAGE}.devices.")}
        assert others <= {f"{PACKAGE}.devices.spec"}, device


def test_only_the_registry_knows_the_device_modules() -> None:
    """A new device type is a new module in devices/: nothing else imports one by name."""
    graph = _package_import_graph(COMPONENT, PACKAGE)
    device_modules = {f"{PACKAGE}.devices.{device}" for device in DEVICE_TYPES}
    importers = {m for m, imported in graph.items() if imported & device_modules}
    assert importers == {f"{PACKAGE}.devices"}


def _ha_free_modules() -> list[str]:
    """The package root, const.py, drivers/, charging/ and the measurement log code."""
    names = [PACKAGE, f"{PACKAGE}.const"]
    names += [f"{PACKAGE}.{name}" for name in ("logformat", "logwriter", "streamlog")]
    for folder in ("drivers", "charging"):
        for path in sorted((COMPONENT / folder).glob("*.py")):
            module = f"{PACKAGE}.{folder}"
            names.append(module if path.stem == "__init__" else f"{module}.{path.stem}")
    return names


@pytest.mark.parametrize(
    "modules",
    [_ha_free_modules(), ["bench.closed_loop", "bench.poll", "simulator.runner", "demo.checks"]],
    ids=["integration", "tools"],
)
def test_ha_free_code_imports_without_homeassistant(modules: list[str]) -> None:
    """In a fresh interpreter, importing them loads no Home Assistant (nor stubs one)."""
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'homeassistant')\n"
        "print(loaded)\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_import_check_sees_homeassistant() -> None:
    """The check above can fail: importing the Home Assistant side loads it."""
    code = (
        "import importlib, sys\n"
        f"importlib.import_module('{PACKAGE}.lifecycle')\n"
        "sys.exit(0 if 'homeassistant' in sys.modules else 1)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=120, check=False)
    assert done.returncode == 0

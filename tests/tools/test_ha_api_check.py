"""The static check against Home Assistant releases we cannot run (scripts/ha_api_check.py)."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import homeassistant

ROOT = Path(__file__).resolve().parents[2]


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ha_api_check", ROOT / "scripts/ha_api_check.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ha_api_check"] = module
    spec.loader.exec_module(module)
    return module


check = _checker()


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


# A small "release": what the probes below are checked against.
RELEASE = {
    "homeassistant/__init__.py": "",
    "homeassistant/const.py": "MAJOR_VERSION = 2099\nMINOR_VERSION = 1\nPATCH_VERSION = '0'\n",
    "homeassistant/helpers/__init__.py": "",
    "homeassistant/helpers/frame.py": "def report_usage(what, **kw): ...\n",
    "homeassistant/helpers/registry.py": """
        from .frame import report_usage
        from typing import TYPE_CHECKING, TypedDict
        if TYPE_CHECKING:
            from .gone import Hidden

        class Info(TypedDict, total=False):
            name: str
            model: str

        class Registry:
            def find(self, key, /, entry_id, *, strict=False): ...
            def old(self, key):
                report_usage("calls `old`, use `find`")
            @property
            def size(self): ...

        def async_get(hass) -> Registry: ...
        def create(hass, domain, issue_id, *, severity, translation_key=None): ...
        try:
            pass
        except KeyError, ValueError:
            pass
        """,
    "homeassistant/flow.py": """
        class Flow:
            def show_form(self, *, step_id, errors=None): ...
        class Base:
            def __init__(self, hass, name): ...
        class Child(Base):
            pass
        """,
}

PROBE = """
    from homeassistant.helpers import registry as reg
    from homeassistant.helpers.registry import Info, Hidden, create, async_get
    from homeassistant.helpers.missing import Nothing
    from homeassistant.flow import Flow, Child

    def ok(hass):
        create(hass, "d", "i", severity=1)
        reg.create(hass, "d", "i", severity=1, translation_key="k")
        Info(name="x", model="y")
        Child(hass, "n")
        async_get(hass).find("k", entry_id="e")

    def wrong(hass):
        create(hass, "d", "i", "x", severity=1)
        create(hass, "d", "i", colour="red", severity=1)
        create(hass, "d")
        Info(name="x", colour="red")
        Child(hass)
        reg.no_such_thing
        registry = async_get(hass)
        registry.find(key="k", entry_id="e")
        registry.old("k")
        registry.old("k")  # ha-api-check: fallback

    class MyFlow(Flow):
        def step(self):
            return self.show_form(step_id="s", schema=None)
"""


def test_every_kind_of_problem_is_found(tmp_path: Path) -> None:
    _write(tmp_path / "release", RELEASE)
    _write(tmp_path / "ours", {"probe.py": PROBE})
    release = check.Release(tmp_path / "release")
    assert release.version() == "2099.1.0"
    found = sorted((p.line, p.message) for p in check.check(release, tmp_path / "ours"))
    assert found == [
        (3, "homeassistant.helpers.registry.Hidden does not exist"),  # only for type checkers
        (4, "module homeassistant.helpers.missing does not exist"),
        (15, "homeassistant.helpers.registry.create: 4 positional arguments, at most 3 accepted"),
        (16, "homeassistant.helpers.registry.create: unknown keyword argument 'colour'"),
        (17, "homeassistant.helpers.registry.create: required argument 'issue_id' missing"),
        (17, "homeassistant.helpers.registry.create: required keyword argument 'severity' missing"),
        (18, "homeassistant.helpers.registry.Info: unknown field 'colour'"),
        (19, "homeassistant.flow.Child: required argument 'name' missing"),
        (20, "homeassistant.helpers.registry.no_such_thing does not exist"),
        (22, "Registry.find: 'key' is positional-only"),
        (23, "Registry.old is deprecated: calls `old`, use `find`"),
        (28, "self.show_form: unknown keyword argument 'schema'"),
    ]


def test_the_release_we_test_on_has_no_problems() -> None:
    """Our code against the Home Assistant of this harness (the wheel read as a folder)."""
    release = check.Release(Path(homeassistant.__file__).parent.parent)
    problems = check.check(release, ROOT / "custom_components/solar_wallbox")
    assert [str(p) for p in problems] == []


def test_command_line(tmp_path: Path, capsys: object) -> None:
    _write(tmp_path / "release", RELEASE)
    _write(tmp_path / "ours", {"probe.py": PROBE})
    assert check.main(["x", str(tmp_path / "release"), str(tmp_path / "ours")]) == 1
    _write(tmp_path / "clean", {"a.py": "from homeassistant.helpers.registry import create\n"})
    assert check.main(["x", str(tmp_path / "release"), str(tmp_path / "clean")]) == 0
    assert check.main(["x"]) == 2

"""The ``solar_wallbox.decompress_stream`` action: responses, allowlist, admin only."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import Context, HomeAssistant, SupportsResponse
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockUser

from custom_components.solar_wallbox import services, streamlog
from custom_components.solar_wallbox.const import DOMAIN, SERVICE_DECOMPRESS_STREAM

from ..lib.test_streamlog import gzip_log, pac_lines, rcm_line, write

RESULT_KEYS = {
    "path",
    "output",
    "members",
    "bytes_in",
    "bytes_out",
    "lines",
    "invalid_lines",
    "partial_tail_bytes",
    "truncated",
    "error",
    "sqlite_rows",
    "limit",
}


@pytest.fixture
async def allowed(hass: HomeAssistant, tmp_path: Path) -> Path:
    """An allowlisted directory; the action is set up."""
    directory = tmp_path / "allowed"
    directory.mkdir()
    hass.config.allowlist_external_dirs = {str(directory)}
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    return directory


async def call(hass: HomeAssistant, context: Context | None = None, **data: Any) -> list[Any]:
    response = await hass.services.async_call(
        DOMAIN,
        SERVICE_DECOMPRESS_STREAM,
        data,
        blocking=True,
        return_response=True,
        context=context,
    )
    assert response is not None
    files: list[Any] = response["files"]  # type: ignore[assignment]
    return files


async def test_registered_with_optional_response(hass: HomeAssistant, allowed: Path) -> None:
    assert hass.services.has_service(DOMAIN, SERVICE_DECOMPRESS_STREAM)
    assert (
        hass.services.supports_response(DOMAIN, SERVICE_DECOMPRESS_STREAM)
        is SupportsResponse.OPTIONAL
    )


async def test_one_file_next_to_its_source(hass: HomeAssistant, allowed: Path) -> None:
    lines = pac_lines(30)
    source = write(allowed / "pac2200log-1700000000.json.gz", gzip_log(lines))
    [result] = await call(hass, path=str(source))
    assert set(result) == RESULT_KEYS
    assert result == {
        "path": str(source),
        "output": str(allowed / "pac2200log-1700000000.json"),
        "members": 1,
        "bytes_in": source.stat().st_size,
        "bytes_out": len(b"".join(lines)),
        "lines": 30,
        "invalid_lines": 0,
        "partial_tail_bytes": 0,
        "truncated": True,
        "error": None,
        "sqlite_rows": None,
        "limit": None,
    }
    assert (allowed / "pac2200log-1700000000.json").read_bytes() == b"".join(lines)
    # Without a response (an automation step), it works just as well.
    await hass.services.async_call(
        DOMAIN, SERVICE_DECOMPRESS_STREAM, {"path": str(source), "overwrite": True}, blocking=True
    )


async def test_directory_with_bad_files_and_sqlite(hass: HomeAssistant, allowed: Path) -> None:
    logs = allowed / "logs"
    write(logs / "empty.json.gz", b"")
    write(logs / "not-gzip.json.gz", b'{"update":1}\n')
    write(logs / "pac2200log-1.json.gz", gzip_log(pac_lines(40)))
    write(logs / "rcmlog-2.json.gz", gzip_log([rcm_line(i, alarm=i < 3) for i in range(9)]))
    database = allowed / "db" / "logs.sqlite"
    database.parent.mkdir()
    results = await call(
        hass,
        path=str(logs),
        output=str(allowed / "decoded") + "/",
        format="ndjson",
        sqlite=str(database),
    )
    by_name = {Path(r["path"]).name: r for r in results}
    assert by_name["empty.json.gz"]["error"] == "empty"
    assert by_name["not-gzip.json.gz"]["error"] == "not gzip"
    assert by_name["pac2200log-1.json.gz"]["sqlite_rows"] == 40
    assert by_name["rcmlog-2.json.gz"]["sqlite_rows"] == 9
    assert sorted(p.name for p in (allowed / "decoded").iterdir()) == [
        "pac2200log-1.json",
        "rcmlog-2.json",
    ]
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        assert db.execute("SELECT COUNT(*) FROM pac2200").fetchone() == (40,)
        assert db.execute("SELECT SUM(raised_alarm_a_dc) FROM rcm").fetchone() == (3,)


async def test_glob_and_one_output_file(hass: HomeAssistant, allowed: Path) -> None:
    write(allowed / "pac2200log-1.json.gz", gzip_log(pac_lines(3)))
    write(allowed / "pac2200log-2.json.gz", gzip_log(pac_lines(4)))
    write(allowed / "rcmlog-3.json.gz", gzip_log([rcm_line(1)]))
    results = await call(hass, path=str(allowed / "pac2200log-*.json.gz"))
    assert [r["lines"] for r in results] == [3, 4]
    [result] = await call(
        hass, path=str(allowed / "rcmlog-3.json.gz"), output=str(allowed / "rcm.ndjson")
    )
    assert result["output"] == str(allowed / "rcm.ndjson")


async def test_file_work_runs_in_the_executor(
    hass: HomeAssistant, allowed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    original = streamlog.decompress_files

    def spy(*args: Any, **kwargs: Any) -> list[streamlog.FileResult]:
        threads.append(threading.current_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(streamlog, "decompress_files", spy)
    source = write(allowed / "a.json.gz", gzip_log(pac_lines(2)))
    await call(hass, path=str(source))
    assert threads
    assert threads[0] is not threading.main_thread()


def _outputs(directory: Path) -> list[Path]:
    return list(directory.glob("*.json"))


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("{allowed}/missing.json.gz", "path_not_found"),
        ("{allowed}/nothing-*.json.gz", "path_not_found"),
        ("{outside}/secret.json.gz", "path_not_allowed"),
        ("{allowed}/../outside/secret.json.gz", "path_not_allowed"),
        ("{allowed}/sub/../a.json.gz", "path_not_allowed"),
        ("{allowed}/link.json.gz", "path_not_allowed"),
        ("{allowed}/linkdir/secret.json.gz", "path_not_allowed"),
        ("{allowed}/*.gz", "path_not_allowed"),
        ("allowed/a.json.gz", "path_not_allowed"),
    ],
)
async def test_refused_inputs(
    hass: HomeAssistant, allowed: Path, tmp_path: Path, path: str, key: str
) -> None:
    outside = tmp_path / "outside"
    secret = write(outside / "secret.json.gz", gzip_log(pac_lines(1)))
    write(allowed / "a.json.gz", gzip_log(pac_lines(1)))
    (allowed / "sub").mkdir()
    if "link" in path or "*" in path:
        (allowed / "link.json.gz").symlink_to(secret)
        (allowed / "linkdir").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, path=path.format(allowed=allowed, outside=outside))
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert not _outputs(allowed)  # nothing was written


@pytest.mark.parametrize(
    ("output", "sqlite", "key"),
    [
        ("{outside}/a.json", None, "path_not_allowed"),
        ("{allowed}/linkdir/a.json", None, "path_not_allowed"),
        ("{allowed}/../outside/a.json", None, "path_not_allowed"),
        ("{allowed}/existing.json", None, "output_exists"),
        ("{allowed}/a.json.gz", None, "output_conflict"),
        (None, "{outside}/db.sqlite", "path_not_allowed"),
        (None, "{allowed}/a.json.gz", "output_conflict"),
    ],
)
async def test_refused_outputs(
    hass: HomeAssistant,
    allowed: Path,
    tmp_path: Path,
    output: str | None,
    sqlite: str | None,
    key: str,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (allowed / "linkdir").symlink_to(outside, target_is_directory=True)
    source = write(allowed / "a.json.gz", gzip_log(pac_lines(1)))
    write(allowed / "existing.json", b"keep")
    data: dict[str, Any] = {"path": str(source)}
    if output is not None:
        data["output"] = output.format(allowed=allowed, outside=outside)
    if sqlite is not None:
        data["sqlite"] = sqlite.format(allowed=allowed, outside=outside)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, **data)
    assert err.value.translation_key == key
    assert list(outside.iterdir()) == []
    assert (allowed / "existing.json").read_bytes() == b"keep"


async def test_existing_output_needs_overwrite(hass: HomeAssistant, allowed: Path) -> None:
    source = write(allowed / "a.json.gz", gzip_log(pac_lines(2)))
    write(allowed / "a.json", b"old")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, path=str(source))
    assert err.value.translation_key == "output_exists"
    assert str(allowed / "a.json") in str(err.value)
    assert "overwrite" in str(err.value)  # the translated message, not a traceback
    [result] = await call(hass, path=str(source), overwrite=True)
    assert result["error"] is None
    assert (allowed / "a.json").read_bytes() == b"".join(pac_lines(2))


async def test_unusable_database(hass: HomeAssistant, allowed: Path) -> None:
    source = write(allowed / "a.json.gz", gzip_log(pac_lines(2)))
    write(allowed / "notes.txt", b"this is no database, just some text " * 100)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, path=str(source), sqlite=str(allowed / "notes.txt"))
    assert err.value.translation_key == "sqlite_failed"
    assert not (allowed / "a.json").exists()
    # A database in a new directory is fine.
    [result] = await call(hass, path=str(source), sqlite=str(allowed / "new" / "db.sqlite"))
    assert result["sqlite_rows"] == 2


async def test_several_files_need_a_directory(hass: HomeAssistant, allowed: Path) -> None:
    write(allowed / "a.json.gz", gzip_log(pac_lines(1)))
    write(allowed / "b.json.gz", gzip_log(pac_lines(1)))
    write(allowed / "single.json", b"")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, path=str(allowed), output=str(allowed / "single.json"))
    assert err.value.translation_key == "output_not_directory"


async def test_admin_only(
    hass: HomeAssistant,
    allowed: Path,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
) -> None:
    source = write(allowed / "a.json.gz", gzip_log(pac_lines(2)))
    with pytest.raises(Unauthorized):
        await call(hass, Context(user_id=hass_read_only_user.id), path=str(source))
    assert not (allowed / "a.json").exists()
    with pytest.raises(Unauthorized):
        await call(hass, Context(user_id="unknown-user"), path=str(source))
    [result] = await call(hass, Context(user_id=hass_admin_user.id), path=str(source))
    assert result["lines"] == 2


async def test_newer_admin_helper_is_used_when_it_returns_responses(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []

    def register(
        hass: HomeAssistant,
        domain: str,
        service: str,
        service_func: Any,
        schema: Any = None,
        supports_response: SupportsResponse = SupportsResponse.NONE,
    ) -> None:
        calls.append({"service": service, "supports_response": supports_response})

    monkeypatch.setattr(services.service, "async_register_admin_service", register)
    services.async_setup_services(hass)
    assert calls == [
        {"service": SERVICE_DECOMPRESS_STREAM, "supports_response": SupportsResponse.OPTIONAL}
    ]

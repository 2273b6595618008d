"""Actions of the integration: ``solar_wallbox.decompress_stream`` (admin only).

Decodes the original tool's (and our raw logger's) incomplete gzip logs, see
:mod:`.streamlog`. Every input and output path must be absolute, free of ``..`` and
inside ``allowlist_external_dirs`` (symlinks are resolved first, so one leading outside
is refused). All checks happen before any file is written; a user mistake is a
translated ``ServiceValidationError``. File work runs in the executor.
"""

from __future__ import annotations

import inspect
import sqlite3
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

import voluptuous as vol
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError, Unauthorized, UnknownUser
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import service

from .const import DOMAIN, SERVICE_DECOMPRESS_STREAM

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .streamlog import FileResult

# The decoder (.streamlog) is imported only when the action runs: importing the package
# must not import it, so ``python -m custom_components.solar_wallbox.streamlog`` works
# without a runpy warning.
FORMATS: Final = ("raw", "ndjson")

ATTR_PATH: Final = "path"
ATTR_OUTPUT: Final = "output"
ATTR_OVERWRITE: Final = "overwrite"
ATTR_FORMAT: Final = "format"
ATTR_SQLITE: Final = "sqlite"

DECOMPRESS_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_PATH): cv.string,
        vol.Optional(ATTR_OUTPUT): cv.string,
        vol.Optional(ATTR_OVERWRITE, default=False): cv.boolean,
        vol.Optional(ATTR_FORMAT, default="raw"): vol.In(FORMATS),
        vol.Optional(ATTR_SQLITE): cv.string,
    }
)


def _invalid(key: str, path: str | Path) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"path": str(path)},
    )


def _check_allowed(hass: HomeAssistant, path: str | Path) -> Path:
    """``path`` if it is absolute, has no ``..`` and passes the allowlist (else raise)."""
    candidate = Path(path)
    if (
        not candidate.is_absolute()
        or ".." in candidate.parts
        or not hass.config.is_allowed_path(str(candidate))
    ):
        raise _invalid("path_not_allowed", path)
    return candidate


def _plan(hass: HomeAssistant, data: dict[str, Any]) -> list[tuple[Path, Path]]:
    """Check every path and return the (source, target) pairs. Blocking: executor."""
    from . import streamlog  # noqa: PLC0415

    pattern = str(data[ATTR_PATH]).strip()
    _check_allowed(hass, pattern)
    sources = streamlog.expand_inputs(pattern)
    if not sources:
        raise _invalid("path_not_found", pattern)
    for source in sources:
        _check_allowed(hass, source)
    output: str | None = data.get(ATTR_OUTPUT)
    if output is not None:
        output = output.strip()
        _check_allowed(hass, output)
        if len(sources) > 1 and Path(output).exists() and not Path(output).is_dir():
            raise _invalid("output_not_directory", output)
    targets = streamlog.plan_outputs(sources, output)
    seen: set[Path] = set()
    inputs = {source.resolve() for source in sources}
    for target in targets:
        _check_allowed(hass, target)
        resolved = target.resolve()
        if resolved in seen or resolved in inputs:
            raise _invalid("output_conflict", target)
        seen.add(resolved)
        if target.is_dir() or (target.exists() and not data[ATTR_OVERWRITE]):
            raise _invalid("output_exists", target)
    sqlite: str | None = data.get(ATTR_SQLITE)
    if sqlite is not None:
        database = _check_allowed(hass, sqlite.strip())
        if database.resolve() in inputs | seen or database.is_dir():
            raise _invalid("output_conflict", database)
    return list(zip(sources, targets, strict=True))


def _decompress(hass: HomeAssistant, data: dict[str, Any]) -> list[FileResult]:
    """Check the paths, then decode every file. Blocking: executor."""
    from . import streamlog  # noqa: PLC0415

    try:
        jobs = _plan(hass, data)
    except (OSError, ValueError) as err:
        # A path the system refuses: too long, a NUL character, not readable, ...
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_path",
            translation_placeholders={"path": str(data.get(ATTR_PATH))[:200], "error": str(err)},
        ) from err
    sqlite = data.get(ATTR_SQLITE)
    database = Path(sqlite.strip()) if sqlite else None
    try:
        return streamlog.decompress_files(
            jobs, fmt=data[ATTR_FORMAT], overwrite=data[ATTR_OVERWRITE], sqlite=database
        )
    except (OSError, sqlite3.Error) as err:  # only opening the database raises
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="sqlite_failed",
            translation_placeholders={"path": str(database), "error": str(err)},
        ) from err


async def _async_decompress_stream(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Handle ``decompress_stream``: per-file results as response data."""
    results = await hass.async_add_executor_job(_decompress, hass, dict(call.data))
    return cast(ServiceResponse, {"files": [result.as_dict() for result in results]})


async def _async_admin_only(
    hass: HomeAssistant,
    handler: Callable[[HomeAssistant, ServiceCall], Awaitable[ServiceResponse]],
    call: ServiceCall,
) -> ServiceResponse:
    """The admin check of ``async_register_admin_service``, for the Home Assistant
    versions whose helper cannot register an action with response data."""
    if call.context.user_id:
        user = await hass.auth.async_get_user(call.context.user_id)
        if user is None:
            raise UnknownUser(context=call.context)
        if not user.is_admin:
            raise Unauthorized(context=call.context)
    return await handler(hass, call)


def _admin_helper_returns_responses() -> bool:
    parameters = inspect.signature(service.async_register_admin_service).parameters
    return "supports_response" in parameters


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions (from ``async_setup``)."""
    if _admin_helper_returns_responses():
        register: Any = service.async_register_admin_service
        register(
            hass,
            DOMAIN,
            SERVICE_DECOMPRESS_STREAM,
            partial(_async_decompress_stream, hass),
            schema=DECOMPRESS_SCHEMA,
            supports_response=SupportsResponse.OPTIONAL,
        )
        return
    hass.services.async_register(
        DOMAIN,
        SERVICE_DECOMPRESS_STREAM,
        partial(_async_admin_only, hass, _async_decompress_stream),
        schema=DECOMPRESS_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )

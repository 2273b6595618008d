"""Actions of the integration: ``solar_wallbox.decompress_stream`` (admin only).

Decodes the original tool's (and our raw logger's) incomplete gzip logs, see
:mod:`.streamlog`. Every input and output path must be absolute, free of ``..`` and
inside ``allowlist_external_dirs``, both as given and with every symbolic link resolved;
the paths are checked before anything is written (``streamlog.plan_jobs``) and again when
each file is opened (no symbolic link on the way, inputs regular files). Limits on output,
time and lines bound every call; a cancelled call stops between two pieces and leaves no
file under its final name. A user mistake or a limit is a translated
``ServiceValidationError``. File work runs in the executor.
"""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

import voluptuous as vol
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError, Unauthorized, UnknownUser
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import service

from .const import DOMAIN, SERVICE_DECOMPRESS_STREAM
from .logformat import FORMATS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .streamlog import FileResult

# The decoder (.streamlog) is imported only when the action runs: importing the package
# must not import it, so ``python -m custom_components.solar_wallbox.streamlog`` works
# without a runpy warning. Its default limits are repeated here for the schema (a test
# keeps them equal); the output formats come from .logformat, which the decoder uses too.
DEFAULT_MAX_SECONDS: Final = 600
DEFAULT_MAX_LINES: Final = 20_000_000

ATTR_PATH: Final = "path"
ATTR_OUTPUT: Final = "output"
ATTR_OVERWRITE: Final = "overwrite"
ATTR_FORMAT: Final = "format"
ATTR_SQLITE: Final = "sqlite"
ATTR_MAX_OUTPUT: Final = "max_output"  # MB
ATTR_MAX_SECONDS: Final = "max_seconds"
ATTR_MAX_LINES: Final = "max_lines"

DECOMPRESS_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_PATH): cv.string,
        vol.Optional(ATTR_OUTPUT): cv.string,
        vol.Optional(ATTR_OVERWRITE, default=False): cv.boolean,
        vol.Optional(ATTR_FORMAT, default="raw"): vol.In(FORMATS),
        vol.Optional(ATTR_SQLITE): cv.string,
        vol.Optional(ATTR_MAX_OUTPUT): vol.All(vol.Coerce(float), vol.Range(min=0.001, max=1e6)),
        vol.Optional(ATTR_MAX_SECONDS, default=DEFAULT_MAX_SECONDS): vol.All(
            vol.Coerce(float), vol.Range(min=0.1, max=86_400)
        ),
        vol.Optional(ATTR_MAX_LINES, default=DEFAULT_MAX_LINES): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=10**10)
        ),
    }
)


def _invalid(key: str, path: str, detail: str = "") -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"path": path, "error": detail},
    )


def _allowed(hass: HomeAssistant, path: Path) -> bool:
    """Absolute, without ``..``, inside ``allowlist_external_dirs``."""
    try:
        return (
            path.is_absolute() and ".." not in path.parts and hass.config.is_allowed_path(str(path))
        )
    except (OSError, ValueError):  # too long, a NUL character
        return False


def _run(hass: HomeAssistant, data: dict[str, Any], cancel: threading.Event) -> list[FileResult]:
    """Check the paths, then decode every file. Blocking: executor."""
    from . import streamlog  # noqa: PLC0415

    pattern = str(data[ATTR_PATH]).strip()
    output: str | None = data[ATTR_OUTPUT].strip() if data.get(ATTR_OUTPUT) else None
    sqlite: str | None = data[ATTR_SQLITE].strip() if data.get(ATTR_SQLITE) else None
    allowed = partial(_allowed, hass)
    try:
        # The pattern itself (plan_jobs checks every path it expands to, and the outputs).
        streamlog.check_names(Path(pattern))
        if not allowed(Path(pattern)):
            raise streamlog.PlanError("path_not_allowed", pattern)
        sources = streamlog.expand_inputs(pattern)
        if not sources:
            raise streamlog.PlanError("path_not_found", pattern)
        plan = streamlog.plan_jobs(
            sources,
            output,
            overwrite=data[ATTR_OVERWRITE],
            sqlite=Path(sqlite) if sqlite else None,
            allowed=allowed,
        )
        input_bytes = sum(source.stat().st_size for source, _ in plan.jobs)
    except streamlog.PlanError as err:
        raise _invalid(err.key, err.path, err.detail) from err
    except (OSError, ValueError) as err:
        # A path the system refuses: too long, a NUL character, not readable, ...
        raise _invalid(
            "invalid_path", streamlog.printable(pattern)[:200], streamlog.printable(err)
        ) from err
    max_output = data.get(ATTR_MAX_OUTPUT)
    limits = streamlog.Limits(
        max_output=None if max_output is None else int(max_output * 1_000_000),
        max_seconds=data[ATTR_MAX_SECONDS],
        max_lines=data[ATTR_MAX_LINES],
    )
    budget = streamlog.Budget(limits, input_bytes, cancel)
    try:
        results = streamlog.decompress_files(
            plan.jobs,
            fmt=data[ATTR_FORMAT],
            overwrite=data[ATTR_OVERWRITE],
            sqlite=plan.database,
            budget=budget,
        )
    except (OSError, sqlite3.Error) as err:  # only opening the database raises
        raise _invalid(
            "sqlite_failed", streamlog.printable(plan.database), streamlog.printable(err)
        ) from err
    if results and (limit := results[-1].limit) is not None:
        cut = results[-1]
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=f"limit_{limit}",
            translation_placeholders={
                "path": streamlog.printable(cut.path),
                "output": streamlog.printable(cut.output or "-"),
                "lines": str(cut.lines),
                "megabytes": f"{cut.bytes_out / 1_000_000:.1f}",
                "done": str(len(results) - 1),
                "skipped": str(len(plan.jobs) - len(results)),
                "limit": f"{budget.output_limit / 1_000_000:.1f} MB"
                if limit == "max_output"
                else str(
                    {"max_seconds": limits.max_seconds, "max_lines": limits.max_lines}.get(
                        limit, f"{limits.disk_reserve // 1_000_000} MB"
                    )
                ),
            },
        )
    return results


async def _async_decompress_stream(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Handle ``decompress_stream``: per-file results as response data.

    A cancelled call (the caller went away, a script's timeout) tells the executor job to
    stop between two pieces; it then removes its temporary file.
    """
    cancel = threading.Event()
    try:
        results = await hass.async_add_executor_job(_run, hass, dict(call.data), cancel)
    except asyncio.CancelledError:
        cancel.set()
        raise
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

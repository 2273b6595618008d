"""The repair issues of surplus charging: what the user must know or fix, per wallbox entry.

The charging manager (charging_manager.py) reports what it saw after each decision; this
module decides when that is worth an issue and when the issue is gone again.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .charging.model import LOCKOUT_STATE_UNREADABLE
from .const import DOMAIN, LOGGER

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .charging.model import Decision, Lockout, SiteInput, WallboxInput
    from .models import SolarWallboxConfigEntry

STALE_REPAIR_AFTER: Final = timedelta(minutes=2)
# Another energy manager (or a person) changing register 1000 behind our back: this many
# overwrites within the window raise a repair issue; none for a window clears it.
OVERWRITE_WINDOW: Final = timedelta(minutes=10)
OVERWRITES_FOR_REPAIR: Final = 3
ISSUE_CHARGER_UNREACHABLE: Final = "charger_unreachable"
ISSUE_SITE_DATA_STALE: Final = "site_data_stale"
ISSUE_OVERWRITTEN: Final = "current_limit_overwritten"
ISSUE_RCM_LOCKOUT: Final = "rcm_lockout"
# The lockout's translation when it was latched because the saved state was unreadable.
ISSUE_RCM_LOCKOUT_UNREADABLE: Final = "rcm_lockout_state_unreadable"


class ChargingIssues:
    """Raises and clears the repair issues of one wallbox entry."""

    def __init__(self, hass: HomeAssistant, entry: SolarWallboxConfigEntry) -> None:
        """Issues of ``entry`` (their ids end with its entry id)."""
        self.hass = hass
        self.entry = entry
        self._stale_since: datetime | None = None
        self._overwrites: deque[datetime] = deque()

    def _issue_id(self, key: str) -> str:
        return f"{key}_{self.entry.entry_id}"

    def delete(self, key: str) -> None:
        """The problem is gone."""
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(key))

    def raise_issue(self, key: str, **placeholders: str) -> None:
        """Tell the user (an unreachable charger is an error, the rest warnings)."""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(key),
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR
            if key == ISSUE_CHARGER_UNREACHABLE
            else ir.IssueSeverity.WARNING,
            translation_key=key,
            translation_placeholders={"title": self.entry.title, **placeholders},
        )

    def surplus_off(self) -> None:
        """Surplus charging was switched off: what it reported no longer matters."""
        for key in (ISSUE_CHARGER_UNREACHABLE, ISSUE_OVERWRITTEN, ISSUE_RCM_LOCKOUT):
            self.delete(key)
        self._overwrites.clear()

    def check_stale(self, now: datetime, site: SiteInput | None, stale_timeout: float) -> None:
        """An issue once the site's readings have been missing or old for a while."""
        stale = site is None or (now - site.measured_at).total_seconds() > stale_timeout
        if not stale:
            self._stale_since = None
            self.delete(ISSUE_SITE_DATA_STALE)
            return
        if self._stale_since is None:
            self._stale_since = now
        elif now - self._stale_since >= STALE_REPAIR_AFTER:
            self.raise_issue(ISSUE_SITE_DATA_STALE)

    def check_overwritten(
        self, now: datetime, decision: Decision, wallbox: WallboxInput, written: int | None
    ) -> None:
        """An issue when something else keeps changing the current limit."""
        while self._overwrites and now - self._overwrites[0] > OVERWRITE_WINDOW:
            self._overwrites.popleft()
        if decision.overwritten:
            self._overwrites.append(now)
            # Once per episode; the repair issue tells the rest.
            log = LOGGER.warning if len(self._overwrites) == 1 else LOGGER.debug
            log(
                "The wallbox's current limit is %s A, not the %s A written last: another "
                "energy manager or a person changed it",
                wallbox.current_limit,
                written,
            )
            if len(self._overwrites) >= OVERWRITES_FOR_REPAIR:
                self.raise_issue(
                    ISSUE_OVERWRITTEN, found=str(wallbox.current_limit), written=str(written)
                )
        elif not self._overwrites:
            self.delete(ISSUE_OVERWRITTEN)

    def check_lockout(self, lockout: Lockout) -> None:
        """A fixable issue while a residual current alarm holds charging at 0 A."""
        if not lockout.latched:
            self.delete(ISSUE_RCM_LOCKOUT)
            return
        unreadable = lockout.alarm == LOCKOUT_STATE_UNREADABLE
        since = dt_util.as_local(lockout.since).strftime("%Y-%m-%d %H:%M") if lockout.since else "?"
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(ISSUE_RCM_LOCKOUT),
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.CRITICAL,
            translation_key=ISSUE_RCM_LOCKOUT_UNREADABLE if unreadable else ISSUE_RCM_LOCKOUT,
            translation_placeholders={
                "title": self.entry.title,
                "alarm": lockout.alarm or "?",
                "since": since,
            },
            data={"entry_id": self.entry.entry_id},
        )

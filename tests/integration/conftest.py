"""Every test here runs in Home Assistant's test harness (tests/harness.py)."""

from ..harness import auto_enable_custom_integrations, no_deprecated_api_use  # noqa: F401
from .sites import site  # noqa: F401  (the fixture of the surplus charging tests)

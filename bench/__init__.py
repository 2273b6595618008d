"""Benchmarks of the Solar Wallbox drivers and controller (no Home Assistant imports).

They import ``custom_components/solar_wallbox/drivers/``, ``charging/`` and the log code
directly: the integration package imports no Home Assistant at module level (see its
``__init__.py`` and docs/architecture.md).
"""

"""Async device drivers (Modbus TCP); no Home Assistant imports."""

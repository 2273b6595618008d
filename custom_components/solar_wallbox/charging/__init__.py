"""Surplus charging controller: pure decisions, no Home Assistant, no I/O."""

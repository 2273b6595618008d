"""Tests of the tools: simulator, benchmark, demo, soak, API check, brand icon."""

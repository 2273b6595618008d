"""Tests of the code without Home Assistant: drivers, controller, log format, layout rules."""

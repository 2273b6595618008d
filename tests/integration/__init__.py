"""Tests in Home Assistant's test harness: the integration as users run it."""

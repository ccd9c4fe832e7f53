"""Tests of the measurement engine (histogram, Locust plugin and locustfiles)."""

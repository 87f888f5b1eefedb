"""Alerts: rule engine with hysteresis and the MQTT publisher (API documented below once complete)."""

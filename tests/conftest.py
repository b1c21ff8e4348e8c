"""Fixtures shared by every test: NiceGUI's simulated users, and real servers and browsers."""

pytest_plugins = ["nicegui.testing.user_plugin", "tests.fixtures"]

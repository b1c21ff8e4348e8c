"""Connect Four on NiceGUI: ``python main.py`` serves the game (configuration: README, "Configuration")."""

from __future__ import annotations

import logging
import sys

from nicegui import ui

import serving
from games.settings import Settings, SettingsError
from ui.app import run_options, setup
from ui.theme import Theme

# The look of every page: edit it here, e.g. Theme(red="#d81b60", board="#263238", disc_size=72).
THEME = Theme()


def main() -> None:
    """Read the environment, build the app, install the server's tuning and serve until SIGINT or SIGTERM."""
    try:
        settings = Settings.from_env()
        tuning = serving.ServingSettings.from_env(host=settings.host, port=settings.port)
    except (SettingsError, serving.ServingSettingsError) as exc:
        sys.exit(f"connect4: {exc}")
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("games", "serving"):
        logging.getLogger(name).setLevel(settings.log_level)
    if settings.storage_secret_is_random:
        logging.warning("STORAGE_SECRET is not set: using a random one, so player sessions will not survive a restart.")
    setup(settings, THEME)
    ui.run(**run_options(settings), **serving.install(tuning))


if __name__ == "__main__":
    main()

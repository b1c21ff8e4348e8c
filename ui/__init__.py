"""The NiceGUI pages: everything a player sees, in Python."""

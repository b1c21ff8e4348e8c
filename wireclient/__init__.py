"""NiceGUI's wire protocol spoken from Python: what the load generator and the tests both drive the app with."""

from wireclient.browser import (
    Browser,
    Observer,
    PageError,
    click_listener,
    inner_cells,
    label_of,
    parse_page,
    wait_until,
)
from wireclient.tally import Tally

__all__ = [
    "Browser",
    "Observer",
    "PageError",
    "Tally",
    "click_listener",
    "inner_cells",
    "label_of",
    "parse_page",
    "wait_until",
]

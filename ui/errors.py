"""The game's own pages for errors: every 404, 400 and 500 has the header and a way home, never a traceback.

NiceGUI's own error page shows the exception's name ("HTTPException: 404: Not Found") without the
site's header. These are its public hooks: FastAPI exception handlers for HTTP errors and invalid
requests, and :meth:`app.on_page_exception` for an exception inside a page.
"""

from __future__ import annotations

import inspect
import logging

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from nicegui import Client, app, core, ui
from starlette.exceptions import HTTPException

from ui.labels import named
from ui.theme import LANGUAGE, frame

__all__ = ["add_error_pages", "error_page"]

log = logging.getLogger(__name__)

_NICEGUI_404 = app.exception_handlers.get(404)
"""NiceGUI's own 404 handler, which also serves an app built as one root page (``ui.run(root)``)."""

_WORDS = {
    400: ("This link is not valid", "The address has a mistake in it."),
    404: ("Page not found", "There is nothing at this address."),
    500: ("Something went wrong", "The server could not show this page. Try again in a moment."),
}


def error_page(status: int, detail: str = "") -> None:
    """Build the page for ``status`` in the current client: the header, what happened, and the way home."""
    title, sentence = _WORDS.get(status, _WORDS[400] if status < 500 else _WORDS[500])
    with frame(title):
        ui.label(f"{title}.").classes("text-2xl font-bold").mark("error")
        ui.label(detail or sentence)
        named(ui.link("Back to the home page", "/"), "Back to the home page")


def _serve(request: Request, status: int) -> Response:
    # A client of its own, like NiceGUI's error page, so the header's links and dark mode work as on any page.
    with Client(ui.page("", language=LANGUAGE), request=request) as client:
        error_page(status)
    return client.build_response(request, status)


def _is_api(request: Request) -> bool:
    """Whether the request reached an HTTP route of ours (JSON for those), not a page or nothing at all."""
    endpoint = request.scope.get("endpoint")
    if endpoint is None or endpoint is app or request.scope.get("nicegui_page_path"):
        return False
    # A page whose arguments did not validate has not run yet, so it has not marked the request.
    return getattr(request.scope.get("route"), "path", None) not in Client.page_routes.values()


def add_error_pages() -> None:
    """Answer HTTP errors, invalid requests and exceptions in pages with the game's own pages."""

    async def http_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, HTTPException) or _is_api(request):
            return await http_exception_handler(request, exc)  # type: ignore[arg-type]
        if exc.status_code == 404 and core.root is not None and _NICEGUI_404 is not None:
            # An app of one root page (ui.run(root)) routes every path to it.
            response = _NICEGUI_404(request, exc)
            return await response if inspect.isawaitable(response) else response
        return _serve(request, exc.status_code)

    # Starlette looks a status code up before the exception's class, and NiceGUI registers 404 itself.
    app.add_exception_handler(404, http_error)
    app.add_exception_handler(HTTPException, http_error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            return await request_validation_exception_handler(request, exc)
        # A page's query value of the wrong type ("?analysis=maybe") is a bad link, not a form to correct.
        log.info("invalid request for %s: %s", request.url.path, exc.errors())
        return _serve(request, 400)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        # Outside pages (whose exceptions the handler below answers): a sentence, not NiceGUI's page with
        # the exception's name. Starlette raises the exception on after this, so the server logs it.
        return PlainTextResponse("Something went wrong on the server.", status_code=500)

    def page_error(exc: Exception) -> None:
        error_page(500)

    app.on_page_exception(page_error)

"""Security headers on every HTTP response: no framing, no referrer to other sites, no sniffing, a CSP.

Security behaviour, not tuning: :func:`serving.install` installs it whatever SERVER_TUNING says.
What the Content-Security-Policy allows and why NiceGUI needs it: serving/README.md, "Security headers".
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "SecurityHeaders"]

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        # NiceGUI's page template has inline scripts, and Vue compiles templates and NiceGUI evaluates
        # ":prop" values and run_javascript code at run time (new Function / eval).
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",  # the template's <style> blocks, Vue's style bindings, Tailwind's sheets
        "img-src 'self' data:",  # the page's icon: NiceGUI sends an emoji favicon as a data: SVG
        "font-src 'self'",
        "connect-src 'self'",  # the socket: same host, ws: or wss: (CSP Level 3)
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
"""As strict as a NiceGUI page allows: everything from this site only, never framed."""

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"referrer-policy", b"same-origin"),  # join and watch keys are in URLs: never sent to another site
    (b"x-content-type-options", b"nosniff"),
)


class SecurityHeaders:
    """ASGI middleware that adds :data:`SECURITY_HEADERS` to every HTTP response (a header the app set stays)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A socket's frames pass by untouched: wrapping its send would cost a call per frame, for
        # nothing (a refused socket's own 429 page carries the headers, see serving.limits).
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in SECURITY_HEADERS if header[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

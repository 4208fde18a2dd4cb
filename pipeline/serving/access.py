"""Who may call ``hcc serve``: a bearer token, required off loopback.

* ``hcc serve`` binds to ``127.0.0.1`` by default: only this machine reaches it.
* A token comes from ``HCC_SERVE_TOKEN`` (the token itself) or ``HCC_SERVE_TOKEN_FILE`` (a file
  holding it, e.g. a container secret); at least :data:`MIN_TOKEN_CHARS` printable ASCII
  characters without spaces (``python -c "import secrets; print(secrets.token_urlsafe(32))"``).
* Bound to any other address (``--host 0.0.0.0``, a LAN address, a host name) the server refuses
  to start without a token (:func:`token_for_host`). A configured token is enforced on every
  address, loopback included.
* With a token, every request but ``/ping`` and ``/health`` (the liveness probes of a proxy or an
  orchestrator, which carry no token and say nothing but "up") needs
  ``Authorization: Bearer <token>``. The token is compared in constant time
  (:func:`hmac.compare_digest`); a request without it or with a wrong one gets HTTP 401 with a
  fixed body before its body is read: nothing of the request is echoed.

Transport security is a proxy's job: put the server behind a TLS-terminating proxy (nginx,
docs/usage.md "Serving beyond this machine") that forwards to 127.0.0.1.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
from collections.abc import Mapping
from pathlib import Path

TOKEN_ENV = "HCC_SERVE_TOKEN"
TOKEN_FILE_ENV = "HCC_SERVE_TOKEN_FILE"
MIN_TOKEN_CHARS = 32
OPEN_PATHS = frozenset({"/ping", "/health"})
"""Routes answered without a token (liveness probes)."""

_UNAUTHORIZED = json.dumps({
    "error_code": "UNAUTHENTICATED",
    "message": "this server needs 'Authorization: Bearer <token>' (the token of HCC_SERVE_TOKEN "
               "or HCC_SERVE_TOKEN_FILE on the server); the request had none or a wrong one",
}).encode()


class TokenError(ValueError):
    """The server's token configuration is unusable (the message names the variable)."""


def configured_token(env: Mapping[str, str] | None = None) -> bytes | None:
    """The bearer token of ``HCC_SERVE_TOKEN`` or ``HCC_SERVE_TOKEN_FILE``, or None if neither
    is set. Raises :class:`TokenError` for both set, an unreadable file or a weak token; the
    message never contains the token."""
    env = os.environ if env is None else env
    value, path = env.get(TOKEN_ENV), env.get(TOKEN_FILE_ENV)
    if value is not None and path is not None:
        raise TokenError(f"{TOKEN_ENV} and {TOKEN_FILE_ENV}: expected one of them, got both")
    if path is not None:
        source = f"{TOKEN_FILE_ENV} ({path})"
        try:
            value = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenError(f"{source}: expected a readable UTF-8 file holding the token, got "
                             f"{type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}"
                             ) from None
    elif value is not None:
        source = TOKEN_ENV
    else:
        return None
    token = value.strip()
    if len(token) < MIN_TOKEN_CHARS:
        raise TokenError(f"{source}: expected a token of at least {MIN_TOKEN_CHARS} characters, "
                         f"got {len(token)}. Hint: python -c \"import secrets; "
                         "print(secrets.token_urlsafe(32))\"")
    if not all(33 <= ord(c) <= 126 for c in token):
        raise TokenError(f"{source}: expected printable ASCII without spaces (it travels in an "
                         "HTTP header), got other characters")
    return token.encode("ascii")


def is_loopback(host: str) -> bool:
    """Is ``host`` a loopback address (127.0.0.0/8, ::1, ``localhost``)? A host name other than
    ``localhost`` counts as not loopback: it may resolve to any interface."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_for_host(host: str, env: Mapping[str, str] | None = None) -> bytes | None:
    """The token to enforce for a server bound to ``host``: the configured one, which a
    non-loopback ``host`` requires (:class:`TokenError` without one)."""
    token = configured_token(env)
    if token is None and not is_loopback(host):
        raise TokenError(
            f"--host {host}: a server reachable beyond this machine needs a bearer token, got "
            f"none. Set {TOKEN_ENV} (or {TOKEN_FILE_ENV}, a file holding it) to a random token "
            f"of at least {MIN_TOKEN_CHARS} characters, or keep --host 127.0.0.1 behind a "
            "TLS-terminating proxy")
    return token


def authorized(headers, token: bytes) -> bool:
    """Does exactly one ``Authorization: Bearer <token>`` header carry ``token``? (ASGI header
    pairs; constant-time comparison.)"""
    values = [v for k, v in headers if k.lower() == b"authorization"]
    if len(values) != 1:
        return False
    scheme, _, presented = values[0].strip().partition(b" ")
    return scheme.lower() == b"bearer" and hmac.compare_digest(presented.strip(), token)


class BearerGuard:
    """ASGI middleware: HTTP 401 for a request without the bearer token (outermost layer, so a
    refused request's body is never read)."""

    def __init__(self, app, token: bytes):
        if not token:
            raise TokenError("BearerGuard: expected a non-empty token, got none")
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind not in ("http", "websocket") or scope.get("path") in OPEN_PATHS \
                or authorized(scope.get("headers") or (), self.token):
            return await self.app(scope, receive, send)
        if kind == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(_UNAUTHORIZED)).encode()),
                                (b"www-authenticate", b'Bearer realm="hcc serve"')]})
        await send({"type": "http.response.body", "body": _UNAUTHORIZED, "more_body": False})

"""The application factory and the world router in front of it.

`create_app(settings, clock)` builds the FastAPI app with no module-level state. In front of the routes sits
`WorldRouter`, a plain ASGI layer that picks the world from the path prefix, journals each product request,
and applies the world's faults — holding, delaying, failing or dropping a request before the routes see it, so
a held request is judged (token, clock) only after its release, as one that arrived after a host woke up.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_identity_server import api, control, identity
from mock_identity_server.clock import Clock, VirtualClock, host_now
from mock_identity_server.faults import ActionKind, Fault
from mock_identity_server.identity import parse_form
from mock_identity_server.journal import JournalEntry
from mock_identity_server.responses import HttpProblem, bitwarden_error, json_response, oauth_error
from mock_identity_server.settings import ServerSettings
from mock_identity_server.store import AccountSpec
from mock_identity_server.world import DEFAULT_WORLD_ID, World, Worlds

__all__ = ["CONTROL_TOKEN_HEADER", "DEFAULT_EMAIL", "DEFAULT_PASSWORD", "ConnectionDropped", "create_app"]

logger = logging.getLogger(__name__)

DEFAULT_EMAIL = "qa@example.com"
DEFAULT_PASSWORD = "correct horse battery staple"
CONTROL_TOKEN_HEADER = "x-sleepwalk-control-token"
_TOKEN_PATH = "/identity/connect/token"


class ConnectionDropped(Exception):
    """Raised where a `close` fault cannot reach the socket (in-process test clients)."""


def create_app(
    settings: ServerSettings | None = None,
    clock: Clock | None = None,
    *,
    seed: AccountSpec | None = None,
    control_token: str | None = None,
) -> FastAPI:
    """Build the mock server.

    `clock` must be a `VirtualClock` (or None for one frozen at the host's current time) because the control API
    moves it. `seed` is the account created in every world; None seeds `qa@example.com`.
    """
    if clock is None:
        clock = VirtualClock(host_now())
    if not isinstance(clock, VirtualClock):
        raise TypeError(
            f"create_app needs a VirtualClock so the control API can move it, got {type(clock).__name__}; "
            "pass VirtualClock(start) instead."
        )
    seed = seed or AccountSpec(email=DEFAULT_EMAIL, password=DEFAULT_PASSWORD)
    default_world = World(id=DEFAULT_WORLD_ID, clock=clock, settings=settings or ServerSettings(), seed=seed)
    app = FastAPI(
        title="sleepwalk mock Bitwarden server",
        summary="Bitwarden API and Identity endpoints on a virtual clock, with a control API under /_control/.",
        version="0.1.0",
    )
    app.state.worlds = Worlds(default_world)
    # The routes go straight onto the app's router: FastAPI keeps an included router as a nested branch and
    # matches twice per request through it, about a tenth of an authenticated GET (bench/README.md).
    for router in (identity.router, api.router, control.router):
        app.router.routes.extend(router.routes)
    app.add_exception_handler(HttpProblem, _problem_handler)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_handler)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_exception_handler)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected_handler)
    app.add_middleware(WorldRouter, worlds=app.state.worlds, control_token=control_token)
    return app


async def _problem_handler(request: Request, exc: HttpProblem) -> Response:
    return exc.response


async def _validation_handler(request: Request, exc: RequestValidationError) -> Response:
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        errors.setdefault(location, []).append(str(error.get("msg", "invalid")))
    if request.url.path.endswith(_TOKEN_PATH):
        return oauth_error("invalid_request")
    return bitwarden_error(400, "The model state is invalid.", errors)


async def _http_exception_handler(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 404:
        return bitwarden_error(404, "Resource not found.")
    if exc.status_code == 405:
        return bitwarden_error(405, f"Method {request.method} is not allowed on {request.url.path}.")
    return bitwarden_error(exc.status_code, str(exc.detail))


async def _unexpected_handler(request: Request, exc: Exception) -> Response:
    # A bug of ours must still look like a server error to the client, not a traceback on the wire. A dropped
    # connection is no bug: in-process clients see it as the exception they get instead of an answer.
    if not isinstance(exc, ConnectionDropped):
        logger.exception("Unhandled error serving %s %s", request.method, request.url.path)
    return bitwarden_error(500, "An error has occurred.")


class WorldRouter:
    """ASGI layer: world by prefix, control-token check, journal, faults and holds."""

    def __init__(self, app: ASGIApp, worlds: Worlds, control_token: str | None) -> None:
        self.app = app
        self.worlds = worlds
        self.control_token = control_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        world = self.worlds.default
        local_path = path
        if path.startswith("/w/"):
            world_id, _, rest = path[3:].partition("/")
            found = self.worlds.get(world_id)
            if found is None:
                await _send_response(
                    send,
                    json_response({"error": f"No world {world_id!r}; POST /_control/worlds creates one."}, 404),
                )
                return
            world, local_path = found, "/" + rest
            scope = {**scope, "root_path": scope.get("root_path", "") + world.prefix}
        scope = {**scope, "state": {**scope.get("state", {}), "world": world}}
        if local_path.startswith("/_control") or local_path in ("/docs", "/openapi.json"):
            if not self._control_allowed(scope):
                await _send_response(
                    send,
                    json_response(
                        {"error": f"The control API needs the {CONTROL_TOKEN_HEADER} header on this server."},
                        401,
                    ),
                )
                return
            await self.app(scope, receive, send)
            return
        await self._serve_product(world, local_path, scope, receive, send)

    def _control_allowed(self, scope: Scope) -> bool:
        if self.control_token is None:
            return True
        for name, value in scope.get("headers", []):
            if name == CONTROL_TOKEN_HEADER.encode():
                return hmac.compare_digest(value, self.control_token.encode())
        return False

    async def _serve_product(self, world: World, path: str, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        method: str = scope["method"]
        form = parse_form(body) if path == _TOKEN_PATH and body else {}
        grant_type = form.get("grant_type")
        scope["state"]["form"] = form
        entry = world.journal.open(
            method=method,
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            arrived_real=host_now(),
            arrived_virtual=world.clock.now(),
            grant_type=grant_type,
        )
        scope["state"]["journal_entry"] = entry
        status_box: list[int] = []

        async def send_tracking(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box.append(message["status"])
            await send(message)

        try:
            fault = world.faults.take(method, path, grant_type, _has_bearer(scope)) if world.faults.active else None
            if fault is not None:
                entry.fault_id, entry.fault_action = fault.id, fault.spec.action.kind.value
                answered = await self._apply_fault(fault, world, entry, send_tracking, receive)
                if answered:
                    return
            await self.app(scope, _replay(body, receive), send_tracking)
        finally:
            entry.status = status_box[0] if status_box else None
            entry.answered_real = host_now()
            entry.answered_virtual = world.clock.now()
            world.journal.close(entry)

    async def _apply_fault(
        self, fault: Fault, world: World, entry: JournalEntry, send: Send, raw_receive: Receive
    ) -> bool:
        """Carry out `fault`; True when it answered (or dropped) the request itself."""
        action = fault.spec.action
        if action.kind is ActionKind.HOLD:
            held = world.holds.park(
                method=entry.method,
                path=entry.path,
                fault_id=fault.id,
                journal_seq=entry.seq,
                arrived_real=entry.arrived_real,
                arrived_virtual=entry.arrived_virtual,
            )
            entry.held = True
            await held.released.wait()
            return False
        if action.kind is ActionKind.DELAY:
            await asyncio.sleep(action.seconds)
            return False
        if action.kind is ActionKind.STATUS:
            status, headers, payload = action.response_parts()
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
            return True
        entry.note = "connection dropped by fault"
        await _drop_connection(raw_receive)
        return True


def _has_bearer(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            return bool(value[:7].lower() == b"bearer ")
    return False


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_response(send: Send, response: Response) -> None:
    await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


async def _drop_connection(receive: Receive) -> None:
    # uvicorn's receive is a bound method of the request cycle, which holds the transport: aborting it resets the
    # TCP connection before a byte of the response is written, as a crashed proxy or a lost network would.
    # Not `send`: Starlette's ServerErrorMiddleware wraps it in a closure before it reaches this layer, while
    # `receive` arrives as uvicorn passed it.
    cycle: Any = getattr(receive, "__self__", None)
    transport: Any = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionDropped("A close fault dropped this request; the test client has no socket to close.")
    transport.abort()
    # Let the server notice the lost connection (TLS takes a few loop turns), so it neither answers 500 on it nor
    # logs a response that never started. Bounded: these are event-loop turns, not waiting.
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)

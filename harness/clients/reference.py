"""The reference client as a scenario client: `reference:legacy`, `reference:fixed`, `reference:mobile`.

It plays the CLI's commands (sync, create, delete, status) with the request sequences of client-behavior.md §10
on top of the `ApiModel`, in virtual time: its clock is injected, and a sleep at a request happens in its
`before_send` hook — after the request was built with its token, before it is sent — with no threads and no
waiting. In `command` mode each command is a new "process" (fresh in-memory state over the stored state, as a
new `bw` process reads data.json); in `serve` mode one process lives through the scenario.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs

import httpx

from harness._control import Control, WorldInfo
from harness._errors import ClientError
from harness._outcome import CommandResult
from harness._profiles import Profile
from harness._scenario import ClientSetup, ClientState, Step
from harness.clients._kdf import login_password_hash
from harness.clients._reference_model import ApiError, ApiModel, ClientClock, Storage
from harness.clients.base import SleepPlan

__all__ = ["ReferenceDriver"]

#: How long concurrent requests may take to gather for a sleep on all of them (real seconds).
_GATHER_TIMEOUT = 10.0


class ReferenceDriver:
    """The reference model of a Bitwarden client, driven through a scenario."""

    realtime = False

    def __init__(self, profile: Profile, http: httpx.Client) -> None:
        self.profile = profile
        self.name = f"reference:{profile.value}"
        self.http = http
        self.clock = ClientClock(0.0)
        self.storage = Storage()
        self._prefix = ""
        self._setup = ClientSetup()
        self._serve: ApiModel | None = None
        self._items: list[str] = []
        self._account: dict[str, Any] = {}

    # --- protocol ---------------------------------------------------------------------------------------------

    def start(self, world: WorldInfo, control: Control, workdir: Path, setup: ClientSetup) -> None:
        self._prefix = world.prefix
        self._setup = setup
        self.clock = ClientClock(control.clock()["epoch"])
        account = self._account = world.account
        if setup.login == "none":
            return
        model = self._process(None, [])
        try:
            if setup.login == "apikey":
                api_key = account["api_key"]
                model.store(api_key=(api_key["client_id"], api_key["client_secret"]))
                model.refresh()
                model.store(user_id=account["id"], email=account["email"])
            else:
                self._password_login(model, account["email"], account["password"])
            self._login_sync(model)
        except ApiError as exc:
            raise ClientError(f"{self.name} could not log in: {exc}") from exc
        self.storage = model.storage
        if setup.mode == "serve":
            self._serve = self._process(None, [])

    def run(self, step: Step, sleep: SleepPlan | None) -> list[CommandResult]:
        if self._serve is not None and sleep is not None and sleep.count > 1:
            return self._run_serve_together(step, sleep)
        hook = _sleep_hook(sleep, self._prefix) if sleep is not None else None
        if self._serve is not None:
            self._serve.before_send = hook or (lambda request: None)
            with ThreadPoolExecutor(max_workers=step.processes) as pool:
                return list(pool.map(lambda _: self._command(self._serve_model(), step, []), range(step.processes)))
        # Separate processes each start from what is stored, and the last one to finish writes it back.
        warnings: list[list[str]] = [[] for _ in range(step.processes)]
        models = [self._process(hook, warnings[index]) for index in range(step.processes)]
        results = [self._command(model, step, warnings[index]) for index, model in enumerate(models)]
        self.storage = models[-1].storage if step.processes == 1 else _last_writer(models)
        return results

    def _run_serve_together(self, step: Step, sleep: SleepPlan) -> list[CommandResult]:
        """Concurrent commands of the serve process, asleep while `sleep.count` of their requests are in flight."""
        model = self._serve_model()
        http = model.http
        model.before_send = lambda request: None
        model.http = cast(httpx.Client, _SleepTogether(http, sleep, self._prefix))
        try:
            with ThreadPoolExecutor(max_workers=step.processes) as pool:
                return list(pool.map(lambda _: self._command(model, step, []), range(step.processes)))
        finally:
            model.http = http

    def shift_clock(self, seconds: float) -> None:
        self.clock.shift(seconds)

    def suspend(self) -> None:
        """Nothing runs between steps in-process: a suspended model is one that is not called."""

    def resume(self) -> None:
        """See `suspend`."""

    def state(self) -> ClientState:
        storage = self._current_storage()
        if storage.access_token is None:
            return ClientState.LOGGED_OUT
        return ClientState.UNLOCKED if storage.unlocked else ClientState.LOCKED

    def logout_reason(self) -> str | None:
        return self._current_storage().logout_reason

    def close(self) -> None:
        self._serve = None

    # --- commands ---------------------------------------------------------------------------------------------

    def _process(self, hook: Callable[[httpx.Request], None] | None, warnings: list[str]) -> ApiModel:
        return ApiModel(
            self.profile, self.http, self._prefix, self.clock, self.storage, before_send=hook, warn=warnings.append
        )

    def _serve_model(self) -> ApiModel:
        assert self._serve is not None
        return self._serve

    def _current_storage(self) -> Storage:
        return self._serve.storage if self._serve is not None else self.storage

    def _now_ms(self) -> int:
        return int(self.clock.now() * 1000)

    def _login_sync(self, model: ApiModel) -> None:
        # Login ends with a forced sync that skips the refresh (client-behavior.md §10).
        model.request("GET", "/api/sync?excludeDomains=true")
        model.store(last_sync_ms=self._now_ms())

    def _password_login(self, model: ApiModel, email: str, password: str) -> None:
        # CLI 2025.12.1 and 2026.1.0 both send /identity/accounts/prelogin (observed; 2026.9.0 adds /password).
        prelogin = model.request("POST", "/identity/accounts/prelogin", json_body={"email": email}, authed=False)
        form = {
            "scope": "api offline_access",
            "client_id": "cli",
            "deviceType": "25",
            "deviceIdentifier": "sleepwalk-ref",
            "deviceName": "linux",
            "grant_type": "password",
            "username": email,
            "password": login_password_hash(email, password, prelogin),
        }
        response = model.http.post(f"{self._prefix}/identity/connect/token", data=form)
        if response.status_code != 200:
            raise ApiError(
                f"password grant answered {response.status_code}: {response.text[:200]}", response.status_code
            )
        body = response.json()
        model.store(
            access_token=body["access_token"], refresh_token=body.get("refresh_token"), unlocked=True, email=email
        )

    def _command(self, model: ApiModel, step: Step, warnings: list[str]) -> CommandResult:
        name, run = self._plan(model, step)
        if step.status is None and step.login is None and not model.logged_in:
            return CommandResult(name, 1, "", "You are not logged in.")
        try:
            stdout = run()
        except ApiError as exc:
            failure = f"Syncing failed: {exc}" if step.sync is not None else str(exc)
            return CommandResult(name, 1, "", "\n".join([*warnings, failure]))
        return CommandResult(name, 0, stdout, "\n".join(warnings))

    def _plan(self, model: ApiModel, step: Step) -> tuple[str, Callable[[], str]]:
        if step.login is not None:
            account = self._account

            def login() -> str:
                self._password_login(model, account["email"], account["password"])
                self._login_sync(model)
                return "You are logged in!"

            return "bw login", login
        if step.sync is not None:
            force = step.sync.force
            return ("bw sync --force" if force else "bw sync"), lambda: self._sync(model, force)
        if step.create_item is not None:
            item = step.create_item
            body = {
                "type": 1,
                "name": item.name,
                "notes": None,
                "login": {"username": item.username, "password": item.password},
            }

            def create() -> str:
                created = model.request("POST", "/api/ciphers", json_body=body)
                self._items.append(created["id"])
                return str(created["id"])

            return "bw create item", create
        if step.delete_item is not None:
            permanent = step.delete_item.permanent

            def delete() -> str:
                if not self._items:
                    raise ClientError("delete_item needs an item created earlier in the scenario (a create_item step).")
                item_id = self._items[-1]
                if permanent:
                    model.request("DELETE", f"/api/ciphers/{item_id}", has_response=False)
                else:
                    model.request("PUT", f"/api/ciphers/{item_id}/delete", has_response=False)
                return ""

            return "bw delete item", delete
        return "bw status", lambda: self.state().value

    def _sync(self, model: ApiModel, force: bool) -> str:
        """`bw sync`: revision date first when unforced and synced before; then an unconditional refresh and sync."""
        last_sync = model.storage.last_sync_ms
        if not force and last_sync is not None:
            revision = model.request("GET", "/api/accounts/revision-date")
            if isinstance(revision, int | float) and revision < 0:
                model.logout("accountDeleted")
                raise ApiError("Account deleted.")
            if isinstance(revision, int | float) and revision <= last_sync:
                return "Syncing complete."
        model.refresh()
        model.request("GET", "/api/sync?excludeDomains=true")
        model.store(last_sync_ms=self._now_ms())
        return "Syncing complete."


def _last_writer(models: list[ApiModel]) -> Storage:
    # Processes sharing one data file: a logout written by any of them is not undone by the others' tokens in a
    # way the CLI would notice, so the most logged-out state wins (real-cli.md §15.2: both CLIs end logged out).
    logged_out = [model.storage for model in models if model.storage.access_token is None]
    return logged_out[-1] if logged_out else models[-1].storage


def _matches(plan: SleepPlan, prefix: str, request: httpx.Request) -> bool:
    if request.method != plan.request.method:
        return False
    if not fnmatch.fnmatchcase(request.url.path.removeprefix(prefix), plan.request.path):
        return False
    if plan.request.grant_type is not None:
        grant = parse_qs(request.content.decode()).get("grant_type", [None])[0]
        return grant == plan.request.grant_type
    return True


class _SleepTogether:
    """The serve process's HTTP client while `plan.count` of its concurrent requests sleep together.

    The caught requests wait for each other (all built with the token from before the sleep), the clocks jump once,
    they are sent, and none of their answers is handed back before all of them are answered — what the server's
    hold does for the real CLI (harness/clients/_held_sleep.py). Without the second wait, the first answer's retry
    and refresh can reach the server before the last caught request does.
    """

    def __init__(self, http: httpx.Client, plan: SleepPlan, prefix: str) -> None:
        self._http = http
        self._plan = plan
        self._prefix = prefix
        self._lock = threading.Lock()
        self._seen = 0
        self._built = threading.Barrier(plan.count, action=lambda: plan.jump(plan.duration))
        self._answered = threading.Barrier(plan.count)

    def build_request(self, *args: Any, **kwargs: Any) -> httpx.Request:
        return self._http.build_request(*args, **kwargs)

    def send(self, request: httpx.Request) -> httpx.Response:
        caught = False
        if _matches(self._plan, self._prefix, request):
            with self._lock:
                self._seen += 1
                first = self._plan.occurrence
                caught = first <= self._seen < first + self._plan.count
        if not caught:
            return self._http.send(request)
        self._wait(self._built)
        try:
            return self._http.send(request)
        finally:
            self._wait(self._answered)

    def _wait(self, barrier: threading.Barrier) -> None:
        try:
            barrier.wait(timeout=_GATHER_TIMEOUT)
        except threading.BrokenBarrierError:
            raise ClientError(
                f"{self._plan.count} requests {self._plan.request} were not in flight together within "
                f"{_GATHER_TIMEOUT:g} s, so there was no moment to sleep on all of them."
            ) from None


def _sleep_hook(plan: SleepPlan, prefix: str) -> Callable[[httpx.Request], None]:
    seen = 0
    done = False

    def before_send(request: httpx.Request) -> None:
        nonlocal seen, done
        if done or not _matches(plan, prefix, request):
            return
        seen += 1
        if seen == plan.occurrence:
            done = True
            plan.jump(plan.duration)

    return before_send

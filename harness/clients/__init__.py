"""Client drivers, one module per kind of client, all meeting the small protocol in `base.py`.

`make_driver` turns a client spec from the command line (`bw@2026.1.0`, `reference:fixed`) into a driver; a new
kind of client is a new module plus one entry in `_KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness._errors import ClientError
from harness._profiles import Profile
from harness.clients.base import ClientDriver

__all__ = ["DriverContext", "make_driver", "parse_client_spec"]


@dataclass(frozen=True)
class DriverContext:
    """What a driver may need from the session: the server's CA (for processes) and its HTTP client."""

    http: httpx.Client
    ca_cert: Path | None = None


def _bw(version: str, context: DriverContext) -> ClientDriver:
    from harness.clients.bitwarden_cli import BitwardenCliDriver

    if context.ca_cert is None:
        raise ClientError("The real CLI needs the live HTTPS server (its CA certificate); it cannot run in-process.")
    return BitwardenCliDriver(version, context.ca_cert)


def _reference(profile: str, context: DriverContext) -> ClientDriver:
    from harness.clients.reference import ReferenceDriver

    try:
        chosen = Profile(profile)
    except ValueError:
        raise ClientError(f"Unknown reference profile {profile!r}; use reference:legacy, :fixed or :mobile.") from None
    return ReferenceDriver(chosen, context.http)


_KINDS: dict[str, tuple[str, Callable[[str, DriverContext], ClientDriver]]] = {
    "bw@": ("bw@VERSION (e.g. bw@2026.1.0)", _bw),
    "reference:": ("reference:legacy|fixed|mobile", _reference),
}


def parse_client_spec(spec: str) -> tuple[str, str]:
    """(kind prefix, argument) of a client spec; ClientError naming the accepted forms otherwise."""
    for prefix in _KINDS:
        if spec.startswith(prefix) and len(spec) > len(prefix):
            return prefix, spec[len(prefix) :]
    forms = " or ".join(form for form, _ in _KINDS.values())
    raise ClientError(f"Unknown client {spec!r}; use {forms}.")


def make_driver(spec: str, context: DriverContext) -> ClientDriver:
    prefix, argument = parse_client_spec(spec)
    return _KINDS[prefix][1](argument, context)

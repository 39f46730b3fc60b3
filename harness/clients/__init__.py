"""Client drivers, one module per kind of client, all meeting the small protocol in `base.py`.

`make_driver` turns a client spec from the command line (`bw@2026.1.0`, `reference:fixed`) into a driver; a new
kind of client is a new module plus one line in `_KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness._errors import ClientError
from harness.clients.base import ClientDriver

__all__ = ["make_driver", "parse_client_spec"]


def _bw(argument: str, ca_cert: Path) -> ClientDriver:
    from harness.clients.bitwarden_cli import BitwardenCliDriver

    return BitwardenCliDriver(argument, ca_cert)


_KINDS: dict[str, tuple[str, Callable[[str, Path], ClientDriver]]] = {
    "bw@": ("bw@VERSION, e.g. bw@2026.1.0", _bw),
}


def parse_client_spec(spec: str) -> tuple[str, str]:
    """(kind prefix, argument) of a client spec; ClientError naming the accepted forms otherwise."""
    for prefix in _KINDS:
        if spec.startswith(prefix) and len(spec) > len(prefix):
            return prefix, spec[len(prefix) :]
    forms = "; ".join(form for form, _ in _KINDS.values())
    raise ClientError(f"Unknown client {spec!r}; use {forms}.")


def make_driver(spec: str, ca_cert: Path) -> ClientDriver:
    prefix, argument = parse_client_spec(spec)
    return _KINDS[prefix][1](argument, ca_cert)

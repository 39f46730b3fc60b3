"""A mock of the Bitwarden API and Identity services on a virtual clock, for testing real clients."""

from __future__ import annotations

from mock_identity_server.app import create_app

__all__ = ["create_app"]

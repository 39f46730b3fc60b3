"""Server settings: defaults, the named presets, and changes validated with messages that name the field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from mock_identity_server.settings import (
    DAY,
    PRESETS,
    RefreshTokenUsage,
    ServerSettings,
    SettingsError,
    preset_settings,
    updated_settings,
)


def test_defaults_are_strict_and_short() -> None:
    settings = ServerSettings()
    assert settings.access_token_lifetime == 10
    assert settings.enforced_access_token_lifetime is None
    assert settings.leeway == 0
    assert settings.refresh_token_usage is RefreshTokenUsage.REUSE
    assert settings.refresh_token_sliding_lifetime == 30 * DAY
    assert settings.refresh_token_absolute_lifetime is None
    assert settings.refresh_token_grace_period == 0
    assert settings.api_key_token_lifetime is None
    assert settings.empty_error_bodies is True


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "official",
            {
                "access_token_lifetime": 3600,
                "leeway": 300,
                "refresh_token_usage": RefreshTokenUsage.REUSE,
                "refresh_token_sliding_lifetime": 2_592_000,
                "refresh_token_absolute_lifetime": None,
            },
        ),
        (
            "vaultwarden",
            {
                "access_token_lifetime": 7200,
                "leeway": 30,
                "refresh_token_usage": RefreshTokenUsage.REUSE,
                "refresh_token_sliding_lifetime": None,
                "refresh_token_absolute_lifetime": 2_592_000,
            },
        ),
        (
            "strict",
            {
                "access_token_lifetime": 10,
                "leeway": 0,
                "refresh_token_usage": RefreshTokenUsage.REUSE,
                "refresh_token_sliding_lifetime": 2_592_000,
                "refresh_token_absolute_lifetime": None,
            },
        ),
    ],
)
def test_preset_values(name: str, expected: dict[str, Any]) -> None:
    settings = preset_settings(name)
    assert {key: getattr(settings, key) for key in expected} == expected


def test_presets_are_exactly_the_three_documented() -> None:
    assert sorted(PRESETS) == ["official", "strict", "vaultwarden"]


def test_preset_keeps_fields_it_does_not_set() -> None:
    base = ServerSettings(empty_error_bodies=False, server_version="2025.10.0")
    settings = preset_settings("official", base)
    assert settings.empty_error_bodies is False
    assert settings.server_version == "2025.10.0"


def test_unknown_preset_names_the_choices() -> None:
    with pytest.raises(SettingsError, match=r"Unknown preset 'bitwarden'; choose one of official, strict, vaultwarden"):
        preset_settings("bitwarden")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"access_token_lifetime": 0}, "access_token_lifetime"),
        ({"leeway": -1}, "leeway"),
        ({"refresh_token_usage": "twice"}, "refresh_token_usage"),
        ({"refresh_token_sliding_lifetime": -5}, "refresh_token_sliding_lifetime"),
        ({"enforced_access_token_lifetime": "soon"}, "enforced_access_token_lifetime"),
        ({"no_such_setting": 1}, "no_such_setting"),
    ],
)
def test_invalid_change_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(SettingsError, match=rf"^Settings not changed: {field}: "):
        updated_settings(ServerSettings(), changes)


def test_change_returns_a_new_object_and_leaves_the_old_one() -> None:
    current = ServerSettings()
    changed = updated_settings(current, {"leeway": 30, "refresh_token_usage": "one-time"})
    assert changed.leeway == 30
    assert changed.refresh_token_usage is RefreshTokenUsage.ONE_TIME
    assert current.leeway == 0


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        ServerSettings().leeway = 5


def test_control_api_reads_changes_and_applies_presets(client: TestClient) -> None:
    assert client.get("/_control/settings").json()["access_token_lifetime"] == 10
    changed = client.patch("/_control/settings", json={"leeway": 42})
    assert changed.status_code == 200
    assert changed.json()["leeway"] == 42
    applied = client.post("/_control/settings/preset/vaultwarden")
    assert applied.status_code == 200
    assert applied.json()["access_token_lifetime"] == 7200
    assert client.get("/_control/settings").json()["leeway"] == 30
    listed = client.get("/_control/presets").json()
    assert listed["official"]["refresh_token_usage"] == "reuse"


def test_control_api_refuses_bad_changes_with_the_field_name(client: TestClient) -> None:
    response = client.patch("/_control/settings", json={"leeway": -1})
    assert response.status_code == 400
    assert "leeway" in response.json()["error"]
    unknown = client.post("/_control/settings/preset/nope")
    assert unknown.status_code == 400
    assert "official, strict, vaultwarden" in unknown.json()["error"]
    assert client.get("/_control/settings").json()["leeway"] == 0

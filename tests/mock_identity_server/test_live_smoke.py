from __future__ import annotations

from tests.conftest import LiveWorld


def test_live_world_serves_https_with_its_own_clock(live_world: LiveWorld) -> None:
    response = live_world.control.post("/_control/clock/advance", json={"seconds": 600})
    assert response.status_code == 200
    with live_world.server.http() as http:
        default_now = http.get("/_control/clock").json()["epoch"]
    assert response.json()["epoch"] - default_now >= 599

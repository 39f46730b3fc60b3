"""TokenSigner: issuing HS256 access tokens and judging them against an instant, leeway and enforced lifetime."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from mock_identity_server.tokens import TokenSigner, TokenVerdict, b64url_encode
from tests.conftest import START
from tests.mock_identity_server.helpers import claims, forge

ISSUED = int(START.timestamp())
LIFETIME = 3600
EXP = START + timedelta(seconds=LIFETIME)
MALFORMED = 'Bearer error="invalid_token"'
BAD_SIGNATURE = 'Bearer error="invalid_token", error_description="The signature is invalid"'


def _claims(**overrides: Any) -> dict[str, Any]:
    base = {
        "nbf": ISSUED,
        "iat": ISSUED,
        "exp": ISSUED + LIFETIME,
        "sub": "5f0c1ac4-7d1e-4e53-9a7c-3d0e6c0c2b11",
        "client_id": "cli",
        "scope": ["api", "offline_access"],
        "jti": "ABC123",
    }
    base.update(overrides)
    return base


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner(b"k" * 32)


def test_issued_token_is_three_part_jwt_carrying_the_claims(signer: TokenSigner) -> None:
    token = signer.issue(_claims())
    assert token.count(".") == 2
    assert claims(token) == _claims()


def test_valid_token_exposes_its_claims(signer: TokenSigner) -> None:
    result = signer.validate(signer.issue(_claims()), now=START, leeway=0)
    assert result.ok
    assert result.verdict is TokenVerdict.VALID
    assert result.www_authenticate == ""
    assert result.claims is not None
    assert result.claims.jti == "ABC123"
    assert result.claims.client_id == "cli"
    assert result.claims.scope == ("api", "offline_access")
    assert (result.claims.issued_at, result.claims.not_before, result.claims.expires_at) == (
        ISSUED,
        ISSUED,
        ISSUED + LIFETIME,
    )


@pytest.mark.parametrize(
    ("leeway", "now", "verdict"),
    [
        (0, EXP - timedelta(seconds=1), TokenVerdict.VALID),
        (0, EXP, TokenVerdict.VALID),
        (0, EXP + timedelta(microseconds=1), TokenVerdict.EXPIRED),
        (0, EXP + timedelta(seconds=1), TokenVerdict.EXPIRED),
        (300, EXP + timedelta(seconds=299), TokenVerdict.VALID),
        (300, EXP + timedelta(seconds=300), TokenVerdict.VALID),
        (300, EXP + timedelta(seconds=300, microseconds=1), TokenVerdict.EXPIRED),
        (30, EXP + timedelta(seconds=31), TokenVerdict.EXPIRED),
    ],
)
def test_expiry_is_strictly_after_exp_plus_leeway(
    signer: TokenSigner, leeway: float, now: datetime, verdict: TokenVerdict
) -> None:
    assert signer.validate(signer.issue(_claims()), now=now, leeway=leeway).verdict is verdict


def test_expired_token_names_exp_in_aspnet_format(signer: TokenSigner) -> None:
    result = signer.validate(signer.issue(_claims()), now=EXP + timedelta(seconds=1), leeway=0)
    assert result.verdict is TokenVerdict.EXPIRED
    assert not result.ok
    assert result.www_authenticate == (
        'Bearer error="invalid_token", error_description="The token expired at \'01/15/2026 11:00:00\'"'
    )


def test_expired_text_pads_month_day_and_hours(signer: TokenSigner) -> None:
    # 2026-03-04 05:06:07 UTC: MM/dd/yyyy HH:mm:ss keeps the leading zeros.
    exp = int(datetime.fromisoformat("2026-03-04T05:06:07+00:00").timestamp())
    token = signer.issue(_claims(exp=exp))
    result = signer.validate(token, now=datetime.fromisoformat("2026-03-04T05:06:08+00:00"), leeway=0)
    assert result.www_authenticate.endswith("error_description=\"The token expired at '03/04/2026 05:06:07'\"")


@pytest.mark.parametrize(
    ("leeway", "nbf_ahead", "verdict"),
    [
        (0, 0, TokenVerdict.VALID),
        (0, 1, TokenVerdict.NOT_YET_VALID),
        (300, 300, TokenVerdict.VALID),
        (300, 301, TokenVerdict.NOT_YET_VALID),
    ],
)
def test_nbf_in_the_future_is_not_yet_valid_beyond_leeway(
    signer: TokenSigner, leeway: float, nbf_ahead: int, verdict: TokenVerdict
) -> None:
    token = signer.issue(_claims(nbf=ISSUED + nbf_ahead))
    assert signer.validate(token, now=START, leeway=leeway).verdict is verdict


def test_not_yet_valid_header_names_nbf(signer: TokenSigner) -> None:
    token = signer.issue(_claims(nbf=ISSUED + 100))
    result = signer.validate(token, now=START, leeway=0)
    assert result.www_authenticate == (
        'Bearer error="invalid_token", error_description="The token is not valid before \'01/15/2026 10:01:40\'"'
    )


@pytest.mark.parametrize(
    ("elapsed", "verdict"),
    [(9, TokenVerdict.VALID), (10, TokenVerdict.VALID), (11, TokenVerdict.EXPIRED)],
)
def test_enforced_lifetime_overrides_a_far_exp(signer: TokenSigner, elapsed: int, verdict: TokenVerdict) -> None:
    token = signer.issue(_claims())
    result = signer.validate(token, now=START + timedelta(seconds=elapsed), leeway=0, enforced_lifetime=10)
    assert result.verdict is verdict
    if verdict is TokenVerdict.EXPIRED:
        assert "The token expired at '01/15/2026 10:00:10'" in result.www_authenticate


def test_enforced_lifetime_longer_than_exp_changes_nothing(signer: TokenSigner) -> None:
    token = signer.issue(_claims())
    result = signer.validate(token, now=EXP + timedelta(seconds=1), leeway=0, enforced_lifetime=LIFETIME * 10)
    assert result.verdict is TokenVerdict.EXPIRED


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token_asks_for_bearer(signer: TokenSigner, token: str | None) -> None:
    result = signer.validate(token, now=START, leeway=0)
    assert result.verdict is TokenVerdict.MISSING
    assert result.www_authenticate == "Bearer"


GOOD_HEADER = b64url_encode(b'{"alg":"HS256","typ":"at+jwt"}')
GOOD_PAYLOAD = b64url_encode(b'{"sub":"x","exp":1768474800}')


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(f"{GOOD_HEADER}.{GOOD_PAYLOAD}", id="two-segments"),
        pytest.param(f"{GOOD_HEADER}.{GOOD_PAYLOAD}.sig.extra", id="four-segments"),
        pytest.param("not-a-jwt", id="one-segment"),
        pytest.param(f"{GOOD_HEADER}.@@@!!!.sig", id="bad-base64"),
        pytest.param(f"{GOOD_HEADER}.{b64url_encode(b'not json')}.sig", id="non-json-payload"),
        pytest.param(f"{GOOD_HEADER}.{b64url_encode(b'[1, 2]')}.sig", id="payload-not-an-object"),
        pytest.param(f"{b64url_encode(b'null')}.{GOOD_PAYLOAD}.sig", id="header-not-an-object"),
        pytest.param(f"{GOOD_HEADER}.{b64url_encode(bytes([0xFF, 0xFE]))}.sig", id="payload-not-utf8"),
        pytest.param(forge({"exp": 1768474800}), id="no-sub"),
        pytest.param(forge({"sub": "x"}), id="no-exp"),
        pytest.param(forge({"sub": "x", "exp": "soon"}), id="exp-not-a-number"),
        pytest.param(forge(b'{"sub":"x","exp":1e400}'), id="exp-infinite"),
        pytest.param(forge(b'{"sub":"x","exp":1,"nbf":1e400}'), id="nbf-infinite"),
        pytest.param(forge(b"[" * 5000), id="nested-too-deep"),
        pytest.param("ünïcode.ünïcode.ünïcode", id="non-ascii"),
    ],
)
def test_malformed_tokens_get_a_bare_invalid_token(signer: TokenSigner, token: str) -> None:
    result = signer.validate(token, now=START, leeway=0)
    assert result.verdict is TokenVerdict.MALFORMED
    assert result.www_authenticate == MALFORMED


def test_alg_none_is_a_signature_failure(signer: TokenSigner) -> None:
    token = forge(_claims(), header={"alg": "none", "typ": "at+jwt"}, signature=b"")
    result = signer.validate(token, now=START, leeway=0)
    assert result.verdict is TokenVerdict.BAD_SIGNATURE
    assert result.www_authenticate == BAD_SIGNATURE


def test_alg_none_with_our_signature_is_still_refused(signer: TokenSigner) -> None:
    genuine = signer.issue(_claims())
    _, payload, signature = genuine.split(".")
    none_header = b64url_encode(b'{"alg":"none"}')
    token = f"{none_header}.{payload}.{signature}"
    assert signer.validate(token, now=START, leeway=0).www_authenticate == BAD_SIGNATURE


def test_another_signers_token_has_an_invalid_signature(signer: TokenSigner) -> None:
    token = TokenSigner(b"x" * 32).issue(_claims())
    result = signer.validate(token, now=START, leeway=0)
    assert result.verdict is TokenVerdict.BAD_SIGNATURE
    assert result.www_authenticate == BAD_SIGNATURE


def test_tampered_payload_has_an_invalid_signature(signer: TokenSigner) -> None:
    header, _, signature = signer.issue(_claims()).split(".")
    payload = b64url_encode(b'{"sub":"someone-else","exp":1768474800}')
    result = signer.validate(f"{header}.{payload}.{signature}", now=START, leeway=0)
    assert result.verdict is TokenVerdict.BAD_SIGNATURE


def test_signature_is_checked_before_expiry(signer: TokenSigner) -> None:
    token = TokenSigner(b"x" * 32).issue(_claims())
    result = signer.validate(token, now=EXP + timedelta(days=1), leeway=0)
    assert result.verdict is TokenVerdict.BAD_SIGNATURE


def test_each_signer_has_its_own_random_secret() -> None:
    token = TokenSigner().issue(_claims())
    assert not TokenSigner().validate(token, now=START, leeway=0).ok


def test_scope_as_a_space_separated_string_is_read(signer: TokenSigner) -> None:
    result = signer.validate(signer.issue(_claims(scope="api offline_access")), now=START, leeway=0)
    assert result.claims is not None
    assert result.claims.scope == ("api", "offline_access")

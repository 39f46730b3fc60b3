"""Response helpers that copy the official server's shapes: JSON with charset, OAuth errors, Bitwarden errors.

The client parses a body only when `Content-Type` contains `application/json` (server-protocol.md §5), so every
JSON reply says so, with the charset the official server adds.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

__all__ = ["HttpProblem", "bitwarden_error", "json_response", "oauth_error", "unauthorized"]

JSON_TYPE = "application/json; charset=utf-8"


class HttpProblem(Exception):
    """Raised inside a handler to answer with `response` at once (a failed check, a refused request)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, separators=(",", ":")), status_code=status, media_type=JSON_TYPE)


def bitwarden_error(status: int, message: str, validation_errors: dict[str, list[str]] | None = None) -> Response:
    """Bitwarden's `ErrorResponseModel`, as the API answers a refused request."""
    return json_response(
        {
            "message": message,
            "validationErrors": validation_errors,
            "exceptionMessage": None,
            "exceptionStackTrace": None,
            "innerExceptionMessage": None,
            "object": "error",
        },
        status,
    )


def oauth_error(
    error: str, description: str | None = None, *, status: int = 400, error_model_message: str | None = None
) -> Response:
    """An OAuth token-endpoint error; Bitwarden adds an `ErrorModel` for messages the client prints."""
    body: dict[str, Any] = {"error": error}
    if description is not None:
        body["error_description"] = description
    if error_model_message is not None:
        body["ErrorModel"] = {"Message": error_model_message, "Object": "error"}
    return json_response(body, status)


def unauthorized(www_authenticate: str, *, empty_body: bool, status: int = 401) -> Response:
    """A 401 (or 403) from the API: empty like the official server, or with a message for readable CLI output."""
    headers = {"WWW-Authenticate": www_authenticate} if status == 401 and www_authenticate else {}
    if empty_body:
        return Response(b"", status_code=status, headers=headers)
    message = "Unauthorized." if status == 401 else "Forbidden."
    response = bitwarden_error(status, message)
    response.headers.update(headers)
    return response

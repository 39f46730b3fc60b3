"""sleepwalk's harness: drives Bitwarden clients against the mock server and checks what they do.

It talks to the server only over HTTP — the product endpoints as a client would, and the control API — and
never imports the server's internals.
"""

from __future__ import annotations

__all__: list[str] = []

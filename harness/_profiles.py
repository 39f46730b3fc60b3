"""Behaviour profiles and which client versions have which: declared here and nowhere else.

`legacy` is every client before bitwarden/clients PR #17407 (CLI ≤ 2025.12.1): any authenticated 401/403 logs
out. `fixed` is after it (CLI ≥ 2026.1.0): one rebuild-and-retry on a 401. `mobile` is the Android/iOS apps:
always refresh on a 401, retry once. Sources: ../shared/docs/client-behavior.md §1, §2, §8.
"""

from __future__ import annotations

import re
from enum import StrEnum

__all__ = ["FIRST_FIXED_CLI", "Profile", "cli_profile", "parse_version"]


class Profile(StrEnum):
    LEGACY = "legacy"
    FIXED = "fixed"
    MOBILE = "mobile"


#: The first @bitwarden/cli release carrying PR #17407 (confirmed by behaviour and by the bundle's markers).
FIRST_FIXED_CLI = (2026, 1, 0)


def parse_version(version: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version.strip())
    if match is None:
        raise ValueError(
            f"{version!r} is not a CLI version; write it like 2026.1.0 (see npm view @bitwarden/cli versions)."
        )
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def cli_profile(version: str) -> Profile:
    """The profile of `@bitwarden/cli` at `version`."""
    return Profile.FIXED if parse_version(version) >= FIRST_FIXED_CLI else Profile.LEGACY

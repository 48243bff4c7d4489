"""The one answer to "is this run under CI?": there a missing PostgreSQL or Redis fails the run instead of skipping."""

from __future__ import annotations

import os

_TRUE = {"1", "true", "yes"}


def under_ci() -> bool:
    """True when the CI variable is set to 1, true or yes (any case), as CI services and `CI=true pytest` set it."""
    return os.environ.get("CI", "").strip().lower() in _TRUE

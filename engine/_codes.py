"""The registry's closed code lists (DESIGN.md §4): a leaf module every stage may import."""

from __future__ import annotations

__all__ = ["DISABILITY_GROUPS", "OWNERSHIPS", "SERVICE_UNITS", "STATUSES", "TERRITORY_STATUSES"]

DISABILITY_GROUPS = ("none", "I", "II", "III", "child")
STATUSES = ("served", "waiting", "closed")
OWNERSHIPS = ("state", "communal", "nonstate", "individual")
SERVICE_UNITS = ("hour", "visit", "day", "month")
TERRITORY_STATUSES = ("frontline", "occupied", "mountain", "rural")

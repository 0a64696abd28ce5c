"""Paths and months the execution tests share."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data_samples" / "registry"
EXECUTION = REPO / "data_samples" / "execution" / "execution.csv"
PLANTED = REPO / "data_samples" / "execution" / "execution_planted.yaml"
BASELINE = REPO / "models" / "funding" / "baseline"
PROGRAMMES = REPO / "models" / "programmes" / "social-services.yaml"
RUN_MONTHS = (dt.date(2026, 1, 1), dt.date(2026, 12, 1))

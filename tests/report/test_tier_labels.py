"""Every tier of a bundled allocation policy is named in Ukrainian in a Ukrainian report: the
policy files name tiers in English, and an unlisted name would leak into a `--lang uk` page."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.report._labels import tier_label

REPO = Path(__file__).resolve().parents[2]
NAMES = sorted(
    {
        tier["name"]
        for policy in sorted((REPO / "models" / "allocation").glob("*.yaml"))
        for tier in yaml.safe_load(policy.read_text(encoding="utf-8")).get("tiers", [])
    }
    | {"national", "other oblasts"}  # the envelope groups a per-oblast envelope adds
)


@pytest.mark.parametrize("name", NAMES)
def test_a_bundled_tier_name_has_a_ukrainian_label(name: str) -> None:
    label = tier_label(name, "uk")
    assert label != name and label.isascii() is False
    assert tier_label(name, "en") == name

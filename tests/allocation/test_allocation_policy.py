"""The strict policy loader: every bad policy fails with one clear line naming the file and line."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.allocation import allocate, load_policy, policy_from_dict
from engine.errors import ConfigError, ExitCode

HERE = Path(__file__).parent
POLICIES = HERE / "policies"
CLAIMS = pl.DataFrame(
    {
        "case_id": ["c1", "c2", "c3"],
        "age": [9, 40, 70],
        "need_level": [3, 3, 1],
        "claim_uah": [1000.0, 800.0, 500.0],
    }
)


def _fails(name: str) -> ConfigError:
    """Load the fixture and apply it to the claims; return the ConfigError it must raise."""
    path = POLICIES / name
    with pytest.raises(ConfigError) as info:
        allocate(CLAIMS, load_policy(path))
    error = info.value
    assert error.exit_code == ExitCode.BAD_CONFIG
    text = str(error)
    assert "\n" not in text
    assert text.startswith(str(path))
    return error


def test_unknown_column_in_a_tier_predicate_names_the_tier_the_column_and_the_line() -> None:
    error = _fails("bad_unknown_column.yaml")
    assert error.line == 7
    assert error.column == "veteran_status"
    assert "tier 'veterans'" in str(error)
    assert "veteran_status" in str(error)


def test_negative_envelope() -> None:
    error = _fails("bad_negative_envelope.yaml")
    assert error.line == 3
    assert "negative" in str(error)


def test_floor_share_above_one() -> None:
    error = _fails("bad_floor_share.yaml")
    assert error.line == 3
    assert "floor_share must be a number in [0, 1]" in str(error)


def test_overlapping_tiers_fail_unless_first_match_is_asked_for() -> None:
    error = _fails("bad_overlapping_tiers.yaml")
    assert "tiers overlap: 1 claim rows match more than one tier" in str(error)
    assert "'children' and 'need level 3'" in str(error)
    assert "case_id='c1'" in str(error)
    assert "tier_resolution: first_match" in str(error)
    # the same tiers read in priority order are fine
    data = {
        "name": "ordered",
        "envelope": {"national_uah": 1000},
        "tier_resolution": "first_match",
        "tiers": [
            {"name": "children", "when": "age < 18"},
            {"name": "need level 3", "when": "need_level = 3"},
            {"name": "everyone else", "otherwise": True},
        ],
    }
    tiers = allocate(CLAIMS, policy_from_dict(data)).rows["tier"].cast(pl.String).to_list()
    assert tiers == ["children", "need level 3", "everyone else"]


def test_empty_tier() -> None:
    error = _fails("bad_empty_tier.yaml")
    assert error.line == 7  # the blank predicate
    assert "tier 'forgotten' is empty" in str(error)


def test_unknown_key() -> None:
    error = _fails("bad_unknown_key.yaml")
    assert error.line == 3
    assert "unknown key 'floor_shares'" in str(error)


def test_rows_matching_no_tier_are_counted_with_an_example() -> None:
    error = _fails("bad_unmatched_rows.yaml")
    assert "1 claim rows match no tier" in str(error)
    assert "case_id='c3'" in str(error)


def test_unparseable_predicate() -> None:
    error = _fails("bad_predicate_syntax.yaml")
    assert error.line == 5
    assert "cannot parse predicate" in str(error)


def test_a_tier_matching_no_row_is_a_warning_not_an_error() -> None:
    data = {
        "name": "no idps here",
        "envelope": {"national_uah": 1000},
        "tier_resolution": "first_match",
        "tiers": [
            {"name": "very old", "when": "age > 100"},
            {"name": "everyone else", "otherwise": True},
        ],
    }
    result = allocate(CLAIMS, policy_from_dict(data))
    assert result.warnings == ("tier 'very old' matches no claim row",)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "tiers": [{"name": "a", "otherwise": True}]}, "missing required key"),
        (
            {"name": "x", "envelope": {}, "tiers": [{"name": "a", "otherwise": True}]},
            "needs 'national_uah' or 'per_oblast_uah'",
        ),
        (
            {
                "name": "x",
                "envelope": {"national_uah": 10, "per_oblast_uah": {"UA1": 20}},
                "tiers": [{"name": "a", "otherwise": True}],
            },
            "more than the national envelope",
        ),
        (
            {
                "name": "x",
                "envelope": {"national_uah": 10},
                "tiers": [{"name": "a", "otherwise": True}, {"name": "b", "when": "age < 3"}],
            },
            "only the last tier may be 'otherwise: true'",
        ),
        (
            {
                "name": "x",
                "envelope": {"national_uah": 10},
                "tiers": [{"name": "a", "when": "age", "otherwise": False}],
            },
            "not true/false",
        ),
        (
            {
                "name": "x",
                "envelope": {"national_uah": "lots"},
                "tiers": [{"name": "a", "otherwise": True}],
            },
            "must be an amount in UAH",
        ),
    ],
)
def test_other_mistakes(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        allocate(CLAIMS, policy_from_dict(data))


def test_the_shipped_policies_load(repo_root: Path) -> None:
    for path in sorted((repo_root / "models" / "allocation").glob("*.yaml")):
        policy = load_policy(path)
        assert policy.tiers and policy.envelope_uah > 0


def test_envelope_override_scales_oblast_envelopes() -> None:
    policy = policy_from_dict(
        {
            "name": "x",
            "envelope": {"national_uah": 1000, "per_oblast_uah": {"UA1": 300, "UA2": 100}},
            "tiers": [{"name": "a", "otherwise": True}],
        }
    )
    scaled = policy.with_envelope(2000)
    assert scaled.national_uah == 2000
    assert dict(scaled.per_oblast_uah) == {"UA1": 600.0, "UA2": 200.0}


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("name: a\nname: b\nenvelope: {national_uah: 1}\ntiers: []\n")
    with pytest.raises(ConfigError, match="duplicate key 'name'") as info:
        load_policy(path)
    assert info.value.line == 2

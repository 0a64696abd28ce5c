"""The policy loader refuses what would otherwise end as a traceback or be silently ignored: a date
that is no calendar day, a non-finite or absurd amount, a cap for a service the catalogue does not
know. Each is one `ConfigError` line naming the policy file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.allocation import load_policy
from engine.cli import main
from engine.errors import ConfigError, ExitCode

REPO = Path(__file__).resolve().parents[2]
POLICY_2026 = REPO / "models" / "allocation" / "default-2026.yaml"
POLICY_2027 = REPO / "models" / "allocation" / "default-2027.yaml"
CLAIMS = Path(__file__).parent / "data" / "case_months.csv"


def _mutated(tmp_path: Path, source: Path, old: str, new: str) -> tuple[Path, int]:
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not unique in {source.name}"
    line = next(i for i, row in enumerate(text.splitlines(), 1) if old in row)
    path = tmp_path / source.name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path, line


# (policy, text as written, replacement, fragment of the message)
REFUSED = {
    "day_out_of_range": (POLICY_2026, "from: 2026-01-01", "from: 2026-02-30", "2026-02-30 is not"),
    "month_13": (POLICY_2026, "to: 2026-12-31", "to: 2026-13-01", "2026-13-01 is not a date"),
    "quoted_bad_day": (POLICY_2026, "from: 2026-01-01", 'from: "2026-02-30"', "is not a date"),
    "soon": (POLICY_2026, "from: 2026-01-01", "from: soon", "must be a date YYYY-MM-DD"),
    "envelope_inf": (POLICY_2026, "12_500_000_000", ".inf", "must be an amount"),
    "envelope_nan": (POLICY_2026, "12_500_000_000", ".nan", "must be an amount"),
    "envelope_negative": (POLICY_2026, "12_500_000_000", "-1", "is negative"),
    "envelope_huge": (POLICY_2026, "12_500_000_000", "1.0e+308", "implausibly large"),
    "envelope_text": (POLICY_2026, "12_500_000_000", "abc", "must be an amount"),
    "oblast_nan": (POLICY_2027, "420_000_000", ".nan", "must be an amount"),
    "cap_inf": (POLICY_2026, "per_row_uah: 40_000", "per_row_uah: .inf", "must be an amount"),
    "service_cap_neg": (POLICY_2026, "16_185.16", "-16_185.16", "is negative"),
    "floor_above_one": (POLICY_2026, "floor_share: 0.30", "floor_share: 1.5", "[0, 1]"),
    "floor_negative": (POLICY_2026, "floor_share: 0.30", "floor_share: -0.1", "[0, 1]"),
    "floor_nan": (POLICY_2026, "floor_share: 0.30", "floor_share: .nan", "[0, 1]"),
    "weight_inf": (POLICY_2026, "weight: 1000", "weight: .inf", "weight must be a positive"),
    "weight_zero": (POLICY_2026, "weight: 1000", "weight: 0", "weight must be a positive"),
    "unknown_service": (POLICY_2026, '"017.2":', '"999.9":', "unknown service code '999.9'"),
}


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_a_bad_policy_value_names_file_and_line(kind: str, tmp_path: Path) -> None:
    source, old, new, fragment = REFUSED[kind]
    path, line = _mutated(tmp_path, source, old, new)
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert fragment in message
    assert caught.value.path == path and caught.value.line == line, message
    assert caught.value.exit_code == ExitCode.BAD_CONFIG and "\n" not in message


def test_an_unknown_service_cap_names_the_catalogue(tmp_path: Path) -> None:
    path, line = _mutated(tmp_path, POLICY_2026, '"017.2":', '"999.9":')
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert "services.csv" in str(caught.value) and f"line {line}" in str(caught.value)
    # a catalogue of one's own is the yardstick when given; the bundled policy knows 017.2
    catalogue = tmp_path / "services.csv"
    rows = (REPO / "data_samples" / "reference" / "services.csv").read_text().splitlines()
    catalogue.write_text("\n".join(r for r in rows if not r.startswith("017.2")) + "\n")
    with pytest.raises(ConfigError, match=r"unknown service code '017\.2'.*services\.csv"):
        load_policy(POLICY_2026, services=catalogue)
    assert load_policy(POLICY_2026).cap_by_service_uah == {"017.2": 16_185.16}


def test_mfr_allocate_refuses_an_unknown_service_cap(tmp_path: Path, capsys) -> None:
    path, line = _mutated(tmp_path, POLICY_2026, '"017.2":', '"999.9":')
    out = tmp_path / "allocation"
    code = main(["allocate", str(CLAIMS), "--policy", str(path), "--out", str(out)])
    assert code == ExitCode.BAD_CONFIG
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "999.9" in err[0] and f"line {line}" in err[0]
    assert not out.exists()


def test_mfr_allocate_refuses_an_impossible_date(tmp_path: Path, capsys) -> None:
    """Once "internal error: ValueError: day is out of range for month", with no file or line."""
    path, line = _mutated(tmp_path, POLICY_2026, "from: 2026-01-01", "from: 2026-02-30")
    code = main(["allocate", str(CLAIMS), "--policy", str(path), "--out", str(tmp_path / "o")])
    assert code == ExitCode.BAD_CONFIG
    err = capsys.readouterr().err.strip()
    assert "internal error" not in err
    assert f"{path}, line {line}: 2026-02-30 is not a date" in err


def test_an_envelope_override_is_not_blamed_on_the_policy() -> None:
    policy = load_policy(POLICY_2026)
    with pytest.raises(ConfigError) as caught:
        policy.with_envelope(-5)
    assert caught.value.path is None and "default-2026" not in str(caught.value)
    assert "instead of the policy's" in str(caught.value)

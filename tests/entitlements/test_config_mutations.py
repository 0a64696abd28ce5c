"""A bounded mutation campaign over the bundled funding model and allocation policies.

Each case changes one thing in one file — a number into `.inf`, `-1`, `.nan`, `1.0e+308` or `abc`,
a date into `2026-02-30`, `2026-13-01` or `soon`, a share into 1.5 or -0.1, a coefficient into 0, a
service code into 999.9, a duplicated key, a deleted required key — and loads the result. Either it
loads with finite, sane values, or it is a `ConfigError` naming the mutated file and a line: never
another exception, never a NaN or an infinity that loads.
"""

from __future__ import annotations

import math
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from engine.allocation import load_policy
from engine.errors import ConfigError
from engine.params import PARAMETER_SPECS, load_funding_model
from engine.reference import load_services

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "models" / "funding" / "baseline"
POLICIES = (
    REPO / "models" / "allocation" / "default-2026.yaml",
    REPO / "models" / "allocation" / "default-2027.yaml",
)
SEED = 20261202
CASES = 40

_NUMBER = r"(?<=: )-?\d[\d_]*(?:\.\d+)?(?=\s*(?:[},]|#|$))"
_SHARE_FILES = ("copay_bands.yaml", "unknown_income_band.yaml")
_COEF_FILES = ("territory_coef.yaml", "territory_coef_cap.yaml", "modifier.yaml")
_REQUIRED = r"^(description|unit|dimensions|values|name|envelope|tiers):"


@dataclass(frozen=True)
class Mutation:
    kind: str
    pattern: str
    replacements: tuple[str, ...]
    files: tuple[str, ...] | None = None  # None: any file
    op: str = "replace"  # or "duplicate" / "delete" the whole line

    def apply(self, text: str, rng: random.Random) -> tuple[str, int] | None:
        """The mutated text and the line changed, or None if nothing here matches."""
        lines = text.splitlines(keepends=True)
        if self.op != "replace":
            spots = [i for i, line in enumerate(lines) if re.search(self.pattern, line)]
            if not spots:
                return None
            i = rng.choice(spots)
            lines[i : i + 1] = [lines[i], lines[i]] if self.op == "duplicate" else []
            return "".join(lines), i + 1
        spots = [
            (i, m.span())
            for i, line in enumerate(lines)
            for m in re.finditer(self.pattern, line.split(" #")[0])
        ]
        if not spots:
            return None
        i, (start, end) = rng.choice(spots)
        lines[i] = lines[i][:start] + rng.choice(self.replacements) + lines[i][end:]
        return "".join(lines), i + 1


MUTATIONS = (
    Mutation("number", _NUMBER, (".inf", "-.inf", "-1", ".nan", "1.0e+308", "abc", "0")),
    Mutation("date", r"\d{4}-\d{2}-\d{2}", ("2026-02-30", "2026-13-01", "soon")),
    Mutation("share", _NUMBER, ("1.5", "-0.1"), (*_SHARE_FILES, "default-2026.yaml")),
    Mutation("coefficient", _NUMBER, ("0", "0.0"), _COEF_FILES),
    Mutation("service code", r'"\d{3}\.\d+"', ('"999.9"',)),
    Mutation("duplicate key", r"^\s*[A-Za-z0-9\"'][^:#]*:(\s|$)", (), op="duplicate"),
    Mutation("deleted key", _REQUIRED, (), op="delete"),
)


@dataclass(frozen=True)
class Case:
    target: Path  # the bundled file mutated
    kind: str
    text: str
    line: int

    @property
    def id(self) -> str:
        return f"{self.target.name}:{self.line}:{self.kind}"


def _campaign() -> list[Case]:
    rng = random.Random(SEED)
    targets = [*sorted(BASELINE.glob("*.yaml")), *POLICIES]
    cases: list[Case] = []
    for attempt in range(50 * CASES):  # bounded: most attempts find a spot
        if len(cases) == CASES:
            break
        mutation = MUTATIONS[attempt % len(MUTATIONS)]
        eligible = [t for t in targets if mutation.files is None or t.name in mutation.files]
        target = rng.choice(eligible)
        done = mutation.apply(target.read_text(encoding="utf-8"), rng)
        if done is not None:
            cases.append(Case(target, mutation.kind, *done))
    return cases


CAMPAIGN = _campaign()


@pytest.fixture(scope="module")
def services() -> pl.DataFrame:
    return load_services()


def _load(case: Case, tmp_path: Path, services: pl.DataFrame) -> object:
    if case.target.parent == BASELINE:
        folder = tmp_path / "model"
        shutil.copytree(BASELINE, folder)
        (folder / case.target.name).write_text(case.text, encoding="utf-8")
        return load_funding_model(folder, services=services)
    path = tmp_path / case.target.name
    path.write_text(case.text, encoding="utf-8")
    return load_policy(path)


def _assert_sane(loaded: object) -> None:
    if hasattr(loaded, "parameters"):  # a funding model
        for name, param in loaded.parameters.items():  # type: ignore[attr-defined]
            values = param.intervals["value"]
            assert values.is_finite().all() and (values >= 0).all(), name
            if PARAMETER_SPECS[name].kind == "share":
                assert (values <= 1).all(), name
        return
    amounts = [loaded.envelope_uah, *loaded.per_oblast_uah.values()]  # type: ignore[attr-defined]
    amounts += [*loaded.cap_by_service_uah.values()]  # type: ignore[attr-defined]
    if loaded.cap_per_row_uah is not None:  # type: ignore[attr-defined]
        amounts.append(loaded.cap_per_row_uah)  # type: ignore[attr-defined]
    assert all(math.isfinite(a) and 0 <= a <= 1e13 for a in amounts)
    assert 0 <= loaded.floor_share <= 1  # type: ignore[attr-defined]
    assert all(math.isfinite(w) and w > 0 for w in loaded.weights)  # type: ignore[attr-defined]


def test_the_campaign_covers_every_kind_of_mutation() -> None:
    assert len(CAMPAIGN) == CASES
    assert {case.kind for case in CAMPAIGN} == {m.kind for m in MUTATIONS}
    assert {case.target.parent for case in CAMPAIGN} == {BASELINE, POLICIES[0].parent}


@pytest.mark.parametrize("case", CAMPAIGN, ids=[case.id for case in CAMPAIGN])
def test_a_mutated_file_loads_sanely_or_names_file_and_line(
    case: Case, tmp_path: Path, services: pl.DataFrame
) -> None:
    try:
        loaded = _load(case, tmp_path, services)
    except ConfigError as exc:
        message = str(exc)
        assert exc.path is not None and Path(exc.path).name == case.target.name, message
        assert exc.line is not None and f"line {exc.line}" in message, message
        assert case.target.name in message and "\n" not in message
        return
    _assert_sane(loaded)

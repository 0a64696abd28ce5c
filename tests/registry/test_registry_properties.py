"""Invariants: valid extracts pass untouched; row order never changes what is kept or rejected."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from registry_kit import CATALOGUE, EXTRACT_DATE, TERRITORIES, base_tables, read, write_extract

from engine.registry import MAX_UNITS_PER_MONTH, read_registry
from engine.schemas import REGISTRY_TABLES

HROMADAS = TERRITORIES["hromada_code"].to_list()
SERVICES = list(zip(CATALOGUE["service_code"], CATALOGUE["unit"], strict=True))
DAY = dt.timedelta(days=1)


@st.composite
def valid_extracts(draw: st.DrawFn) -> dict[str, pl.DataFrame]:
    """Small extracts that satisfy every rule: locations tile each case's period exactly."""
    n_recipients = draw(st.integers(1, 6))
    recipients = {
        "recipient_id": [f"R{i}" for i in range(n_recipients)],
        "birth_date": draw(
            st.lists(
                st.dates(dt.date(1920, 1, 1), EXTRACT_DATE),
                min_size=n_recipients,
                max_size=n_recipients,
            )
        ),
        "sex": draw(st.lists(st.sampled_from("FM"), min_size=n_recipients, max_size=n_recipients)),
        "disability_group": draw(
            st.lists(
                st.sampled_from(["none", "I", "II", "III", "child"]),
                min_size=n_recipients,
                max_size=n_recipients,
            )
        ),
        "is_idp": draw(st.lists(st.booleans(), min_size=n_recipients, max_size=n_recipients)),
        "registered_hromada": draw(
            st.lists(st.sampled_from(HROMADAS), min_size=n_recipients, max_size=n_recipients)
        ),
        "income_ratio": draw(
            st.lists(
                st.none() | st.integers(0, 2000).map(lambda x: x / 100),
                min_size=n_recipients,
                max_size=n_recipients,
            )
        ),
    }
    cases: dict[str, list] = {
        k: []
        for k in (
            "case_id",
            "recipient_id",
            "service_code",
            "need_level",
            "assessed_units",
            "start_date",
            "end_date",
            "status",
        )
    }
    locations: dict[str, list] = {
        k: [] for k in ("case_id", "hromada_code", "provider_id", "valid_from", "valid_to")
    }
    for i in range(draw(st.integers(1, 8))):
        code, unit = draw(st.sampled_from(SERVICES))
        start = draw(st.dates(dt.date(2015, 1, 1), EXTRACT_DATE))
        end = draw(st.none() | st.dates(start, EXTRACT_DATE + dt.timedelta(days=400)))
        top = int(MAX_UNITS_PER_MONTH[unit])
        cases["case_id"].append(f"C{i}")
        cases["recipient_id"].append(f"R{draw(st.integers(0, n_recipients - 1))}")
        cases["service_code"].append(code)
        cases["need_level"].append(draw(st.integers(1, 3)))
        cases["assessed_units"].append(draw(st.none() | st.integers(1, top).map(float)))
        cases["start_date"].append(start)
        cases["end_date"].append(end)
        cases["status"].append(
            "closed" if end is not None else draw(st.sampled_from(["served", "waiting"]))
        )
        # moves happen up to the extract date; a planned end may lie beyond it
        span = (min(end or EXTRACT_DATE, EXTRACT_DATE) - start).days
        cuts = sorted(draw(st.sets(st.integers(1, span), max_size=min(span, 3)))) if span else []
        bounds = [start, *(start + c * DAY for c in cuts)]
        for j, piece_start in enumerate(bounds):
            is_last = j == len(bounds) - 1
            locations["case_id"].append(f"C{i}")
            locations["hromada_code"].append(draw(st.sampled_from(HROMADAS)))
            locations["provider_id"].append(draw(st.sampled_from([None, "P1", "P2"])))
            locations["valid_from"].append(piece_start)
            locations["valid_to"].append(end if is_last else bounds[j + 1] - DAY)
    base = base_tables()
    return {
        "recipients": pl.DataFrame(recipients, schema=base["recipients"].schema),
        "cases": pl.DataFrame(cases, schema=base["cases"].schema),
        "case_locations": pl.DataFrame(locations, schema=base["case_locations"].schema),
        "providers": base["providers"],
        "services": base["services"],
        "territory_status": base["territory_status"],
    }


# cells a user might get wrong: (table, column, bad text)
MISTAKES = [
    ("recipients", "sex", "X"),
    ("recipients", "birth_date", "31.02.1950"),
    ("cases", "recipient_id", "R404"),
    ("cases", "need_level", "9"),
    ("cases", "start_date", "2030-01-01"),
    ("case_locations", "valid_from", "2030-01-01"),
    ("case_locations", "hromada_code", "UA99999999999999999"),
    ("case_locations", "case_id", "C0"),
]


def _spoil(tables: dict[str, pl.DataFrame], draw: st.DrawFn) -> dict[str, pl.DataFrame]:
    for table, column, text in draw(st.lists(st.sampled_from(MISTAKES), max_size=4)):
        frame = tables[table].cast(pl.String)
        row = draw(st.integers(0, frame.height - 1))
        cells = frame[column].to_list()
        cells[row] = text
        tables = {**tables, table: frame.with_columns(pl.Series(column, cells, dtype=pl.String))}
    return tables


def _read_written(tables: dict[str, pl.DataFrame], fmt: str = "parquet"):
    with tempfile.TemporaryDirectory() as folder:
        return read(write_extract(Path(folder), tables, fmt=fmt))


@settings(max_examples=15, deadline=None)
@given(valid_extracts())
def test_valid_extracts_pass_with_zero_quarantine(tables):
    registry = _read_written(tables)
    assert registry.quarantine.height == 0, registry.quarantine.to_dicts()
    assert registry.warnings.height == 0, registry.warnings
    for name in REGISTRY_TABLES:
        assert_frame_equal(
            registry.table(name).drop("source_line"),
            tables[name].cast(registry.table(name).drop("source_line").schema),
        )


def _canonical(registry) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    tables = {
        name: registry.table(name).drop("source_line").sort(pl.all(), nulls_last=True)
        for name in REGISTRY_TABLES
    }
    quarantine = registry.quarantine.drop("source_line", "source_file").sort(
        pl.all(), nulls_last=True
    )
    return tables, quarantine


@settings(max_examples=10, deadline=None)
@given(valid_extracts(), st.data())
def test_row_order_does_not_change_the_result(tables, data):
    tables = _spoil(tables, data.draw)
    seed = data.draw(st.integers(0, 2**32 - 1))
    shuffled = {
        name: frame.sample(fraction=1.0, shuffle=True, seed=seed) for name, frame in tables.items()
    }
    first_tables, first_quarantine = _canonical(_read_written(tables))
    other_tables, other_quarantine = _canonical(_read_written(shuffled))
    for name in REGISTRY_TABLES:
        assert_frame_equal(other_tables[name], first_tables[name])
    assert_frame_equal(other_quarantine, first_quarantine)


@settings(max_examples=3, deadline=None)
@given(st.integers(0, 10_000))
def test_generated_registries_pass_with_zero_quarantine(seed):
    from engine.synth import DEFAULT_EXTRACT_DATE, generate_registry

    tables = generate_registry(300, seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        for name, frame in tables.items():
            frame.write_parquet(Path(folder) / f"{name}.parquet")
        registry = read_registry(folder, extract_date=DEFAULT_EXTRACT_DATE)
    assert registry.quarantine.height == 0, registry.quarantine.to_dicts()
    assert {n: registry.table(n).height for n in REGISTRY_TABLES} == {
        n: f.height for n, f in tables.items()
    }

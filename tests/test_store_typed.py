"""The store's result tables are typed (coded dimensions, exact money) and readable with plain SQL.

A run of the sample registry's entitlements and an allocation is published, then read back with
nothing but DuckDB (`duckdb.connect(store, read_only=True)`), as a BI tool would.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from engine.allocation import allocate, claims_from_case_months, policy_from_dict
from engine.entitlements import compute_entitlements
from engine.params import load_funding_model
from engine.reference import load_services, load_territories
from engine.registry import read_registry
from engine.store import RunManifest, Store

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data_samples" / "registry"
BASELINE = REPO / "models" / "funding" / "baseline"
MONTHS = ("2026-05", "2026-06")
CODED = ("hromada_code", "oblast_code", "service_code", "provider_id", "ownership", "level")


def _manifest(run_id: str) -> RunManifest:
    return RunManifest(
        run_id=run_id,
        spec_name="typed",
        spec_path="typed.yaml",
        spec_hash="0",
        fingerprint=run_id,
        code_version="test",
        code_hash="0",
        inputs=[],
        parameters={},
        started_at=dt.datetime(2026, 12, 1),
        status="succeeded",
    )


def _publish(store: Store, run_id: str, tables: dict[str, pl.DataFrame]) -> None:
    manifest = _manifest(run_id)
    store.begin_run(manifest)
    store.publish(manifest, tables, reference=(load_territories(), load_services()))


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pl.DataFrame]]:
    territories = load_territories()
    registry = read_registry(SAMPLE, territories=territories)
    ent = compute_entitlements(registry, load_funding_model(BASELINE), territories, months=MONTHS)
    policy = policy_from_dict(
        {
            "name": "half",
            "envelope": {"national_uah": 1_000_000},
            "tiers": [{"name": "all", "otherwise": True}],
        }
    )
    allocation = allocate(claims_from_case_months(ent.case_months), policy)
    tables = {
        "segments": ent.segments,
        "case_months": ent.case_months,
        "rollups": ent.rollups,
        "flows": ent.flows,
        "allocations": allocation.rows,
        "allocation_by_group": allocation.by_group,
        "allocation_by_tier": allocation.by_tier,
        "forecast_models": pl.DataFrame(
            {
                "unique_id": ["UA/001.0", "UA/002.0", "UA/003.0"],
                "model": ["ETS(A,N,N)", "TSB", "ETS(A,N,N)"],
                "method": ["ols", "ols", "ols"],
                "demand_class": ["smooth", "intermittent", "smooth"],
                "reason": ["lowest AICc", "intermittent demand", "lowest AICc"],
            }
        ),
        # a float forecast amount is rounded to kopiyky at the store's edge, never stored as float
        "forecast": pl.DataFrame({"hromada_code": ["UA05020010000053508"], "need_uah": [1445.155]}),
    }
    path = tmp_path_factory.mktemp("store") / "mfr.duckdb"
    store = Store(path)
    _publish(store, "run-1", tables)
    return path, tables


def test_tables_are_typed_no_float_money_no_free_text_dimensions(published) -> None:
    path, tables = published
    with duckdb.connect(str(path), read_only=True) as con:
        for table in tables:
            types = {r[0]: r[1] for r in con.execute(f"DESCRIBE main.{table}").fetchall()}
            for column, dtype in types.items():
                if column.endswith("_uah"):
                    assert dtype.startswith("DECIMAL(18,"), (table, column, dtype)
                if column in CODED:
                    assert dtype.startswith("ENUM("), (table, column, dtype)
            assert "DOUBLE" not in {t for c, t in types.items() if c.endswith("_uah")}
        need = con.execute("SELECT need_uah FROM main.forecast").fetchall()
    assert need == [(Decimal("1445.16"),)]  # half away from zero, once


# text that stays text: keys and identifiers, and sentences (reasons) rather than categories
_FREE_TEXT = {"run_id", "case_id", "recipient_id", "unique_id", "reason"}


def test_no_result_table_keeps_a_low_cardinality_text_column(published) -> None:
    """Statuses, model forms, methods and the like are ENUMs too; only identifiers and reasons
    stay VARCHAR."""
    path, tables = published
    with duckdb.connect(str(path), read_only=True) as con:
        for table in tables:
            types = {r[0]: r[1] for r in con.execute(f"DESCRIBE main.{table}").fetchall()}
            text = {c for c, t in types.items() if t == "VARCHAR"}
            assert text <= _FREE_TEXT, (table, text - _FREE_TEXT)
        statuses = con.execute(
            "SELECT DISTINCT status FROM bi.allocation_by_tier ORDER BY 1"
        ).fetchall()
        assert statuses and all(isinstance(s, str) for (s,) in statuses)
        models = con.execute(
            "SELECT model, count(*) FROM main.forecast_models GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert models == [("ETS(A,N,N)", 2), ("TSB", 1)]


def test_bi_views_show_names_and_exact_totals_with_plain_sql(published) -> None:
    path, tables = published
    cm = tables["case_months"]
    with duckdb.connect(str(path), read_only=True) as con:
        views = {
            r[0] for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE schema_name = 'bi'"
            ).fetchall()
        }  # fmt: skip
        assert set(tables) <= views
        total = con.execute("SELECT sum(state_uah) FROM bi.case_months").fetchone()
        assert total is not None and total[0] == cm["state_uah"].sum()  # exact, both Decimal
        gross, copay, state = con.execute(
            "SELECT sum(gross_uah), sum(copay_uah), sum(state_uah) FROM bi.rollups "
            "WHERE level = 'national'"
        ).fetchone()  # type: ignore[misc]
        assert gross == copay + state == cm["gross_uah"].sum()
        rows = con.execute(
            "SELECT typeof(oblast_code), oblast_code_name, service_name_en, count(*) "
            "FROM bi.case_months GROUP BY ALL ORDER BY 4 DESC"
        ).fetchall()
        assert all(r[0] == "VARCHAR" and r[1] and r[2] for r in rows)
        oblasts = {
            r[0] for r in con.execute("SELECT territory_code_name FROM bi.rollups").fetchall()
        }
        assert "Україна" in oblasts
        allocated = con.execute("SELECT sum(allocated_uah) FROM bi.allocations").fetchone()
        assert allocated == (Decimal("1000000.00"),)  # Σ allocated = envelope, to the kopiyka


def test_a_later_run_with_new_categories_widens_the_enums(published, tmp_path: Path) -> None:
    path, tables = published
    copy = tmp_path / "mfr.duckdb"
    copy.write_bytes(path.read_bytes())
    extra = pl.DataFrame(
        {"hromada_code": ["UA99999999999999999"], "need_uah": [Decimal("1.00")]},
        schema={"hromada_code": pl.Enum(["UA99999999999999999"]), "need_uah": pl.Decimal(18, 2)},
    )
    _publish(Store(copy), "run-2", {"forecast": extra})
    with duckdb.connect(str(copy), read_only=True) as con:
        rows = con.execute(
            "SELECT run_id, hromada_code::VARCHAR, need_uah FROM main.forecast ORDER BY run_id"
        ).fetchall()
    assert rows == [
        ("run-1", "UA05020010000053508", Decimal("1445.16")),
        ("run-2", "UA99999999999999999", Decimal("1.00")),
    ]
    back = Store(copy).table("case_months", run_id="run-1")
    assert back["oblast_code"].dtype == pl.String  # read back as text, joins reference tables
    assert back["state_uah"].sum() == tables["case_months"]["state_uah"].sum()

"""`forecast_need`, the one forecast path: history rule, target names, determinism, need levels."""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine.demand import (
    demand_series,
    forecast_need,
    last_complete_month,
    money_column,
    split_claims_by_need_level,
)
from engine.errors import ConfigError
from engine.forecasting import (
    PACKAGED_DEFAULT,
    ForecastConfig,
    default_config_path,
    load_forecast_config,
)
from engine.forecasting._intervals import nanquantile_rows

REPO = Path(__file__).resolve().parents[2]
D = dt.date


def _months(first: dt.date, n: int) -> list[dt.date]:
    return pl.date_range(first, first.replace(year=first.year + 5), "1mo", eager=True)[:n].to_list()


def _segments(n_months: int = 30, *, last_days: int | None = None) -> pl.DataFrame:
    """Two hromadas × one service, a served and a waiting case each month (need level 2 and 3);
    the last month holds `last_days` days (a partly observed month) when given."""
    rows = []
    for k, month in enumerate(_months(D(2024, 1, 1), n_months)):
        dim = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        days_in_month = dim.day
        days = days_in_month if last_days is None or k < n_months - 1 else last_days
        for hromada, served, waiting in (("H1", 3 + k % 3, 1), ("H2", 2, k % 2)):
            for i, (funded, count, level) in enumerate(((True, served, 2), (False, waiting, 3))):
                for c in range(count):
                    rows.append(
                        {
                            "case_id": f"{hromada}-{i}-{c}",
                            "service_code": "015.1",
                            "service_group": "care",
                            "need_level": level,
                            "month": month,
                            "segment_from": month,
                            "days": days,
                            "days_in_month": days_in_month,
                            "hromada_code": hromada,
                            "raion_code": "R1",
                            "oblast_code": "O1",
                            "state_uah": 100.0 * days / days_in_month,
                            "funded": funded,
                        }
                    )
    return pl.DataFrame(rows)


class _Tariffs:
    def table(self, name: str) -> pl.DataFrame:
        assert name == "tariff"
        return pl.DataFrame(
            {"service_code": ["015.1"], "valid_from": [D(2020, 1, 1)], "valid_to": [None]},
            schema_overrides={"valid_to": pl.Date},
        ).with_columns(value=pl.lit(100.0))


FAST = ForecastConfig(
    target="case_months_need",
    horizon=3,
    models=("ses",),
    reconcile="bottom_up",
    backtest_windows=0,
)


def test_the_month_the_extract_did_not_see_in_full_is_left_out():
    assert last_complete_month(D(2026, 3, 31)) == D(2026, 3, 1)
    assert last_complete_month(D(2026, 3, 30)) == D(2026, 2, 1)
    assert last_complete_month(D(2024, 2, 29)) == D(2024, 2, 1)
    segments = _segments(30, last_days=10)  # June 2026 seen for 10 days
    partial = forecast_need(segments, FAST, extract_date=D(2026, 6, 10))
    assert partial.history_months == (D(2024, 1, 1), D(2026, 5, 1))
    assert partial.history["month"].max() == D(2026, 5, 1)
    assert partial.forecasts["ds"].min() == D(2026, 6, 1)
    full = forecast_need(_segments(30), FAST, extract_date=D(2026, 6, 30))
    assert full.history_months[1] == D(2026, 6, 1)


def test_history_months_keep_the_last_complete_months_and_zeros_fill_quiet_months():
    segments = _segments(30).filter(
        ~((pl.col("hromada_code") == "H2") & (pl.col("month") == D(2025, 3, 1)))
    )
    need = forecast_need(
        segments, dataclasses.replace(FAST, history_months=24), extract_date=D(2026, 6, 30)
    )
    assert need.history_months == (D(2024, 7, 1), D(2026, 6, 1))
    h2 = need.history.filter(pl.col("hromada_code") == "H2")
    assert h2.height == 24  # the month without a segment is a zero, not a gap
    assert h2.filter(pl.col("month") == D(2025, 3, 1))["case_months_need"].item() == 0.0


@pytest.mark.parametrize(
    ("target", "money", "per_month"),
    [
        ("case_months_need", "need_uah", 100.0),
        ("case_months_served", "served_uah", 100.0),
        ("case_months_waiting", "waiting_uah", 100.0),
    ],
)
def test_what_is_forecast_is_named_in_every_output(target, money, per_month):
    config = dataclasses.replace(FAST, target=target)
    need = forecast_need(_segments(), config, extract_date=D(2026, 6, 30), model=_Tariffs())
    assert need.target == target and money_column(target) == money == need.money_column
    assert set(need.forecasts["target"]) == {target}
    assert need.need is not None
    assert {target, money, f"{money}_hi_95"} <= set(need.need.columns)
    assert "need_uah" not in need.need.columns or target == "case_months_need"
    # every case-month of the fixture costs 100 UAH at tariff 100: price = 100 per case-month
    assert need.need["price_uah"].to_list() == pytest.approx([per_month] * need.need.height)
    bottom = need.forecasts.filter(pl.col("level") == need.result.hierarchy.levels[-1])
    assert need.need[target].sum() == pytest.approx(bottom["mean"].sum())


def test_need_is_served_plus_waiting():
    history = demand_series(_segments())
    assert (
        history["case_months_need"]
        == history["case_months_served"] + history["case_months_waiting"]
    ).all()


def test_an_unknown_target_is_a_configuration_error():
    with pytest.raises(ConfigError, match="target must be one of"):
        forecast_need(
            _segments(), dataclasses.replace(FAST, target="y"), extract_date=D(2026, 6, 30)
        )


def test_demand_series_do_not_depend_on_row_order():
    segments = _segments().with_columns(
        state_uah=pl.col("state_uah") * (1 + pl.int_range(pl.len()) / 7)
    )
    a = demand_series(segments)
    for seed in range(5):
        b = demand_series(segments.sample(fraction=1.0, shuffle=True, seed=seed))
        assert_frame_equal(a, b, check_exact=True)


def test_vectorised_nanquantile_is_numpys_bit_for_bit():
    rng = np.random.default_rng(7)
    qs = np.array([0.1, 0.9, 0.025, 0.975, 0.0, 1.0, 0.5])
    for trial in range(100):
        rows, cols = rng.integers(1, 40), rng.integers(1, 50)
        e = rng.normal(size=(rows, cols)) * 10 ** rng.uniform(-3, 3)
        e[rng.random((rows, cols)) < rng.uniform(0, 1)] = np.nan
        if trial % 4 == 0:
            e = np.round(e)  # ties
        with warnings.catch_warnings():  # numpy warns on an all-NaN row
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = np.nan_to_num(np.nanquantile(e, qs, axis=1, method="weibull"))
        assert np.array_equal(nanquantile_rows(e, qs), expected)


def test_claims_split_by_need_level_keep_every_total():
    segments = _segments()
    need = forecast_need(segments, FAST, extract_date=D(2026, 6, 30), model=_Tariffs())
    assert need.need is not None
    split = split_claims_by_need_level(need.need, segments, months=12)
    assert set(split["need_level"]) == {2, 3}
    for column in ("case_months_need", "need_uah", "need_uah_hi_80"):
        assert split[column].sum() == pytest.approx(need.need[column].sum())
    # H2 over the last 12 months (Jul 2025..Jun 2026): 2 served (level 2) a month, and a waiting
    # case (level 3) every other month: 24 and 6 case-months
    h2 = split.filter((pl.col("hromada_code") == "H2") & (pl.col("month") == D(2026, 7, 1)))
    total = need.need.filter((pl.col("hromada_code") == "H2") & (pl.col("month") == D(2026, 7, 1)))[
        "need_uah"
    ].item()
    shares = dict(zip(h2["need_level"], h2["need_uah"] / total, strict=True))
    assert shares == pytest.approx({2: 24 / 30, 3: 6 / 30})


def test_the_split_takes_the_mix_from_complete_months_before_the_forecast():
    segments = _segments(30, last_days=10)
    need = forecast_need(segments, FAST, extract_date=D(2026, 6, 10), model=_Tariffs())
    assert need.need is not None
    # a planner who keeps only the budget months still gets the mix of the 12 months before
    # the extract's last complete month, not of the partly observed June
    later = need.need.filter(pl.col("month") >= D(2026, 8, 1))
    a = split_claims_by_need_level(later, segments, extract_date=D(2026, 6, 10))
    b = split_claims_by_need_level(need.need, segments)
    keys = ["hromada_code", "month", "need_level"]
    assert_frame_equal(a.sort(keys), b.filter(pl.col("month") >= D(2026, 8, 1)).sort(keys))


def test_the_packaged_default_configuration_is_the_projects():
    assert PACKAGED_DEFAULT.read_bytes() == (REPO / "models/forecast/default.yaml").read_bytes()
    assert default_config_path(REPO / "notebooks") == REPO / "models/forecast/default.yaml"


def test_outside_a_project_the_default_configuration_is_the_packaged_one(tmp_path):
    assert default_config_path(tmp_path) == PACKAGED_DEFAULT
    config = load_forecast_config(PACKAGED_DEFAULT)
    assert config.target == "case_months_need"


def test_a_fan_chart_reads_the_history_of_a_node_named_by_its_target():
    from engine.report import node_history

    need = forecast_need(_segments(), FAST, extract_date=D(2026, 6, 30))
    history = need.history.rename({"month": "ds", need.target: "y"})
    past = node_history(history, need.forecasts, "total")
    assert past.height == 30
    assert past["y"].sum() == pytest.approx(need.history["case_months_need"].sum())


def test_coded_segments_give_the_same_forecast_and_split():
    """Segments may hold their codes as Enum (the entitlement step's coded dimensions)."""
    segments = _segments()
    coded = segments.with_columns(
        pl.col(c).cast(pl.Enum(sorted(segments[c].unique())))
        for c in ("hromada_code", "service_code", "service_group", "raion_code", "oblast_code")
    )
    a = forecast_need(segments, FAST, extract_date=D(2026, 6, 30), model=_Tariffs())
    b = forecast_need(coded, FAST, extract_date=D(2026, 6, 30), model=_Tariffs())
    assert_frame_equal(a.forecasts, b.forecasts, check_exact=True)
    assert a.need is not None and b.need is not None
    assert_frame_equal(
        split_claims_by_need_level(a.need, segments),
        split_claims_by_need_level(b.need, coded),
        check_exact=True,
    )


def test_price_and_split_do_not_depend_on_row_order():
    segments = _segments().with_columns(
        state_uah=pl.col("state_uah") * (1 + pl.int_range(pl.len()) / 7),
        days=pl.min_horizontal(pl.col("days"), 1 + pl.int_range(pl.len()) % 31),
    )
    need = forecast_need(segments, FAST, extract_date=D(2026, 6, 30), model=_Tariffs())
    assert need.need is not None
    split = split_claims_by_need_level(need.need, segments)
    bottom = need.forecasts.filter(pl.col("level") == need.result.hierarchy.levels[-1])
    from engine.demand import price_forecast

    for seed in range(5):
        history = need.history.sample(fraction=1.0, shuffle=True, seed=seed)
        assert_frame_equal(price_forecast(bottom, history, _Tariffs()), need.need, check_exact=True)
        shuffled = segments.sample(fraction=1.0, shuffle=True, seed=seed)
        assert_frame_equal(split_claims_by_need_level(need.need, shuffled), split, check_exact=True)


def test_mfr_forecast_of_served_case_months_never_calls_them_need(tmp_path, capsys):
    import json

    from engine.cli import main

    out = tmp_path / "served"
    code = main(
        [
            "forecast", str(REPO / "data_samples" / "registry"),
            "--model", str(REPO / "models" / "funding" / "baseline"),
            "--config", str(REPO / "tests" / "forecast" / "data" / "fast.yaml"),
            "--target", "case_months_served", "--backtest-windows", "0", "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "forecast served:" in printed and "need" not in printed.split("forecast served:")[1]
    need = pl.read_parquet(out / "need.parquet")
    assert {"case_months_served", "served_uah"} <= set(need.columns)
    assert not any(c.startswith(("need_uah", "case_months_need")) for c in need.columns)
    meta = json.loads((out / "forecast.json").read_text())
    assert meta["target"] == "case_months_served" and meta["money_column"] == "served_uah"
    assert set(pl.read_parquet(out / "forecasts.parquet")["target"]) == {"case_months_served"}

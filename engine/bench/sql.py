"""The DuckDB SQL a data engineer would write for DESIGN.md §5: the benchmark's set-based rival.

No engine code runs here: the extract is read by DuckDB (messy CP1251 CSV is transcoded to UTF-8
first, as `iconv` would, since DuckDB reads no CP1251), the funding model's YAML files are read
with PyYAML into small interval tables (`engine.bench._sql_model`), and every rule is SQL:

0. cases and recipients get integer surrogate keys on reading, so the big joins and groupings run
   on integers; the id strings are joined back only into the written outputs;
1. pieces: each location clipped to its case's dates and the period (funded = it names a provider);
2. a coefficient timeline per hromada: at every status or coefficient change date, the product of
   the coefficients of its distinct active statuses, capped; only real changes are kept;
3. a rate calendar per (service, need level, disability group): month starts and the change dates
   of its tariff, norms, caps, modifier and the co-payment rules, with every value in force there;
4. segments: pieces exploded into the months they touch (`unnest(range(...))`), joined to the
   timeline (hromada + interval overlap) and to the calendar ((combination, month) + overlap);
5. price = tariff × units × days / days-in-month (tariff × days for bed-days) × coefficient ×
   modifier; a factor not in force leaves the segment at 0; the monthly cap per (case, month,
   funded) scales the segments; the co-payment share by income band comes from an ASOF join;
   gross and co-payment rounded to kopiyky half away from zero per case-month, state = the
   difference;
6. outputs written with `COPY ... TO` Parquet: segments, case_months, rollups (hromada → raion →
   oblast → national, by service × ownership × funded: summed once at the hromada level, the
   coarser levels by `GROUPING SETS` over that small table) and flows.

Run it as `python engine/bench/sql.py EXTRACT OUT --format csv|parquet --model DIR --months A:B`;
it prints one JSON line with the row counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__:  # imported as engine.bench.sql
    from engine.bench._sql_model import changes, in_force, load_model_tables
    from engine.bench._sql_price import price_and_write
else:  # run as a script by the benchmark: the engine package is never imported
    from _sql_model import (  # type: ignore[import-not-found,no-redef]
        changes,
        in_force,
        load_model_tables,
    )
    from _sql_price import price_and_write  # type: ignore[import-not-found,no-redef]

__all__ = ["main", "run_sql"]

_TERRITORIES = (
    Path(__file__).resolve().parents[2] / "data_samples" / "reference" / "territories.csv"
)
_NAMES = ("cases", "case_locations", "recipients", "providers", "services", "territory_status")
_CSV_TYPES = {
    "cases": {
        "case_id": "VARCHAR", "recipient_id": "VARCHAR", "service_code": "VARCHAR",
        "need_level": "INTEGER", "assessed_units": "DOUBLE", "start_date": "DATE",
        "end_date": "DATE", "status": "VARCHAR",
    },
    "case_locations": {
        "case_id": "VARCHAR", "hromada_code": "VARCHAR", "provider_id": "VARCHAR",
        "valid_from": "DATE", "valid_to": "DATE",
    },
    "recipients": {
        "recipient_id": "VARCHAR", "birth_date": "DATE", "sex": "VARCHAR",
        "disability_group": "VARCHAR", "is_idp": "BOOLEAN", "registered_hromada": "VARCHAR",
        "income_ratio": "DOUBLE",
    },
    "providers": {
        "provider_id": "VARCHAR", "edrpou": "VARCHAR", "name": "VARCHAR",
        "ownership": "VARCHAR", "hromada_code": "VARCHAR",
    },
    "services": {
        "service_code": "VARCHAR", "name_uk": "VARCHAR", "name_en": "VARCHAR",
        "unit": "VARCHAR", "group": "VARCHAR",
    },
    "territory_status": {
        "hromada_code": "VARCHAR", "status": "VARCHAR", "valid_from": "DATE", "valid_to": "DATE",
    },
}  # fmt: skip


def _read_extract(con: Any, extract: Path, fmt: str, scratch: Path) -> None:
    for name in _NAMES:
        if fmt == "parquet":
            source = f"read_parquet('{extract / f'{name}.parquet'}')"
        else:
            raw = (extract / f"{name}.csv").read_bytes()
            try:
                text = raw.decode("utf-8-sig")
                delim = ";" if raw[:4096].count(b";") > raw[:4096].count(b",") else ","
            except UnicodeDecodeError:  # the messy extract: CP1251, ';', decimal comma, dd.mm.yyyy
                text, delim = raw.decode("cp1251"), ";"
            path = scratch / f"{name}.csv"
            path.write_bytes(text.encode("utf-8"))
            columns = "{" + ", ".join(f"'{c}': '{t}'" for c, t in _CSV_TYPES[name].items()) + "}"
            messy = ", dateformat='%d.%m.%Y', decimal_separator=','" if delim == ";" else ""
            source = f"read_csv('{path}', delim='{delim}', header=true, columns={columns}{messy})"
        key = {
            "cases": "row_number() OVER () AS ck, ",
            "recipients": "row_number() OVER () AS rk, ",
        }
        # integer surrogate keys: the big joins and groupings run on integers, not id strings
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT {key.get(name, '')}* FROM {source}")
    con.execute(
        "CREATE TEMP TABLE territories AS SELECT hromada_code, raion_code, oblast_code "
        f"FROM read_csv('{_TERRITORIES}', header=true, all_varchar=true)"
    )


def _build(con: Any, p0: str, p1: str, *, coef_default: str, modifier_default: str) -> None:
    """Every table of the computation, up to priced segments and case-months."""
    q = con.execute
    q(f"""CREATE TEMP TABLE months AS
        SELECT unnest(range(DATE '{p0}', DATE '{p1}' + 1, INTERVAL 1 MONTH))::DATE AS month""")
    # 2. the coefficient timeline of every hromada with a status ('' = every other hromada)
    q(f"""CREATE TEMP TABLE st AS SELECT DISTINCT hromada_code AS hkey, status, valid_from,
        valid_to FROM territory_status
        WHERE valid_from <= DATE '{p1}' AND (valid_to IS NULL OR valid_to >= DATE '{p0}')""")
    q(f"""CREATE TEMP TABLE timeline AS
    WITH keys AS (SELECT DISTINCT hkey FROM st UNION ALL SELECT ''),
    cap_dates AS ({changes("p_territory_coef_cap", "")} UNION SELECT DATE '{p0}'),
    cuts AS (
        SELECT hkey, valid_from AS d FROM st
        UNION SELECT hkey, valid_to + 1 FROM st WHERE valid_to IS NOT NULL
        UNION SELECT s.hkey, c.d FROM (SELECT DISTINCT hkey, status FROM st) s
              JOIN ({changes("p_territory_coef", "status")}) c USING (status)
        UNION SELECT k.hkey, c.d FROM keys k, cap_dates c),
    inside AS (SELECT * FROM cuts WHERE d BETWEEN DATE '{p0}' AND DATE '{p1}'),
    active AS (SELECT DISTINCT k.hkey, k.d, st.status FROM inside k
        JOIN st ON st.hkey = k.hkey AND {in_force("st", "k.d")}),
    prod AS (SELECT a.hkey, a.d, product(coalesce(c.value, {coef_default}, 1.0)) AS product,
        string_agg(a.status, ',' ORDER BY a.status) AS statuses
        FROM active a LEFT JOIN p_territory_coef c ON c.status = a.status AND {in_force("c", "a.d")}
        GROUP BY a.hkey, a.d),
    capped AS (SELECT k.hkey, k.d, coalesce(p.statuses, '') AS statuses,
        CASE WHEN cap.value IS NULL THEN coalesce(p.product, 1.0)
             ELSE least(coalesce(p.product, 1.0), cap.value) END AS coef
        FROM inside k LEFT JOIN prod p USING (hkey, d)
        LEFT JOIN p_territory_coef_cap cap ON {in_force("cap", "k.d")}),
    marked AS (SELECT *, lag(coef) OVER w AS prev_coef, lag(statuses) OVER w AS prev_statuses
        FROM capped WINDOW w AS (PARTITION BY hkey ORDER BY d)),
    kept AS (SELECT hkey, d, coef FROM marked
        WHERE prev_coef IS NULL OR coef <> prev_coef OR statuses <> prev_statuses)
    SELECT hkey, d AS t_from, coef,
        coalesce(lead(d) OVER (PARTITION BY hkey ORDER BY d) - 1, DATE '{p1}') AS t_to
    FROM kept""")
    # 3. the rate calendar of every (service, need level, disability group) present
    q("""CREATE TEMP TABLE combos AS SELECT DISTINCT c.service_code, c.need_level,
        r.disability_group, coalesce(r.disability_group, '?') AS dkey,
        s."group" AS service_group, s.unit
        FROM cases c LEFT JOIN recipients r USING (recipient_id) JOIN services s USING (service_code)""")
    q(f"""CREATE TEMP TABLE regimes AS SELECT DISTINCT d AS r_from FROM (
        SELECT DATE '{p0}' AS d UNION SELECT d FROM ({changes("p_copay_bands", "")}
        UNION {changes("p_unknown_income_band", "")}) WHERE d > DATE '{p0}' AND d <= DATE '{p1}')""")
    q(f"""CREATE TEMP TABLE cal AS
    WITH dates AS (
        SELECT k.*, m.month AS d FROM combos k, months m
        UNION SELECT k.*, t.d FROM combos k JOIN ({changes("p_tariff", "service_code")}) t
              USING (service_code)
        UNION SELECT k.*, t.d FROM combos k
              JOIN ({changes("p_norm_units", "service_code, need_level")}) t
              USING (service_code, need_level)
        UNION SELECT k.*, t.d FROM combos k
              JOIN ({changes("p_max_units", "service_code, need_level")}) t
              USING (service_code, need_level)
        UNION SELECT k.*, t.d FROM combos k
              JOIN ({changes("p_modifier", "disability_group, service_group")}) t
              USING (disability_group, service_group)
        UNION SELECT k.*, r.r_from FROM combos k, regimes r),
    inside AS (SELECT * FROM dates WHERE d BETWEEN DATE '{p0}' AND DATE '{p1}')
    SELECT i.service_code, i.need_level, i.dkey, i.unit, date_trunc('month', i.d)::DATE AS month,
        i.d AS c_from,
        coalesce(lead(i.d) OVER (PARTITION BY i.service_code, i.need_level, i.dkey ORDER BY i.d)
                 - 1, DATE '{p1}') AS c_to,
        day(last_day(i.d)) AS days_in_month, t.value AS tariff, n.value AS norm,
        x.value AS max_units, coalesce(m.value, {modifier_default}) AS modifier, g.r_from
    FROM inside i
    LEFT JOIN p_tariff t ON t.service_code = i.service_code AND {in_force("t", "i.d")}
    LEFT JOIN p_norm_units n ON n.service_code = i.service_code AND n.need_level = i.need_level
        AND {in_force("n", "i.d")}
    LEFT JOIN p_max_units x ON x.service_code = i.service_code AND x.need_level = i.need_level
        AND {in_force("x", "i.d")}
    LEFT JOIN p_modifier m ON m.disability_group = i.disability_group
        AND m.service_group = i.service_group AND {in_force("m", "i.d")}
    ASOF JOIN regimes g ON i.d >= g.r_from""")


def run_sql(extract: Path, out: Path, *, fmt: str, model: Path, months: tuple[str, str]) -> dict:
    """Compute and write the entitlement outputs of `extract` under `model` with DuckDB only."""
    import duckdb

    first = dt.date.fromisoformat(months[0] + "-01")
    last = dt.date.fromisoformat(months[1] + "-01")
    p1 = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    defaults = load_model_tables(con, model)
    with tempfile.TemporaryDirectory(prefix="mfr-sql-") as scratch:
        _read_extract(con, extract, fmt, Path(scratch))
    _build(
        con,
        first.isoformat(),
        p1.isoformat(),
        coef_default=_literal(defaults.get("territory_coef")),
        modifier_default=_literal(defaults.get("modifier")),
    )
    counts = price_and_write(con, out, first.isoformat(), p1.isoformat())
    con.close()
    return counts


def _literal(value: Any) -> str:
    return "NULL::DOUBLE" if value is None else f"{float(value)!r}::DOUBLE"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="engine/bench/sql.py", description=__doc__)
    parser.add_argument("extract", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--format", choices=("csv", "parquet"), required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--months", required=True, help="YYYY-MM:YYYY-MM")
    args = parser.parse_args(argv)
    first, last = args.months.split(":")
    counts = run_sql(
        args.extract, args.out, fmt=args.format, model=args.model, months=(first, last)
    )
    sys.stdout.write(json.dumps(counts) + "\n")


if __name__ == "__main__":
    main()

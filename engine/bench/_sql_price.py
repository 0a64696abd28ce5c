"""The benchmark's SQL, second half: segments, prices, case-months and the written outputs.

Runs on the tables `engine.bench.sql` built (extract, parameters, timeline, calendar, regimes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

if __package__:  # imported as engine.bench._sql_price
    from engine.bench._sql_model import ROUND, in_force
else:  # run as a script by the benchmark: the engine package is never imported
    from _sql_model import ROUND, in_force  # type: ignore[import-not-found,no-redef]

__all__ = ["price_and_write"]


def _shares(con: Any) -> None:
    q = con.execute
    # co-payment share per recipient and rule regime: the band whose lower bound is the
    # greatest one not above the income (an ASOF join on the income)
    q(f"""CREATE TEMP TABLE shares AS
    WITH bands AS (
        SELECT g.r_from, b.income_ratio_from AS lower, b.value AS share FROM regimes g
        JOIN p_copay_bands b ON {in_force("b", "g.r_from")}),
    unknown AS (
        SELECT g.r_from, coalesce(max(u.value), 0.0) AS share FROM regimes g
        LEFT JOIN p_unknown_income_band u ON {in_force("u", "g.r_from")} GROUP BY g.r_from),
    people AS (SELECT r.rk, r.income_ratio, g.r_from FROM recipients r, regimes g)
    SELECT p.rk, p.r_from,
        CASE WHEN p.income_ratio IS NULL THEN k.share ELSE coalesce(b.share, 0.0) END AS share
    FROM people p JOIN unknown k USING (r_from)
    ASOF LEFT JOIN bands b ON b.r_from = p.r_from AND p.income_ratio >= b.lower""")


def _segments(con: Any, p0: str, p1: str) -> None:
    q = con.execute
    # 1. pieces: locations clipped to their case and the period, on the timeline's hromada key
    q(f"""CREATE TEMP TABLE pieces AS
    WITH clipped AS (
        SELECT c.ck, r.rk, c.service_code, c.need_level, c.assessed_units,
            coalesce(r.disability_group, '?') AS dkey, r.registered_hromada, l.hromada_code,
            l.provider_id, l.provider_id IS NOT NULL AS funded,
            greatest(l.valid_from, c.start_date, DATE '{p0}') AS p_from,
            least(coalesce(l.valid_to, DATE '{p1}'), coalesce(c.end_date, DATE '{p1}'),
                  DATE '{p1}') AS p_to
        FROM case_locations l JOIN cases c USING (case_id)
        LEFT JOIN recipients r USING (recipient_id))
    SELECT p.*, coalesce(h.hkey, '') AS hkey FROM clipped p
    LEFT JOIN (SELECT DISTINCT hkey FROM st) h ON h.hkey = p.hromada_code
    WHERE p.p_from <= p.p_to""")
    # 4. segments: each piece per month it touches × timeline interval × calendar entry
    q("""CREATE TEMP TABLE seg AS
    WITH by_month AS (
        SELECT p.*, m::DATE AS month,
            greatest(p.p_from, m::DATE) AS m_from, least(p.p_to, last_day(m::DATE)) AS m_to
        FROM pieces p, unnest(range(date_trunc('month', p.p_from), p.p_to + 1,
                                    INTERVAL 1 MONTH)) AS u(m)),
    coef AS (
        SELECT b.*, t.coef, greatest(b.m_from, t.t_from) AS s_from,
            least(b.m_to, t.t_to) AS s_to
        FROM by_month b JOIN timeline t ON t.hkey = b.hkey
            AND t.t_from <= b.m_to AND t.t_to >= b.m_from),
    cut AS (
        SELECT s.ck, s.rk, s.service_code, s.need_level, s.dkey,
            s.registered_hromada, s.hromada_code, s.provider_id, s.funded, s.month, s.coef,
            greatest(s.s_from, c.c_from) AS segment_from, least(s.s_to, c.c_to) AS segment_to,
            c.unit, c.days_in_month, c.tariff, c.modifier, h.share,
            CASE WHEN c.unit = 'month' THEN 1.0
                 WHEN coalesce(s.assessed_units, c.norm) IS NULL OR c.max_units IS NULL
                 THEN NULL
                 ELSE least(coalesce(CASE WHEN c.unit <> 'day' THEN s.assessed_units END,
                                     c.norm), c.max_units) END AS units
        FROM coef s JOIN cal c ON c.service_code = s.service_code
            AND c.need_level = s.need_level AND c.dkey = s.dkey AND c.month = s.month
            AND c.c_from <= s.s_to AND c.c_to >= s.s_from
        JOIN shares h ON h.rk = s.rk AND h.r_from = c.r_from)
    SELECT *, segment_to - segment_from + 1 AS days,
        coalesce(CASE WHEN unit = 'day' THEN tariff * modifier
                      ELSE tariff * modifier / days_in_month * units END
                 * (segment_to - segment_from + 1) * coef, 0.0) AS gross0
    FROM cut""")


def _case_months(con: Any) -> None:
    q = con.execute
    # the monthly cap (read on the month's first day) per (case, month, funded); rounding
    q(f"""CREATE TEMP TABLE cm AS
    WITH sums AS (
        SELECT s.ck, s.month, s.funded, any_value(s.service_code) AS service_code,
            sum(s.gross0) AS gross0, sum(s.gross0 * s.share) AS copay0, sum(s.days) AS days,
            any_value(s.days_in_month) AS days_in_month,
            arg_max(s.hromada_code, s.segment_from) AS hromada_code,
            arg_max(s.provider_id, s.segment_from) AS provider_id,
            any_value(s.rk) AS rk
        FROM seg s GROUP BY s.ck, s.month, s.funded),
    capped AS (
        SELECT s.*, CASE WHEN s.gross0 > c.value THEN c.value / s.gross0 ELSE 1.0 END AS factor
        FROM sums s LEFT JOIN p_monthly_cap c ON c.service_code = s.service_code
            AND {in_force("c", "s.month")})
    SELECT *,
        CAST(floor(abs(gross0 * factor) * {ROUND} + 0.5) AS BIGINT) AS gross_kop,
        CAST(floor(abs(copay0 * factor) * {ROUND} + 0.5) AS BIGINT) AS copay_kop
    FROM capped""")


def _write(con: Any, out: Path) -> None:
    q = con.execute
    q(f"""COPY (
        SELECT c.case_id, r.recipient_id, s.service_code, v."group" AS service_group, s.unit,
            s.need_level, s.month, s.segment_from, s.segment_to, s.days, s.days_in_month,
            s.hromada_code, t.raion_code, t.oblast_code, s.registered_hromada, s.provider_id,
            p.ownership, nullif(s.dkey, '?') AS disability_group, s.units, s.tariff, s.coef,
            s.modifier, m.factor AS cap_factor, s.gross0 * m.factor AS gross_uah,
            s.share AS copay_share, s.gross0 * m.factor * s.share AS copay_uah,
            s.gross0 * m.factor * (1 - s.share) AS state_uah, s.funded
        FROM seg s JOIN cm m USING (ck, month, funded)
        JOIN cases c ON c.ck = s.ck JOIN recipients r ON r.rk = s.rk
        LEFT JOIN services v ON v.service_code = s.service_code
        LEFT JOIN territories t ON t.hromada_code = s.hromada_code
        LEFT JOIN providers p ON p.provider_id = s.provider_id
    ) TO '{out / "segments.parquet"}' (FORMAT parquet)""")
    q(f"""COPY (
        SELECT c.case_id, m.month, m.funded, CAST(m.gross_kop / 100 AS DECIMAL(18, 2)) AS gross_uah,
            CAST(m.copay_kop / 100 AS DECIMAL(18, 2)) AS copay_uah,
            CAST((m.gross_kop - m.copay_kop) / 100 AS DECIMAL(18, 2)) AS state_uah,
            m.days / m.days_in_month AS case_months, CAST(m.days AS INTEGER) AS days, r.recipient_id, m.service_code,
            m.hromada_code, m.provider_id, p.ownership
        FROM cm m JOIN cases c ON c.ck = m.ck JOIN recipients r ON r.rk = m.rk
        LEFT JOIN providers p USING (provider_id)
    ) TO '{out / "case_months.parquet"}' (FORMAT parquet)""")
    # parts: the money of a case-month in one serving hromada with one provider
    q("""CREATE TEMP TABLE parts AS
    SELECT s.month, s.funded, s.service_code, s.hromada_code, s.registered_hromada,
        any_value(p.ownership) AS ownership, sum(s.days) AS days,
        sum(s.days) / any_value(s.days_in_month) AS case_months,
        round(sum(s.gross0 * m.factor), 2) AS gross_uah,
        round(sum(s.gross0 * m.factor * s.share), 2) AS copay_uah
    FROM seg s JOIN cm m USING (ck, month, funded)
    LEFT JOIN providers p ON p.provider_id = s.provider_id
    GROUP BY s.ck, s.month, s.funded, s.service_code, s.hromada_code, s.provider_id,
        s.registered_hromada""")
    sums = """sum(case_months) AS case_months, sum(days) AS days,
        CAST(sum(gross_uah) AS DECIMAL(18, 2)) AS gross_uah,
        CAST(sum(copay_uah) AS DECIMAL(18, 2)) AS copay_uah,
        CAST(sum(gross_uah - copay_uah) AS DECIMAL(18, 2)) AS state_uah"""
    # rollups: summed once at the finest level, the coarser levels from that small table
    q("""CREATE TEMP TABLE fine AS SELECT month, hromada_code, service_code, ownership, funded,
        sum(case_months) AS case_months, sum(days) AS days, sum(gross_uah) AS gross_uah,
        sum(copay_uah) AS copay_uah FROM parts
        GROUP BY month, hromada_code, service_code, ownership, funded""")
    q(f"""COPY (
        SELECT month, CASE WHEN GROUPING(hromada_code) = 0 THEN 'hromada'
                           WHEN GROUPING(raion_code) = 0 THEN 'raion'
                           WHEN GROUPING(oblast_code) = 0 THEN 'oblast' ELSE 'national' END
                      AS level,
            coalesce(hromada_code, raion_code, oblast_code, 'UA') AS territory_code,
            service_code, ownership, funded, {sums}
        FROM fine LEFT JOIN territories USING (hromada_code)
        GROUP BY GROUPING SETS (
            (month, oblast_code, raion_code, hromada_code, service_code, ownership, funded),
            (month, oblast_code, raion_code, service_code, ownership, funded),
            (month, oblast_code, service_code, ownership, funded),
            (month, service_code, ownership, funded))
    ) TO '{out / "rollups.parquet"}' (FORMAT parquet)""")
    q(f"""COPY (
        SELECT month, CASE WHEN GROUPING(p.registered_hromada) = 0 THEN 'hromada'
                           ELSE 'oblast' END AS level,
            coalesce(p.registered_hromada, r.oblast_code) AS registered_code,
            coalesce(p.hromada_code, t.oblast_code) AS serving_code, funded, {sums}
        FROM parts p LEFT JOIN territories t ON t.hromada_code = p.hromada_code
        LEFT JOIN territories r ON r.hromada_code = p.registered_hromada
        WHERE p.registered_hromada IS DISTINCT FROM p.hromada_code
        GROUP BY GROUPING SETS ((month, p.registered_hromada, p.hromada_code, funded),
                                (month, r.oblast_code, t.oblast_code, funded))
    ) TO '{out / "flows.parquet"}' (FORMAT parquet)""")


def price_and_write(con: Any, out: Path, p0: str, p1: str) -> dict[str, int]:
    """Segments, case-months, rollups and flows; returns the row counts."""
    _shares(con)
    _segments(con, p0, p1)
    _case_months(con)
    _write(con, out)
    (segments,) = con.execute("SELECT count(*) FROM seg").fetchone()
    (case_months,) = con.execute("SELECT count(*) FROM cm").fetchone()
    return {"segments": int(segments), "case_months": int(case_months)}

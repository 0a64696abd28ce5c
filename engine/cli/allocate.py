"""`mfr allocate CLAIMS --policy FILE --out DIR`: distribute an envelope over claims by a policy.

CLAIMS is a Parquet or CSV file: `case_months.parquet` from `mfr entitle` (the claim is `state_uah`;
`--funded-only` leaves out waiting cases), or any claims file with the policy's claim column (a
forecast of need, say, with `--claim-column need_uah`). Writes `rows`, `by_group`, `by_tier`,
`by_territory`, `by_service`, `equity` (and `binding` in optimisation mode) as Parquet plus
`summary.json` into DIR, replacing only the files an earlier `mfr allocate` wrote there, each
complete or absent (`engine.cli._output`). A bad policy, `--envelope` or `--mode` is a one-line
ConfigError (exit code BAD_CONFIG), never a traceback; `--mode optimize` is `optimise`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from engine.cli._console import LANG_OPTION
from engine.cli._output import OVERWRITE_HELP, check_output_folder, staged_folder
from engine.money import format_uah

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console

    from engine.allocation import Allocation

__all__ = ["allocate_command", "read_claims", "register"]

_MODES = ("default", "optimise")
# spellings a user may reasonably type for a mode; anything else gets the closest valid name
_MODE_SPELLINGS = {"optimize": "optimise", "optimisation": "optimise", "optimization": "optimise"}

# code columns that CSV type inference would otherwise read as numbers ("015.1" → 15.1)
_TEXT_COLUMNS = (
    "case_id",
    "recipient_id",
    "service_code",
    "service_group",
    "hromada_code",
    "raion_code",
    "oblast_code",
    "registered_hromada",
    "registered_oblast_code",
    "provider_id",
    "ownership",
    "disability_group",
    "unique_id",
)


def read_claims(path: Path, *, funded_only: bool = False) -> pl.DataFrame:
    """Read a claims file (Parquet or CSV); `case_months` files become claims on `state_uah`."""
    import polars as pl

    from engine.allocation import claims_from_case_months
    from engine.errors import InputFileError

    if not path.is_file():
        raise InputFileError("claims file not found", path=path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pl.read_parquet(path)
        elif suffix in (".csv", ".txt"):
            header = pl.read_csv(path, n_rows=0).columns
            frame = pl.read_csv(
                path,
                schema_overrides={c: pl.String for c in _TEXT_COLUMNS if c in header},
                infer_schema_length=10_000,
                try_parse_dates=True,
            )
        else:
            raise InputFileError("claims must be a .parquet or .csv file", path=path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(f"cannot read claims: {str(exc).splitlines()[0]}", path=path) from exc
    if {"case_id", "month", "funded", "state_uah"} <= set(frame.columns):
        return claims_from_case_months(frame, include_unmet=not funded_only)
    if funded_only:
        raise InputFileError("--funded-only applies to case_months files only", path=path)
    return frame


def allocate_command(
    claims: Path = typer.Argument(..., help="Claims file (.parquet or .csv), e.g. case_months."),
    *,
    policy: Path = typer.Option(..., "--policy", help="Policy file in models/allocation/."),
    out: Path = typer.Option(..., "--out", help="Folder for the Parquet outputs."),
    envelope: float | None = typer.Option(
        None, "--envelope", help="National envelope in UAH instead of the policy's (oblasts scale)."
    ),
    mode: str = typer.Option(
        "default", "--mode", help="default (DESIGN.md §6) or optimise (also: optimize)."
    ),
    funded_only: bool = typer.Option(
        False, "--funded-only", help="case_months: leave out waiting cases (unmet need)."
    ),
    claim_column: str | None = typer.Option(
        None, "--claim-column", help="Money column to allocate on, instead of the policy's."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    as_json: bool = typer.Option(
        False, "--json", help="Print the summary (summary.json) as JSON instead of tables."
    ),
    lang: str | None = LANG_OPTION,
) -> None:
    """Allocate a budget envelope over claims by a policy; print who gets what and who falls short."""
    from engine.allocation import allocate, load_policy
    from engine.cli._console import console_for, print_json
    from engine.reference import load_territories

    mode = _mode(mode)
    if envelope is not None:
        _check_envelope(envelope)
    check_output_folder(out, overwrite=overwrite)
    loaded = load_policy(policy)
    if claim_column is not None:
        loaded = dataclasses.replace(loaded, claim_column=claim_column)
    frame = read_claims(claims, funded_only=funded_only)
    territories = (
        load_territories() if {"hromada_code", "oblast_code"} & set(frame.columns) else None
    )
    result = allocate(
        frame,
        loaded,
        envelope,
        mode=mode,  # type: ignore[arg-type]  # checked above
        territories=territories,
        claims_path=claims,
    )
    _write(out, result, claims=claims, policy_path=policy, overwrite=overwrite)
    if as_json:
        print_json(_summary(result, claims, policy) | {"written_to": str(out)})
        return
    _print_summary(console_for(), result, out)


def _mode(text: str) -> str:
    """The allocation mode `text` names; the American spelling is the same mode."""
    import difflib

    from engine.errors import ConfigError

    wanted = text.strip().lower()
    wanted = _MODE_SPELLINGS.get(wanted, wanted)
    if wanted in _MODES:
        return wanted
    close = difflib.get_close_matches(wanted, [*_MODES, *_MODE_SPELLINGS], n=1, cutoff=0.6)
    hint = f"; did you mean '{_MODE_SPELLINGS.get(close[0], close[0])}'?" if close else ""
    raise ConfigError(f"--mode must be 'default' or 'optimise', got '{text}'{hint}")


def _check_envelope(amount: float) -> None:
    """`--envelope` is the operator's amount, so a bad one is the option's fault, not the policy's."""
    import math

    from engine.errors import ConfigError

    if not (math.isfinite(amount) and amount > 0):
        shown = str(int(amount)) if amount.is_integer() else str(amount)
        raise ConfigError(f"--envelope must be a positive amount in UAH, got {shown}")


def _summary(result: Allocation, claims: Path, policy_path: Path) -> dict[str, object]:
    import hashlib

    equity = result.equity
    return {
        "policy": result.policy.name,
        "policy_file": str(policy_path),
        "policy_sha256": hashlib.sha256(policy_path.read_bytes()).hexdigest(),
        "claims_file": str(claims),
        "mode": result.mode,
        "rows": result.rows.height,
        "envelope_uah": round(result.envelope_uah, 2),
        "claims_uah": round(result.claims_uah, 2),
        "capped_claims_uah": round(result.capped_claims_uah, 2),
        "allocated_uah": result.allocated_uah,
        "unspent_uah": result.unspent_uah,
        "equity": {
            "level": equity.level,
            "coverage_spread": equity.coverage_spread,
            "gini_per_capita": equity.gini_per_capita,
            "share_below_floor": equity.share_below_floor,
        },
        "warnings": list(result.warnings),
    }


def _write(
    out: Path, result: Allocation, *, claims: Path, policy_path: Path, overwrite: bool
) -> None:
    with staged_folder(out, command="allocate", overwrite=overwrite) as staging:
        for name, frame in result.frames().items():
            frame.write_parquet(staging / f"{name}.parquet")
        (staging / "summary.json").write_text(
            json.dumps(_summary(result, claims, policy_path), indent=2, ensure_ascii=False),
            encoding="utf-8",
        )


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _print_summary(console: Console, result: Allocation, out: Path) -> None:
    from rich.table import Table

    from engine.cli._console import output_lang, text
    from engine.report._labels import tier_label

    policy = result.policy
    console.print(
        text(
            "cli_al_title",
            policy=policy.name,
            mode=result.mode,
            rows=result.rows.height,
            floor=f"{policy.floor_share:.0%}",
        )
    )
    groups = Table(title=text("cli_envelope_groups"))
    columns = (
        "group",
        "envelope",
        "capped claims",
        "allocated",
        "unspent",
        "coverage",
        "marginal tier",
    )
    for name in columns:
        groups.add_column(
            text(f"cli_col_{name}"),
            justify="left" if name in ("group", "marginal tier") else "right",
            no_wrap=name != "marginal tier",
        )
    show_value = result.mode == "optimise"
    if show_value:
        groups.add_column(text("cli_al_value_of_uah"), justify="right")
    for row in result.by_group.iter_rows(named=True):
        marginal = row["marginal_tier"] or (
            "–" if row["floors_paid"] else text("cli_al_floors_unaffordable")
        )
        cells = [
            tier_label(str(row["envelope_group"]), output_lang()),
            format_uah(row["envelope_uah"], exact=True),
            format_uah(row["capped_claim_uah"], exact=True),
            format_uah(row["allocated_uah"], exact=True),
            format_uah(row["unspent_uah"], exact=True),
            _share(row["coverage"]),
            tier_label(marginal, output_lang()),
        ]
        if show_value:
            value = row.get("marginal_value")
            cells.append("–" if value is None else f"{value:,.3f}")
        groups.add_row(*cells)
    console.print(groups)

    tiers = (
        result.by_tier.group_by("tier_rank", "tier")
        .agg(
            _sum("rows"),
            _sum("capped_claim_uah"),
            _sum("allocated_uah"),
            _sum("shortfall_uah"),
        )
        .sort("tier_rank")
    )
    tier_table = Table(title=text("cli_tiers"))
    for name in ("tier", "rows", "capped claims", "allocated", "shortfall", "coverage"):
        tier_table.add_column(
            text(f"cli_col_{name}"), justify="left" if name == "tier" else "right"
        )
    for row in tiers.iter_rows(named=True):
        claimed = row["capped_claim_uah"]
        tier_table.add_row(
            tier_label(str(row["tier"]), output_lang()),
            f"{row['rows']:,}",
            format_uah(claimed, exact=True),
            format_uah(row["allocated_uah"], exact=True),
            format_uah(row["shortfall_uah"], exact=True),
            _share(row["allocated_uah"] / claimed if claimed else None),
        )
    console.print(tier_table)

    if result.binding is not None:
        binding = Table(title=text("cli_al_constraints"))
        for name in ("constraint", "group", "binding", "at_bound", "shadow_price", "meaning"):
            binding.add_column(text(f"cli_al_col_{name}"))
        for row in result.binding.iter_rows(named=True):
            price = row["shadow_price"]
            state = "yes" if row["binding"] else ("tight" if row["tight"] else "no")
            binding.add_row(
                row["constraint"],
                tier_label(row["envelope_group"] or "national", output_lang()),
                text(f"cli_al_{state}"),
                "–" if row["at_bound"] is None else f"{row['at_bound']:,}",
                "–" if price is None else f"{price:,.4f}",
                row["note"],
            )
        console.print(binding)

    equity = result.equity
    if equity.level is not None and equity.territories:
        gini = "–" if equity.gini_per_capita is None else f"{equity.gini_per_capita:.3f}"
        console.print(
            text(
                f"cli_al_equity_{equity.level.removesuffix('_code')}",
                territories=equity.territories,
                low=_share(equity.coverage_min),
                high=_share(equity.coverage_max),
                spread=_share(equity.coverage_spread),
                gini=gini,
                below=_share(equity.share_below_floor),
            )
        )
    allocated, envelope, claims = (
        format_uah(x, exact=True)
        for x in (result.allocated_uah, result.envelope_uah, result.capped_claims_uah)
    )
    console.print(text("cli_al_allocated", allocated=allocated, envelope=envelope, claims=claims))
    if result.unspent_uah > 0:
        unspent = format_uah(result.unspent_uah, exact=True)
        console.print(text("cli_al_unspent", unspent=unspent))
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(text("cli_written_to", out=out), soft_wrap=True)


def _sum(column: str) -> pl.Expr:
    import polars as pl

    return pl.col(column).sum()


def register(app: typer.Typer) -> None:
    app.command("allocate")(allocate_command)

"""Explaining a past run from the store alone: what a run keeps of each case, and reading it back.

A run's `validate` step publishes, beside the quarantine, what pricing read of every case
(`stored_inputs`): `case_inputs`, one row per case location with the case's and its recipient's
columns and the provider's ownership, and `territory_status`, the statuses of the run's extract.
Nothing there is a personal identifier (they never pass ingestion); the birth date is kept only to
the month (the 2nd when the person was born after the 1st, so ages on the first day of a month,
the only ages the engine takes, come out the same).

`explain_run` rebuilds the case's registry from those rows, loads the run's funding model (the
folder its manifest names, refused when its content hash is not the run's), prices the case with
the engine's own pricing and checks the result against the case-month amounts the run stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from engine.errors import ConfigError
from engine.explain._case import frame_of, registry_of
from engine.explain._causes import DEFAULT_CAUSES, CutCause
from engine.explain._explain import explain_registry, month_of
from engine.explain._result import Explanation
from engine.explain._words import say
from engine.schemas import Registry

if TYPE_CHECKING:
    from engine.params import FundingModel
    from engine.store import RunManifest, Store

__all__ = [
    "BENEFITS_TABLES",
    "STORED_TABLES",
    "explain_run",
    "run_model",
    "stored_benefits",
    "stored_inputs",
    "stored_registry",
]

STORED_TABLES = ("case_inputs", "territory_status")
# what pricing reads of a benefits extract (`engine.benefits._timeline.circumstance_timeline`)
BENEFITS_TABLES = ("income_declarations", "disability_assessments", "idp_certificates")
_RECIPIENT = (
    "birth_date",
    "sex",
    "disability_group",
    "is_idp",
    "registered_hromada",
    "income_ratio",
)


def stored_inputs(registry: Registry) -> dict[str, pl.DataFrame]:
    """What a run keeps of its validated registry so any amount can be explained from the store.

    >>> import engine
    >>> kept = stored_inputs(engine.read_registry("data_samples/registry"))
    >>> sorted(kept), kept["case_inputs"]["case_id"].n_unique()
    (['case_inputs', 'territory_status'], 3737)
    """
    birth = pl.col("birth_date")
    recipients = registry.recipients.select(
        "recipient_id",
        *[c for c in _RECIPIENT if c != "birth_date"],
        birth_date=pl.date(
            birth.dt.year(), birth.dt.month(), 1 + (birth.dt.day() > 1).cast(pl.Int8)
        ),
    )
    ownership = registry.providers.unique("provider_id", keep="first").select(
        "provider_id", "ownership"
    )
    locations = registry.case_locations.select(
        "case_id", "hromada_code", "provider_id", "valid_from", "valid_to"
    ).join(ownership, on="provider_id", how="left", maintain_order="left")
    cases = registry.cases.drop("source_line").join(
        recipients, on="recipient_id", how="left", maintain_order="left"
    )
    # in the registry's order (no sort: a case's locations are read back and sorted per case)
    inputs = cases.join(locations, on="case_id", how="left", maintain_order="left")
    statuses = registry.territory_status.select("hromada_code", "status", "valid_from", "valid_to")
    kept = {"case_inputs": inputs, "territory_status": statuses}
    if registry.benefits is not None:  # the dated circumstances pricing read (engine.benefits)
        for name in BENEFITS_TABLES:
            frame = registry.benefits.tables[name]
            kept[f"benefits_{name}"] = frame.drop("source_line", strict=False)
    return kept


def stored_benefits(
    tables: Mapping[str, pl.DataFrame], recipient_id: str | list[str], extract_date: dt.date
) -> Any:
    """The `engine.benefits.Benefits` of some recipients from the `benefits_*` tables a run kept."""
    from engine.benefits import Benefits

    ids = [recipient_id] if isinstance(recipient_id, str) else recipient_id
    own = {
        name: _text(tables[f"benefits_{name}"])
        .filter(pl.col("recipient_id").is_in(ids))
        .drop("run_id", strict=False)
        .with_row_index("source_line", offset=2)
        .with_columns(pl.col("source_line").cast(pl.Int64))
        for name in BENEFITS_TABLES
    }
    paid = {"recipient_id": pl.String(), "programme": pl.String(), "month": pl.Date(),
            "amount_uah": pl.Float64(), "source_line": pl.Int64()}  # fmt: skip
    return Benefits(
        tables={**own, "assistance_paid": pl.DataFrame(schema=paid)}, extract_date=extract_date
    )


def stored_registry(
    rows: pl.DataFrame, statuses: pl.DataFrame, services: pl.DataFrame, extract_date: dt.date
) -> Registry:
    """The registry of the cases in `rows` (`case_inputs` rows), with `statuses` (a run's
    `territory_status` rows), as the run read it."""
    rows = rows.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))
    located = rows.filter(pl.col("valid_from").is_not_null())
    providers = (
        located.filter(pl.col("provider_id").is_not_null())
        .unique("provider_id", keep="first", maintain_order=True)
        .select(
            "provider_id",
            "ownership",
            "hromada_code",
            edrpou=pl.lit(None, pl.String),
            name=pl.lit(None, pl.String),
        )
    )
    tables = {
        "cases": frame_of("cases", rows.unique("case_id", keep="first", maintain_order=True)),
        "recipients": frame_of(
            "recipients", rows.unique("recipient_id", keep="first", maintain_order=True)
        ),
        "case_locations": frame_of("case_locations", located),
        "providers": frame_of("providers", providers),
        "territory_status": frame_of(
            "territory_status",
            statuses.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String)),
        ),
    }
    return registry_of(tables, services, extract_date)


def _text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))


def _verified(role: str, entry: dict[str, Any] | None, run_id: str) -> Path:
    """The folder or file a run read for `role`, refused when its content is no longer the run's."""
    from engine.store import hash_path

    if entry is None:
        raise ConfigError(f"run {run_id} has no {role} in its manifest")
    path = Path(entry["path"])
    if not path.exists():
        raise ConfigError(
            f"the {role} run {run_id} read is gone ({path}); pass --model DIR with a copy of it",
            path=path,
        )
    now = hash_path(path)["hash"]
    if now != entry["hash"]:
        raise ConfigError(
            f"the {role} changed since run {run_id} read it (content hash {now[:12]}, the run's "
            f"{entry['hash'][:12]}); pass --model DIR holding the run's model",
            path=path,
        )
    return path


def run_model(
    manifest: RunManifest, services: pl.DataFrame, model: Path | None = None
) -> FundingModel:
    """The funding model (and scenario) run `manifest` priced with; `model` overrides the folder."""
    from engine.params import load_funding_model

    folder = model or _verified("funding_model", manifest.input("funding_model"), manifest.run_id)
    scenario_entry = manifest.input("scenario")
    scenario = (
        _verified("scenario", scenario_entry, manifest.run_id)
        if scenario_entry is not None
        else None
    )
    return load_funding_model(folder, scenario, services=services)


def _reference(manifest: RunManifest) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    from engine.reference import load_services, load_territories

    entry = manifest.input("reference")
    folder = Path(entry["path"]) if entry else None
    if folder is None or not (folder / "services.csv").is_file():
        return load_services(), None
    return load_services(folder / "services.csv"), load_territories(folder / "territories.csv")


def _run_inputs(
    store: Store, manifest: RunManifest, model: Path | None
) -> tuple[pl.DataFrame, pl.DataFrame | None, FundingModel]:
    """The reference data and funding model a run read: the copies the store keeps of them
    (`engine.store.run_inputs`, `load_run_model`), or, for a run from before the store kept its
    inputs, the files its manifest names when their content is still the run's."""
    import tempfile

    from engine.params import load_funding_model
    from engine.reference import load_services, load_territories
    from engine.store import StoreError, load_run_model, run_inputs

    try:
        with tempfile.TemporaryDirectory(prefix="mfr-explain-") as folder:
            kept = run_inputs(store, manifest.run_id, Path(folder))
            reference = kept.paths.get("reference")
            services, territories = load_services(), None
            if reference is not None and (reference / "services.csv").is_file():
                services = load_services(reference / "services.csv")
                territories = load_territories(reference / "territories.csv")
    except StoreError as exc:
        if "no recorded inputs" not in str(exc):
            raise
        services, territories = _reference(manifest)
        return services, territories, run_model(manifest, services, model)
    if model is not None:
        return services, territories, load_funding_model(model, services=services)
    return services, territories, load_run_model(store, manifest.run_id)


def explain_run(
    store: Store,
    run: str,
    case_id: str,
    month: str | dt.date,
    *,
    model: Path | None = None,
    causes: Sequence[CutCause] = DEFAULT_CAUSES,
    lang: str = "en",
) -> Explanation:
    """Explain case `case_id` in `month` as run `run` (an id, a prefix or `latest`) priced it,
    from the store alone (the case inputs, reference data and funding model the run kept); the
    result is checked against the amounts the run stored. `model` prices with another folder;
    `lang` is the language of its sentences (`en`, `uk`).

    >>> why = explain_run(Store(Path("out/mfr.duckdb")), "latest", "C000002607", "2026-01")  # doctest: +SKIP
    >>> why.header["matches_store"], why.consistent  # doctest: +SKIP
    (True, True)
    """
    first = month_of(month)
    run_id = store.resolve_run_id(run)
    manifest = store.manifest(run_id)
    with store.connect(read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        missing = [t for t in STORED_TABLES if t not in tables]
        if missing:
            raise ConfigError(
                f"run {run_id} kept no case inputs in the store (a run from before `mfr explain`); "
                "explain it from its extract: --extract DIR --model DIR"
            )
        rows = _text(
            con.sql(
                "SELECT * FROM case_inputs WHERE run_id = ? AND case_id = ?",
                params=[run_id, case_id],
            ).pl()
        )
        if rows.is_empty():
            raise ConfigError(f"case {case_id!r} is not among the cases run {run_id} priced")
        hromadas = rows["hromada_code"].drop_nulls().unique().to_list()
        statuses = _text(
            con.sql(
                "SELECT * FROM territory_status WHERE run_id = ? AND hromada_code IN "
                "(SELECT unnest(?::VARCHAR[]))",
                params=[run_id, hromadas],
            ).pl()
        )
        dated = manifest.input("benefits") is not None  # the run read a benefits extract
        kept_benefits = {}
        if dated:
            absent = [n for n in BENEFITS_TABLES if f"benefits_{n}" not in tables]
            if absent:
                raise ConfigError(
                    f"run {run_id} priced dated circumstances the store did not keep (a run from "
                    "before `mfr explain` kept them); explain it from its extracts"
                )
            kept_benefits = {
                f"benefits_{n}": con.sql(
                    f"SELECT * FROM benefits_{n} WHERE run_id = ? AND recipient_id = ?",
                    params=[run_id, rows["recipient_id"][0]],
                ).pl()
                for n in BENEFITS_TABLES
            }
        stored = (
            _text(
                con.sql(
                    "SELECT funded, gross_uah, copay_uah, state_uah FROM case_months "
                    "WHERE run_id = ? AND case_id = ? AND month = ? ORDER BY funded",
                    params=[run_id, case_id, first],
                ).pl()
            )
            if "case_months" in tables
            else pl.DataFrame()
        )
    services, territories, priced_with = _run_inputs(store, manifest, model)
    extract_date = dt.date.fromisoformat(str(manifest.started_at)[:10])
    one = stored_registry(rows, statuses, services, extract_date)
    if dated:
        benefits = stored_benefits(kept_benefits, rows["recipient_id"][0], extract_date)
        one = replace(one, benefits=benefits)
    why = explain_registry(
        one,
        priced_with,
        first,
        territories=territories,
        causes=causes,
        source=say(
            "source_run",
            lang,
            run=run_id,
            spec=manifest.spec_name,
            engine=manifest.code_version,
            store=store.path,
        ),
        lang=lang,
    )
    return _checked_against_store(why, stored, run_id)


def _checked_against_store(why: Explanation, stored: pl.DataFrame, run_id: str) -> Explanation:
    mine = why.case_months.select("funded", "gross_uah", "copay_uah", "state_uah").sort("funded")
    if stored.is_empty() and mine.is_empty():
        return why
    same = stored.height == mine.height and all(
        a == b for a, b in zip(stored.rows(), mine.rows(), strict=True)
    )
    note = (
        say("same_as_store", why.lang, run=run_id)
        if same
        else say("differs_from_store", why.lang, run=run_id, stored=stored.rows(), mine=mine.rows())
    )
    header = why.header | {"matches_store": same}
    return replace(why, header=header, notes=(*why.notes, note))

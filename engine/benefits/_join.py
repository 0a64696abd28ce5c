"""Match a benefits extract's persons to the registry's recipients on the pseudonymised РНОКПП.

The registry's `recipients` file carries the person's РНОКПП beside `recipient_id`; the registry's
reader drops it at the door. Here it is read once more, from the same file, and replaced at once
by the same keyed hash (`PersonKeys`) the benefits extract's keys got, so the join is on
pseudonyms only (on their numbers: integers, not 64-character text). A benefits row whose person is not a registry recipient is quarantined
(`unmatched_person`), as is one whose РНОКПП several registry recipients share
(`ambiguous_person`: whose circumstances they are cannot be told); registry recipients without any benefits record keep the registry's values
and are counted in one warning (`no_benefits_record`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from engine.benefits._read import PERSON_KEY, PersonKeys, person_key_column
from engine.errors import InputFileError
from engine.registry._privacy import _hmac_mapping, _trimmed
from engine.registry._read import SOURCE_LINE, read_table_file
from engine.schemas import QUARANTINE_SCHEMA

__all__ = ["match_persons", "registry_person_keys"]

_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".xlsx")


def _recipients_file(extract: Path) -> Path:
    if extract.is_dir():
        for file in sorted(extract.iterdir()):
            if file.stem.lower() == "recipients" and file.suffix.lower() in _SUFFIXES:
                return file
    raise InputFileError(
        "the registry extract has no recipients file to match the benefits extract on",
        path=extract,
    )


def registry_person_keys(
    extract: str | Path,
    keys: PersonKeys,
    *,
    pseudonymise: Iterable[str] = (),
    key_env: str = "MFR_PSEUDONYM_KEY",
) -> pl.DataFrame:
    """`recipient_id` (as the registry's reader gives it) and `person_key` (the number of its
    pseudonym in `keys`, as the benefits tables carry it) of every recipient of the registry
    extract at `extract` whose РНОКПП is a 10-digit number."""
    key = os.environ.get(key_env, "").encode("utf-8")
    raw = read_table_file("recipients", _recipients_file(Path(extract)))
    column = person_key_column(raw.frame, raw.source_file)
    ids = _trimmed(raw.frame["recipient_id"])
    if "recipient_id" in set(pseudonymise):  # the registry's ids are hashed: hash them alike
        mapping = _hmac_mapping(ids.unique().drop_nulls(), key)
        ids = ids.replace_strict(mapping["value"], mapping["hash"], default=None)
    pairs = pl.DataFrame({"recipient_id": ids, PERSON_KEY: keys.codes(raw.frame[column])})
    return pairs.drop_nulls().unique(maintain_order=True)


def match_persons(
    tables: dict[str, pl.DataFrame],
    files: dict[str, str],
    person_keys: pl.DataFrame,
    recipients: pl.Series,
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, pl.DataFrame]:
    """Each table keyed by `recipient_id` instead of `person_key`; quarantine of unmatched rows;
    the warning counting registry recipients that no benefits record names."""
    known = person_keys.filter(pl.col("recipient_id").is_in(recipients.implode()))
    # one РНОКПП on several registry recipients: whose circumstances they are cannot be told
    shared = known.filter(pl.col(PERSON_KEY).is_duplicated())[PERSON_KEY].unique()
    known = known.filter(~pl.col(PERSON_KEY).is_in(shared.implode()))
    out: dict[str, pl.DataFrame] = {}
    quarantine: list[pl.DataFrame] = [pl.DataFrame(schema=QUARANTINE_SCHEMA)]
    for table, frame in tables.items():
        joined = frame.join(known, on=PERSON_KEY, how="left", maintain_order="left")
        unmatched = joined.filter(pl.col("recipient_id").is_null())
        ambiguous = pl.col(PERSON_KEY).is_in(shared.implode())
        quarantine.append(
            unmatched.select(
                pl.lit(table).alias("table"),
                pl.lit(files.get(table, table)).alias("source_file"),
                pl.col(SOURCE_LINE).cast(pl.Int64),
                pl.when(ambiguous)
                .then(pl.lit("ambiguous_person"))
                .otherwise(pl.lit("unmatched_person"))
                .alias("rule"),
                pl.lit(PERSON_KEY).alias("column"),
                pl.lit(None, pl.String).alias("value"),
                pl.when(ambiguous)
                .then(pl.lit("several registry recipients have this РНОКПП"))
                .otherwise(pl.lit("no registry recipient has this person's РНОКПП"))
                .alias("reason"),
            )
        )
        columns = ["recipient_id", *(c for c in frame.columns if c != PERSON_KEY)]
        out[table] = joined.filter(pl.col("recipient_id").is_not_null()).select(columns)
    # the recipients some row names: those whose pseudonym's number a table holds (integers,
    # not the tables' ten million ids)
    present = pl.concat([f[PERSON_KEY] for f in tables.values()]).unique()
    named = known.filter(pl.col(PERSON_KEY).is_in(present.implode()))["recipient_id"]
    missing = int((~recipients.is_in(named.implode())).sum())
    warning = pl.DataFrame(
        [
            {
                "table": "recipients",
                "source_file": None,
                "source_line": None,
                "rule": "no_benefits_record",
                "column": "recipient_id",
                "value": str(missing),
                "reason": f"{missing:,} registry recipients have no record in the benefits "
                "extract: the registry's values stand for them",
            }
        ]
        if missing
        else [],
        schema=QUARANTINE_SCHEMA,
    )
    return out, pl.concat(quarantine), warning

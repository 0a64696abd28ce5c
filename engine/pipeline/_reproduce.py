"""Reproduce a past run: rerun it from the inputs the store kept, and compare every table.

`reproduce_run(store, run)` writes the run's stored inputs (spec, funding model, scenarios,
policy, forecast configuration, reference data) back into a temporary project, checks the extract
against the hashes the run recorded for each of its files, runs the same pipeline into a temporary
store (the real store is only read: its tables and latest views are never touched), and compares
the content hash of every table the run published with the rerun's. What the model files say today
does not matter: the stored ones are used.

A refusal is one line with its exit code (`engine.errors.ExitCode`): the extract is missing or is
not the one the run read (3), the run kept no inputs or table hashes (3), the run did not succeed or
its parameters cannot be restored (2).

>>> result = reproduce_run(Store(Path("out/mfr.duckdb")), "latest")  # doctest: +SKIP
>>> result.identical, result.lines()[-1]  # doctest: +SKIP
(True, 'identical: 16 tables, each with the hash it was published with')
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.errors import ConfigError, EngineError, InputFileError
from engine.pipeline._envelope import Envelope
from engine.pipeline._spec import RunSpec
from engine.store import RunInputs, RunManifest, Store, code_version, hash_path
from engine.store import run_inputs as materialise
from engine.store._inputs import EXTRACT

__all__ = ["ReproduceRefusedError", "Reproduction", "TableCheck", "check_extract", "reproduce_run"]

# spec fields that hold an input, by the role the manifest gives it
_FIELDS = {
    "reference": "reference",
    "funding_model": "funding_model",
    "scenario": "scenario",
    "policy": "policy",
    "forecast": "forecast",
}


class ReproduceRefusedError(InputFileError):
    """The run cannot be reproduced as asked: its extract is missing or another, or the store kept
    too little of it (exit 3)."""


@dataclass(frozen=True)
class TableCheck:
    """One published table: its rows and hash then and in the rerun (None: not published)."""

    table: str
    rows_then: int | None
    rows_now: int | None
    sha_then: str | None
    sha_now: str | None
    columns: tuple[str, ...] = ()  # the columns whose values differ, where known

    @property
    def identical(self) -> bool:
        return self.sha_then is not None and self.sha_then == self.sha_now

    def line(self) -> str:
        """One line: `table: identical`, or what differs."""
        if self.identical:
            return (
                f"{self.table}: identical ({_rows(self.rows_then)}, sha256 {_short(self.sha_then)})"
            )
        if self.sha_now is None:
            return f"{self.table}: not published by the rerun ({_rows(self.rows_then)} then)"
        if self.sha_then is None:
            return f"{self.table}: published by the rerun only ({_rows(self.rows_now)})"
        where = f" in column{'s' if len(self.columns) > 1 else ''} {', '.join(self.columns)}"
        return (
            f"{self.table}: differs{where if self.columns else ''} ({_rows(self.rows_then)} then, "
            f"{_rows(self.rows_now)} now; sha256 {_short(self.sha_then)} then, "
            f"{_short(self.sha_now)} now)"
        )


def _rows(count: int | None) -> str:
    return "? rows" if count is None else f"{count:,} row{'' if count == 1 else 's'}"


def _short(digest: str | None) -> str:
    return (digest or "?")[:12]


@dataclass(frozen=True)
class Reproduction:
    """The outcome: the run, its rerun, each table compared, and the engine then and now."""

    run_id: str
    rerun_id: str
    extract: Path
    tables: tuple[TableCheck, ...]
    engine_then: str
    engine_now: str
    code_then: str  # sha256 of the engine's sources
    code_now: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def identical(self) -> bool:
        return bool(self.tables) and all(t.identical for t in self.tables)

    @property
    def same_code(self) -> bool:
        return self.code_then == self.code_now

    @property
    def differences(self) -> tuple[TableCheck, ...]:
        return tuple(t for t in self.tables if not t.identical)

    def lines(self) -> list[str]:
        """What `mfr reproduce` prints: the rerun, the engine, then `identical` or one line per
        table that differs."""
        code = (
            "the same code"
            if self.same_code
            else f"code sha256 {_short(self.code_then)} then, {_short(self.code_now)} now"
        )
        lines = [
            f"run {self.run_id} rerun from its stored inputs and the extract {self.extract} "
            f"(its hashes match) as {self.rerun_id}",
            f"engine {self.engine_then} then, {self.engine_now} now ({code})",
            *self.notes,
        ]
        if self.identical:
            lines.append(
                f"identical: {len(self.tables)} tables, each with the hash it was published with"
            )
            return lines
        lines += [t.line() for t in self.differences]
        lines.append(f"differs: {len(self.differences)} of {len(self.tables)} tables")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "rerun_id": self.rerun_id,
            "extract": str(self.extract),
            "identical": self.identical,
            "engine_then": self.engine_then,
            "engine_now": self.engine_now,
            "same_code": self.same_code,
            "tables": [
                {
                    "table": t.table,
                    "identical": t.identical,
                    "rows_then": t.rows_then,
                    "rows_now": t.rows_now,
                    "sha256_then": t.sha_then,
                    "sha256_now": t.sha_now,
                    "columns": list(t.columns),
                }
                for t in self.tables
            ],
        }


def check_extract(recorded: Mapping[str, str], extract: Path) -> list[str]:
    """How the extract at `extract` differs from the files a run recorded (name -> sha256): one
    phrase per file that changed, is missing or is new; empty when every hash matches."""
    found = hash_path(extract)
    now: Mapping[str, str] = found.get("members") or {extract.name: found["hash"]}
    problems = []
    for name in sorted(set(recorded) | set(now)):
        if name not in now:
            problems.append(f"{name} is missing")
        elif name not in recorded:
            problems.append(f"{name} was not in it")
        elif recorded[name] != now[name]:
            problems.append(
                f"{name} differs (sha256 {recorded[name][:12]} then, {now[name][:12]} now)"
            )
    return problems


def _named(role: str) -> str:
    return "extract" if role == EXTRACT else f"{role.replace('_', ' ')} input"


def _unstored_inputs(
    manifest: RunManifest, inputs: RunInputs, extract: Path | None
) -> dict[str, Path]:
    """The inputs kept by hash only (the extract: `extract`, default where the run read it; any
    other from where the run read it), each checked against the run's hashes: a refusal if one is
    missing or differs."""
    if not inputs.extract:
        raise ReproduceRefusedError(
            f"run {manifest.run_id} recorded no extract hashes; it cannot be reproduced"
        )
    found: dict[str, Path] = {}
    for role, kept in inputs.unstored.items():
        recorded = manifest.input(role)
        given = extract if role == EXTRACT else None
        chosen = given if given is not None else Path(recorded["path"]) if recorded else None
        hint = "; pass --extract DIR with that extract" if role == EXTRACT else ""
        if chosen is None or not chosen.exists():
            raise ReproduceRefusedError(
                f"the {_named(role)} run {manifest.run_id} read is missing (sha256 "
                f"{recorded['hash'][:12] if recorded else '?'}){hint}",
                path=chosen,
            )
        problems = check_extract(kept.files, chosen)
        if problems:
            shown = "; ".join(problems[:3]) + (
                f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
            )
            raise ReproduceRefusedError(
                f"not the {_named(role)} run {manifest.run_id} read: {shown}; refusing to "
                "reproduce from it",
                path=chosen,
            )
        found[role] = chosen.resolve()
    return found


def _place(inputs: RunInputs, role: str, real: Path) -> None:
    """Make the spec's path of an input kept by hash only exist in the rebuilt project (the spec
    loader checks it): a link to the files the rerun reads."""
    where = inputs.unstored[role].input_path
    if not where or Path(where).is_absolute():
        return
    link = inputs.root.joinpath(*Path(where).parts)
    if not link.exists() and not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(real, target_is_directory=real.is_dir())


def _rerun_spec(
    manifest: RunManifest, inputs: RunInputs, unstored: Mapping[str, Path], store: Path
) -> tuple[RunSpec, bool]:
    """The run's spec, read from its stored copy, every input pointing at the stored files (or, for
    those kept by hash only, at `unstored`), results going to `store`; and whether the run accepted
    its quarantine."""
    from engine.pipeline._load import load_spec

    if "spec" not in inputs.paths:
        raise ReproduceRefusedError(f"run {manifest.run_id} kept no spec; it cannot be reproduced")
    for role, real in unstored.items():
        _place(inputs, role, real)
    spec = load_spec(inputs.paths["spec"])
    paths: dict[str, Any] = {f: inputs.paths[r] for r, f in _FIELDS.items() if r in inputs.paths}
    compared = sorted(r for r in inputs.paths if r.startswith("compare_scenario_"))
    if compared:
        paths["compare_scenarios"] = tuple(inputs.paths[r] for r in compared)
    paths |= {r: p for r, p in unstored.items() if r != EXTRACT and hasattr(spec, r)}
    spec = replace(spec, root=inputs.root, **paths)  # the rebuilt project is the run's project
    params = manifest.parameters
    envelope = params.get("envelope")
    if spec.envelope.parameters() != envelope:  # the run had `--envelope`
        spec = replace(spec, envelope=_envelope(envelope))
    as_of = params.get("as_of")
    if (spec.as_of.isoformat() if spec.as_of else None) != as_of:  # the run had `--as-of`
        spec = replace(spec, as_of=None if as_of is None else dt.date.fromisoformat(as_of))
    spec = spec.with_overrides(extract=unstored[EXTRACT], store=store, confirm_envelope=True)
    accept = bool(params.get("accept_quarantine", False))
    now = {**spec.parameters(), "accept_quarantine": accept}
    changed = [
        k
        for k in sorted(set(now) | set(params))
        if k not in unstored and now.get(k) != params.get(k)  # where those are read may differ
    ]
    if changed:
        shown = "; ".join(f"{k}: {params.get(k)!r} then, {now.get(k)!r} now" for k in changed)
        raise ConfigError(
            f"run {manifest.run_id} cannot be rerun as it ran: its settings differ from its stored "
            f"spec's ({shown})"
        )
    return spec, accept


def _envelope(recorded: Any) -> Envelope:
    if not recorded:
        return Envelope(origin="--envelope")
    return Envelope(
        uah=recorded.get("uah"),
        share_of_claims=recorded.get("share_of_claims"),
        origin="--envelope",
    )


def _differing_columns(
    then: Store, now: Store, run_id: str, rerun_id: str, table: str
) -> tuple[str, ...]:
    """The columns of `table` whose values differ between the run and its rerun, read back from
    the two stores (empty when that cannot be told: a column added or dropped, a table gone)."""
    from engine.store import table_hash

    try:
        old = then.table(table, run_id=run_id).drop("run_id")
        new = now.table(table, run_id=rerun_id).drop("run_id")
    except EngineError:  # a table one of them lacks: the line says so already
        return ()
    if old.columns != new.columns:
        return ()
    return tuple(c for c in old.columns if table_hash(old.select(c)) != table_hash(new.select(c)))


def _hashes_by_this_method(
    store: Store, manifest: RunManifest, hashes: Mapping[str, str]
) -> tuple[Mapping[str, str], tuple[str, ...]]:
    """The run's table hashes as this engine computes them: those it recorded, or, when it hashed
    its tables by another method (or recorded none: the first method), its tables read back from
    the store hashed now (a table the store no longer holds keeps its recorded hash), and a note
    saying so."""
    from engine.store import table_hash
    from engine.store._tablehash import TABLE_HASH_METHOD

    method = manifest.outputs.get("table_hash_method")
    if method == TABLE_HASH_METHOD:
        return hashes, ()
    rehashed = dict(hashes)
    for table in hashes:
        try:
            rehashed[table] = table_hash(store.table(table, run_id=manifest.run_id).drop("run_id"))
        except EngineError:
            continue
    note = (
        f"run {manifest.run_id} hashed its tables by another method "
        f"({method or 'sha256 of the rows as sorted lines of text (v1)'}); its tables as the "
        f"store keeps them are hashed by this engine's ({TABLE_HASH_METHOD}) and compared"
    )
    return rehashed, (note,)


def reproduce_run(
    store: Store | Path | str,
    run: str,
    *,
    extract: Path | str | None = None,
    workdir: Path | None = None,
) -> Reproduction:
    """Rerun run `run` of `store` (an id, a prefix or `latest`) from its stored inputs and compare
    each published table's hash with the original's (see the module docstring).

    `extract` is the extract to rerun with (default: where the run read it); it must hash as the
    run recorded, file by file. The rerun goes into `workdir` (default: a temporary folder, removed
    afterwards), never into `store`. (Not run as a doctest: it reruns a whole run; the tests in
    tests/repro/ do.)

    >>> result = reproduce_run("out/mfr.duckdb", "latest")  # doctest: +SKIP
    >>> result.identical, result.differences  # doctest: +SKIP
    (True, ())
    """
    from rich.console import Console

    from engine.pipeline._runner import run_pipeline

    target = store if isinstance(store, Store) else Store(Path(store))
    manifest = target.manifest(run)
    if manifest.status != "succeeded":
        raise ConfigError(
            f"run {manifest.run_id} {manifest.status}: only a succeeded run's tables can be "
            "reproduced"
        )
    hashes: Mapping[str, str] = manifest.outputs.get("table_hashes") or {}
    if not hashes:
        raise ReproduceRefusedError(
            f"run {manifest.run_id} kept no table hashes (it ran before they were kept); it "
            "cannot be reproduced",
            path=target.path,
        )
    hashes, notes = _hashes_by_this_method(target, manifest, hashes)
    folder = (
        Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="mfr-reproduce-"))
    )
    try:
        inputs = materialise(target, manifest.run_id, folder / "project")
        unstored = _unstored_inputs(manifest, inputs, None if extract is None else Path(extract))
        spec, accept = _rerun_spec(manifest, inputs, unstored, folder / "store" / "mfr.duckdb")
        result = run_pipeline(
            spec,
            force=True,
            accept_quarantine=accept,
            progress=False,
            console=Console(file=io.StringIO()),
        )
        rerun = result.manifest
        now: Mapping[str, str] = rerun.outputs.get("table_hashes") or {}
        rows_then = manifest.outputs.get("tables", {})
        rows_now = rerun.outputs.get("tables", {})
        checks = []
        for table in sorted(set(hashes) | set(now)):
            check = TableCheck(
                table, rows_then.get(table), rows_now.get(table), hashes.get(table), now.get(table)
            )
            if not check.identical and check.sha_then and check.sha_now:
                columns = _differing_columns(
                    target, Store(spec.store), manifest.run_id, rerun.run_id, table
                )
                check = replace(check, columns=columns)
            checks.append(check)
        return Reproduction(
            run_id=manifest.run_id,
            rerun_id=rerun.run_id,
            extract=unstored[EXTRACT],
            tables=tuple(checks),
            engine_then=manifest.code_version,
            engine_now=code_version(),
            code_then=manifest.code_hash,
            code_now=rerun.code_hash,
            notes=notes,
        )
    finally:
        if workdir is None:
            shutil.rmtree(folder, ignore_errors=True)

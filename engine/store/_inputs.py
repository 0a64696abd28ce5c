"""What a run read, kept in the store content-addressed, and given back as files.

Every run records each file of each of its inputs (the spec, the funding model, scenarios, the
policy, the forecast configuration, the reference data) in `run_input_files`, and the file's bytes
in `input_blobs` under their sha256: one copy of a file however many runs read it, so a nightly job
that changes nothing adds rows of hashes, not bytes. The extract (and a benefits extract) is
recorded by the hash of each of its files only (`stored` false), whoever calls: it holds personal
data and is large, and a reproduction is given it again and checks it against these hashes.

The bytes live in the DuckDB file rather than in files beside it because the store is the truth:
they are written, pruned and backed up with the runs that read them, and a run's inputs are as
safe as its results. They are small (a funding model is a few kilobytes, a national KATOTTG table a
few megabytes, each stored once).

`run_inputs(store, run)` writes a run's inputs back into a folder laid out as the run's project was
(`pipelines/nightly.yaml`, `models/funding/baseline/tariff.yaml`, ...); `load_run_model(store, run)`
gives the funding model that run used (with its scenario), whatever the files say today.

>>> inputs = run_inputs(Store(Path("out/mfr.duckdb")), "latest")  # doctest: +SKIP
>>> inputs.paths["funding_model"]  # doctest: +SKIP
PosixPath('/tmp/mfr-run-inputs-.../models/funding/baseline')
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import TYPE_CHECKING

import duckdb

from engine.errors import ConfigError
from engine.store._warehouse import Store, StoreError

if TYPE_CHECKING:
    from engine.params import FundingModel

__all__ = [
    "HASH_ONLY",
    "InputFile",
    "RunInputs",
    "UnstoredInput",
    "load_run_model",
    "recorded_inputs",
    "run_inputs",
    "save_run_inputs",
]

EXTRACT = "extract"
SPEC = "spec"
# inputs holding personal data: never stored, only their files' hashes
HASH_ONLY = frozenset({EXTRACT, "benefits"})


@dataclass(frozen=True)
class InputFile:
    """One file a run read: which input it belongs to (`role`), where the input sits in the project
    (`input_path`, `/`-separated, relative), the file inside a folder input (`member`, "" for a file
    input), its sha256 and size, and its bytes (None: known by hash only, the extract's files)."""

    role: str
    input_path: str
    member: str
    sha256: str
    size: int
    content: bytes | None = None
    stored: bool = True  # read back from the store: whether its bytes are kept

    @property
    def path(self) -> str:
        """The file's path in the project."""
        return f"{self.input_path}/{self.member}" if self.member else self.input_path


@dataclass(frozen=True)
class UnstoredInput:
    """An input kept by hash only (the extract): where the run read it, each file's sha256."""

    input_path: str
    files: Mapping[str, str]


@dataclass(frozen=True)
class RunInputs:
    """A run's inputs written back as files under `root` (the run's project, rebuilt).

    `paths` maps each role (`spec`, `funding_model`, `reference`, `policy`, ...) to its file or
    folder under `root`; `unstored` maps each input kept by hash only (`extract`) to where the run
    read it and the sha256 of each of its files."""

    run_id: str
    root: Path
    paths: Mapping[str, Path]
    unstored: Mapping[str, UnstoredInput]

    @property
    def extract(self) -> Mapping[str, str]:
        """Each file of the extract the run read, with its sha256."""
        found = self.unstored.get(EXTRACT)
        return found.files if found is not None else MappingProxyType({})

    @property
    def extract_path(self) -> str:
        """Where the run read its extract (as its project named it)."""
        found = self.unstored.get(EXTRACT)
        return found.input_path if found is not None else ""


def _safe(relative: str) -> PurePosixPath:
    path = PurePosixPath(relative)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"not a path inside a project: {relative!r}")
    return path


def save_run_inputs(store: Store, run_id: str, files: Sequence[InputFile]) -> None:
    """Record the files a run read, in one transaction: each file's bytes once (by sha256) and the
    run's list of files. A file's content must hash to its `sha256` (checked here); the files of
    an input holding personal data (`HASH_ONLY`) are recorded by hash only."""
    files = [replace(f, content=None) if f.role in HASH_ONLY else f for f in files]
    for item in files:
        _safe(item.path)
        if item.content is not None and hashlib.sha256(item.content).hexdigest() != item.sha256:
            raise ValueError(f"{item.path}: its content does not hash to {item.sha256}")
    blobs = {f.sha256: f for f in files if f.content is not None}
    with store.connect() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            known = (
                {
                    row[0]
                    for row in con.execute(
                        "SELECT sha256 FROM input_blobs WHERE sha256 IN (SELECT unnest(?))",
                        [sorted(blobs)],
                    ).fetchall()
                }
                if blobs
                else set()
            )
            new = [(h, f.size, f.content) for h, f in sorted(blobs.items()) if h not in known]
            if new:
                con.executemany("INSERT INTO input_blobs VALUES (?, ?, ?)", new)
            con.execute("DELETE FROM run_input_files WHERE run_id = ?", [run_id])
            con.executemany(
                "INSERT INTO run_input_files VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        f.role,
                        f.input_path,
                        f.member,
                        f.sha256,
                        f.size,
                        f.content is not None,
                    )
                    for f in files
                ],
            )
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # a database a full disk invalidated cannot
                con.execute("ROLLBACK")
            raise


def recorded_inputs(store: Store, run: str) -> list[InputFile]:
    """The files run `run` (an id, a prefix or `latest`) read, without their bytes, in the order
    recorded; empty for a run recorded before the store kept inputs (schema < 3)."""
    run_id = store.resolve_run_id(run)
    with store.connect(read_only=True) as con:
        if not _has_input_tables(con):
            return []
        rows = con.execute(
            "SELECT role, input_path, member, sha256, bytes, stored FROM run_input_files "
            "WHERE run_id = ? ORDER BY rowid",
            [run_id],
        ).fetchall()
    return [InputFile(r, i, m, h, int(b), None, bool(k)) for r, i, m, h, b, k in rows]


def _has_input_tables(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name IN ('input_blobs', 'run_input_files')"
    ).fetchone()
    return bool(found and found[0] == 2)


def run_inputs(store: Store | Path | str, run: str, folder: Path | None = None) -> RunInputs:
    """Write the inputs run `run` read back as files, laid out as its project was, under `folder`
    (new or empty; a new temporary folder if None: the caller removes it). Reads the store only.

    A run recorded before the store kept inputs, or whose bytes are missing or damaged, is a
    `StoreError` (exit 3) saying so.
    """
    target = store if isinstance(store, Store) else Store(Path(store))
    run_id = target.resolve_run_id(run)
    files = recorded_inputs(target, run_id)
    if not files:
        raise StoreError(
            f"run {run_id} has no recorded inputs (it ran before the store kept them, schema 3); "
            "it cannot be reproduced",
            path=target.path,
        )
    wanted = sorted({f.sha256 for f in files if f.stored})
    rows = []
    if wanted:
        with target.connect(read_only=True) as con:
            rows = con.execute(
                "SELECT sha256, content FROM input_blobs WHERE sha256 IN (SELECT unnest(?))",
                [wanted],
            ).fetchall()
    contents = {h: bytes(c) for h, c in rows}
    if folder is not None and Path(folder).is_dir() and any(Path(folder).iterdir()):
        raise ConfigError(  # a file left there would be read as one of the run's inputs
            "not an empty folder: the inputs of a run are written into a new or empty one",
            path=folder,
        )
    root = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="mfr-run-inputs-"))
    paths: dict[str, Path] = {}
    hashed: dict[str, tuple[str, dict[str, str]]] = {}
    for item in files:
        if not item.stored:
            _, known = hashed.setdefault(item.role, (item.input_path, {}))
            known[item.member or PurePosixPath(item.input_path).name] = item.sha256
            continue
        content = contents.get(item.sha256)
        if content is None or hashlib.sha256(content).hexdigest() != item.sha256:
            state = "missing" if content is None else "damaged (its bytes do not match its hash)"
            raise StoreError(
                f"run {run_id}'s input {item.path} is {state} in the store; it cannot be reproduced",
                path=target.path,
            )
        destination = root.joinpath(*_safe(item.path).parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(content)
        paths[item.role] = root.joinpath(*_safe(item.input_path).parts)
    unstored = {r: UnstoredInput(w, MappingProxyType(k)) for r, (w, k) in hashed.items()}
    return RunInputs(run_id, root, MappingProxyType(paths), MappingProxyType(unstored))


def load_run_model(store: Store | Path | str, run: str, *, scenario: bool = True) -> FundingModel:
    """The funding model run `run` used (its scenario applied unless `scenario=False`, read as of
    the run's `as_of` if it had one), from the store alone: what the model files say today does
    not matter. Each parameter's `source` is the file's path as the run's project had it
    (`models/funding/baseline/tariff.yaml`).

    >>> model = load_run_model("out/mfr.duckdb", "latest")  # doctest: +SKIP
    >>> model.table("tariff").filter(pl.col("service_code") == "015.1")  # doctest: +SKIP
    """
    from engine.params import load_funding_model
    from engine.reference import load_services

    target = store if isinstance(store, Store) else Store(Path(store))
    as_of = target.manifest(run).parameters.get("as_of")
    with tempfile.TemporaryDirectory(prefix="mfr-run-model-") as folder:
        inputs = run_inputs(target, run, Path(folder))
        if "funding_model" not in inputs.paths:
            raise StoreError(f"run {inputs.run_id} read no funding model", path=str(store))
        reference = inputs.paths.get("reference")
        services = None
        if reference is not None and (reference / "services.csv").is_file():
            services = load_services(reference / "services.csv")
        overlay = inputs.paths.get("scenario") if scenario else None
        model = load_funding_model(
            inputs.paths["funding_model"], overlay, services=services, as_of=as_of
        )
        return _sources_relative(model, inputs.root)


def _sources_relative(model: FundingModel, root: Path) -> FundingModel:
    """The model with each parameter's `source` as the run's project named it."""
    parameters = {}
    for name, parameter in model.parameters.items():
        source = Path(parameter.source)
        parameters[name] = (
            replace(parameter, source=source.relative_to(root).as_posix())
            if source.is_relative_to(root)
            else parameter
        )
    return replace(model, parameters=MappingProxyType(parameters))

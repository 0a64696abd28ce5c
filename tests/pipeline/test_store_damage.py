"""A damaged store is refused before any step runs, and not one byte of it changes.

Nine damaged variants of a real store (truncated at several sizes, a zeroed tail, random bytes in a
used block with a fixed seed, a damaged header, a text file, an empty file): `mfr run` exits 3 with
a one-line message before computing anything, the file keeps its exact bytes and no WAL appears;
`mfr runs`, `mfr show` and `mfr report` on a store with a corrupt block exit 3 in one line too.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from _pipeline_fakes import make_project, make_steps

from engine.cli import main
from engine.errors import ExitCode
from engine.pipeline import load_spec, run_pipeline
from engine.store import Store, StoreError

_HEADER = 3 * 4096  # DuckDB's file header and two database headers precede the blocks
_SEED = 20260219


def _block_size(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return int(con.execute("SELECT block_size FROM pragma_database_size()").fetchall()[0][0])
    finally:
        con.close()


def _used_blocks(path: Path, table: str) -> list[int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            f"SELECT DISTINCT block_id FROM pragma_storage_info('{table}') WHERE block_id >= 0 "
            "ORDER BY block_id"
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A store holding two runs of 60,000 numbers each (several MB, many blocks)."""
    root = tmp_path_factory.mktemp("healthy")
    spec_path = make_project(root)
    numbers = "\n".join(str(i * 7919 % 1_000_003) for i in range(60_000))
    (root / "extract" / "numbers.csv").write_text("n\n" + numbers + "\n")
    for factor in (2, 3):
        (root / "policy.yaml").write_text(f"factor: {factor}\n")
        steps = make_steps()
        run_pipeline(load_spec(spec_path, steps=steps), steps=steps, progress=False)
    store = root / "out" / "mfr.duckdb"
    return store, store.read_bytes()


def _truncate(share: float) -> Callable[[bytes, Path], bytes]:
    return lambda data, _path: data[: int(len(data) * share)]


def _minus_one_block(data: bytes, path: Path) -> bytes:
    return data[: len(data) - _block_size(path)]


def _zeroed_tail(data: bytes, path: Path) -> bytes:
    start = _HEADER + _used_blocks(path, "numbers")[-1] * _block_size(path)
    return data[:start] + b"\0" * (len(data) - start)


def _random_middle(data: bytes, path: Path) -> bytes:
    blocks = _used_blocks(path, "scaled")
    offset = _HEADER + blocks[len(blocks) // 2] * _block_size(path) + 64
    noise = random.Random(_SEED).randbytes(4096)
    return data[:offset] + noise + data[offset + len(noise) :]


def _header(data: bytes, _path: Path) -> bytes:
    return data[:4096] + b"\xff" * 4096 + b"\xff" * 4096 + data[_HEADER:]


VARIANTS: dict[str, Callable[[bytes, Path], bytes]] = {
    "truncated-10%": _truncate(0.10),
    "truncated-50%": _truncate(0.50),
    "truncated-90%": _truncate(0.90),
    "truncated-one-block": _minus_one_block,
    "zeroed-tail": _zeroed_tail,
    "random-middle": _random_middle,
    "damaged-headers": _header,
    "text-file": lambda _d, _p: b"this is not a database\n" * 400,
    "empty-file": lambda _d, _p: b"",
}


def _damaged_project(tmp_path: Path, healthy: tuple[Path, bytes], variant: str) -> Path:
    source, data = healthy
    spec_path = make_project(tmp_path)
    store = tmp_path / "out" / "mfr.duckdb"
    store.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, store)  # the variants read the healthy file's block layout
    store.write_bytes(VARIANTS[variant](data, store))
    return spec_path


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_damaged_store_is_refused_before_any_step_and_left_byte_for_byte(
    tmp_path: Path, healthy: tuple[Path, bytes], variant: str
) -> None:
    spec_path = _damaged_project(tmp_path, healthy, variant)
    store = tmp_path / "out" / "mfr.duckdb"
    before = store.read_bytes()
    calls: list[str] = []
    steps = make_steps(calls)
    with pytest.raises(StoreError) as caught:
        run_pipeline(load_spec(spec_path, steps=steps), steps=steps, progress=False)
    assert calls == []  # checked before computing anything
    assert caught.value.exit_code == ExitCode.BAD_INPUT_FILE
    message = str(caught.value)
    assert message.startswith(f"{store}: ") and "left untouched" in message
    assert len(message.splitlines()) == 1
    assert store.read_bytes() == before
    assert not store.with_name(store.name + ".wal").exists()
    runs_dir = tmp_path / "out" / "runs"
    assert not runs_dir.exists() or not list(runs_dir.iterdir())  # no export folder either


@pytest.mark.parametrize("variant", ["truncated-50%", "random-middle", "text-file"])
def test_mfr_run_on_a_damaged_store_exits_3_in_one_line(
    tmp_path: Path,
    healthy: tuple[Path, bytes],
    variant: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from engine.pipeline import _steps

    for name, step in make_steps().items():  # the CLI runs the engine's catalogue: add ours
        monkeypatch.setitem(_steps.STEPS, name, step)
    spec_path = _damaged_project(tmp_path, healthy, variant)
    store = tmp_path / "out" / "mfr.duckdb"
    before = store.read_bytes()
    assert main(["run", str(spec_path)]) == ExitCode.BAD_INPUT_FILE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {store}: ")
    assert store.read_bytes() == before


@pytest.mark.parametrize(
    "command",
    [["runs"], ["show", "latest", "--spec", "test"], ["show", "latest-failed"], ["report"]],
)
def test_reading_commands_on_a_corrupt_block_exit_3_in_one_line(
    tmp_path: Path,
    healthy: tuple[Path, bytes],
    command: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, data = healthy
    store = tmp_path / "mfr.duckdb"
    shutil.copyfile(source, store)
    runs_block = _used_blocks(source, "runs")[0]  # the catalogue of runs every command reads
    offset = _HEADER + runs_block * _block_size(source) + 64
    store.write_bytes(data[:offset] + random.Random(_SEED).randbytes(2048) + data[offset + 2048 :])
    before = store.read_bytes()
    extra = ["--out", str(tmp_path / "r.html")] if command == ["report"] else []
    code = main([*command, "--store", str(store), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == ExitCode.BAD_INPUT_FILE, err
    assert len(err) == 1 and err[0].startswith(f"error: {store}: the store cannot be used")
    assert "Corrupt database file" in err[0] or "checksum" in err[0]
    assert store.read_bytes() == before


def test_mfr_check_verifies_every_block(
    tmp_path: Path, healthy: tuple[Path, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    source, data = healthy
    store = tmp_path / "mfr.duckdb"
    store.write_bytes(data)
    assert main(["check", "--store", str(store)]) == 0
    assert "store OK: 2 succeeded" in capsys.readouterr().out
    store.write_bytes(_random_middle(data, source))
    assert main(["check", "--store", str(store)]) == ExitCode.BAD_INPUT_FILE
    assert "Corrupt database file" in capsys.readouterr().err
    assert Store(store).path.read_bytes() == _random_middle(data, source)

"""`--out` folders: a command writes only its own files there and never removes anyone else's.

Every command that takes `--out` (validate, entitle, allocate, forecast, generate) refuses a
non-empty folder mfr did not write unless `--overwrite`, and even then removes nothing but the
files its marker (`.mfr-output.json`) says it wrote before. Also: `--envelope` and `--mode`
mistakes are blamed on the option, and `--mode optimize` is the same as `optimise`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

import engine.cli._output as output
from engine.cli import main
from engine.cli._output import OUTPUT_MARKER, staged_folder
from engine.errors import ConfigError, ExitCode

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data_samples" / "registry"
BASELINE = REPO / "models" / "funding" / "baseline"
POLICY = REPO / "models" / "allocation" / "default-2026.yaml"
CLAIMS = REPO / "tests" / "allocation" / "data" / "case_months.csv"  # 10 small case-months
ALLOCATION_FILES = {
    "rows.parquet",
    "by_group.parquet",
    "by_tier.parquet",
    "by_territory.parquet",
    "by_service.parquet",
    "equity.parquet",
    "summary.json",
}


def _allocate(out: str | Path, *extra: str) -> list[str]:
    return ["allocate", str(CLAIMS), "--policy", str(POLICY), "--out", str(out), *extra]


def _entitle(out: str | Path, *extra: str) -> list[str]:
    return [
        *("entitle", str(SAMPLE), "--model", str(BASELINE)),
        *("--months", "2026-05:2026-05", "--out", str(out), *extra),
    ]


def _series(tmp_path: Path) -> Path:
    """Two short monthly series: a forecast of them takes well under a second."""
    rows = [
        (f"s{i}", dt.date(2024 + m // 12, m % 12 + 1, 1), float(5 + i + m % 3))
        for i in range(2)
        for m in range(24)
    ]
    path = tmp_path / "series.csv"
    pl.DataFrame(rows, schema=["unique_id", "ds", "y"], orient="row").write_csv(path)
    return path


def _foreign_folder(folder: Path) -> Path:
    """A user's working folder: a file and a sub-folder with a file in it."""
    (folder / "sub").mkdir(parents=True)
    (folder / "important.txt").write_text("the user's notes", encoding="utf-8")
    (folder / "sub" / "draft.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    return folder


def _assert_foreign_intact(folder: Path) -> None:
    assert (folder / "important.txt").read_text(encoding="utf-8") == "the user's notes"
    assert (folder / "sub" / "draft.csv").read_text(encoding="utf-8") == "a,b\n1,2\n"


def _listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def _marker(folder: Path) -> dict:
    return json.loads((folder / OUTPUT_MARKER).read_text(encoding="utf-8"))


# -- refusing a folder mfr did not write --------------------------------------------------------


def test_allocate_refuses_the_current_folder_when_it_holds_the_users_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reported case: `cd work && mfr allocate … --out .` deleted important.txt and sub/."""
    work = _foreign_folder(tmp_path / "work")
    monkeypatch.chdir(work)
    assert main(_allocate(".")) == ExitCode.BAD_CONFIG
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: {work}: ")  # names the folder
    assert "'important.txt', 'sub/'" in err and "--overwrite" in err  # says how to proceed
    _assert_foreign_intact(work)
    assert _listing(work) == {"important.txt", "sub"}  # nothing written, no staging left


@pytest.mark.parametrize(
    "command",
    [
        lambda out, tmp: _entitle(out),
        lambda out, tmp: ["forecast", "--series", str(_series(tmp)), "--out", str(out)],
        lambda out, tmp: ["validate", str(SAMPLE), "--out", str(out)],
        lambda out, tmp: ["generate", "-n", "20", "--out", str(out)],
    ],
    ids=["entitle", "forecast", "validate", "generate"],
)
def test_every_command_refuses_a_foreign_folder_before_working(
    tmp_path: Path,
    command: Callable[[Path, Path], list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    mywork = tmp_path / "mywork"
    mywork.mkdir()
    (mywork / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(command(mywork, tmp_path)) == ExitCode.BAD_CONFIG
    err = capsys.readouterr().err
    assert f"{mywork}: --out folder holds files mfr did not write ('notes.txt')" in err
    assert _listing(mywork) == {"notes.txt"}
    assert (mywork / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_overwrite_writes_beside_foreign_files_and_keeps_them(tmp_path: Path) -> None:
    work = _foreign_folder(tmp_path / "work")
    assert main(_allocate(work, "--overwrite")) == ExitCode.OK
    _assert_foreign_intact(work)
    assert _listing(work) == ALLOCATION_FILES | {"important.txt", "sub", OUTPUT_MARKER}
    marker = _marker(work)
    assert marker["written_by"] == "mfr"
    assert sorted(marker["commands"]) == ["allocate"]
    entry = marker["commands"]["allocate"]
    assert set(entry["files"]) == ALLOCATION_FILES and entry["state"] == "complete"
    assert dt.datetime.fromisoformat(entry["written_at"]).tzinfo is not None
    # the folder is mfr's now: the next run needs no --overwrite and still keeps the user's files
    assert main(_allocate(work)) == ExitCode.OK
    _assert_foreign_intact(work)


def test_an_out_that_is_a_file_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "result.parquet"
    target.write_bytes(b"not mine")
    assert main(_allocate(target, "--overwrite")) == ExitCode.BAD_CONFIG
    assert f"error: {target}: is a file, not a folder" in capsys.readouterr().err
    assert target.read_bytes() == b"not mine" and _listing(tmp_path) == {"result.parquet"}


# -- what a run writes and replaces -------------------------------------------------------------


def test_a_new_folder_and_an_existing_empty_folder_are_written(tmp_path: Path) -> None:
    fresh = tmp_path / "a" / "b" / "new"
    empty = tmp_path / "empty"
    empty.mkdir()
    for out in (fresh, empty):
        assert main(_allocate(out)) == ExitCode.OK
        assert _listing(out) == ALLOCATION_FILES | {OUTPUT_MARKER}
    assert _listing(tmp_path) == {"a", "empty"}  # no staging folder left beside
    assert _listing(tmp_path / "a" / "b") == {"new"}


def test_out_dot_in_an_empty_current_folder_writes_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(_allocate(".")) == ExitCode.OK
    assert _listing(tmp_path) == ALLOCATION_FILES | {OUTPUT_MARKER}


def test_a_second_run_replaces_only_its_own_files(tmp_path: Path) -> None:
    out = tmp_path / "alloc"
    assert main(_allocate(out, "--mode", "optimise", "--envelope", "1000000")) == ExitCode.OK
    assert (out / "binding.parquet").is_file()
    (out / "notes.txt").write_text("added by the user", encoding="utf-8")
    (out / "mine").mkdir()
    before = pl.read_parquet(out / "rows.parquet")["allocated_uah"].sum()
    assert main(_allocate(out, "--envelope", "10000")) == ExitCode.OK
    # binding.parquet was this command's and the new run has none: removed; the rest stays
    assert _listing(out) == ALLOCATION_FILES | {OUTPUT_MARKER, "notes.txt", "mine"}
    assert pl.read_parquet(out / "rows.parquet")["allocated_uah"].sum() < before
    assert set(_marker(out)["commands"]["allocate"]["files"]) == ALLOCATION_FILES


def test_two_commands_share_a_folder_without_removing_each_others_files(tmp_path: Path) -> None:
    out = tmp_path / "work"
    assert main(_entitle(out)) == ExitCode.OK
    entitled = _listing(out) - {OUTPUT_MARKER}
    assert main(_allocate(out)) == ExitCode.OK
    assert main(_allocate(out)) == ExitCode.OK  # a rerun of one leaves the other's files alone
    assert _listing(out) == entitled | ALLOCATION_FILES | {OUTPUT_MARKER}
    commands = _marker(out)["commands"]
    assert set(commands["entitle"]["files"]) == entitled
    assert set(commands["allocate"]["files"]) == ALLOCATION_FILES


def test_a_file_another_command_wrote_is_replaced_only_with_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate and entitle both write quarantine.parquet: the second asks before taking it."""
    out = tmp_path / "work"
    assert main(["validate", str(SAMPLE), "--out", str(out)]) == ExitCode.OK
    validated = _listing(out)
    capsys.readouterr()
    assert main(_entitle(out)) == ExitCode.BAD_CONFIG
    err = capsys.readouterr().err
    assert (
        f"error: {out}: --out folder already holds 'quarantine.parquet', which mfr validate" in err
    )
    assert "--overwrite" in err
    assert _listing(out) == validated  # refused at the end: nothing moved, no staging left
    assert main(_entitle(out, "--overwrite")) == ExitCode.OK
    commands = _marker(out)["commands"]
    assert "quarantine.parquet" in commands["entitle"]["files"]
    assert "quarantine.parquet" not in commands["validate"]["files"]
    assert {f"{t}.parquet" for t in ("cases", "recipients")} <= _listing(out)  # validate's stay


def test_a_sub_folder_named_like_an_output_is_never_replaced(tmp_path: Path) -> None:
    out = _foreign_folder(tmp_path / "work")
    (out / "rows.parquet").mkdir()
    (out / "rows.parquet" / "part-0.parquet").write_bytes(b"the user's dataset")
    assert main(_allocate(out, "--overwrite")) == ExitCode.BAD_CONFIG
    assert (out / "rows.parquet" / "part-0.parquet").read_bytes() == b"the user's dataset"
    assert _listing(out) == {"important.txt", "sub", "rows.parquet"}


def test_a_regenerated_extract_holds_no_file_of_the_earlier_format(tmp_path: Path) -> None:
    out = tmp_path / "extract"
    assert main(["generate", "-n", "20", "--out", str(out)]) == ExitCode.OK
    assert main(["generate", "-n", "20", "--format", "csv", "--out", str(out)]) == ExitCode.OK
    names = _listing(out)
    assert not any(n.endswith(".parquet") for n in names) and "cases.csv" in names
    assert main(["validate", str(out)]) == ExitCode.OK  # the marker is no table file


# -- the marker cannot be turned against the user -----------------------------------------------


@pytest.mark.parametrize("content", ["{not json", '{"written_by": "someone else"}', "[]"])
def test_a_marker_mfr_did_not_write_makes_the_folder_foreign(tmp_path: Path, content: str) -> None:
    out = tmp_path / "work"
    out.mkdir()
    (out / OUTPUT_MARKER).write_text(content, encoding="utf-8")
    (out / "rows.parquet").write_bytes(b"the user's")
    assert main(_allocate(out)) == ExitCode.BAD_CONFIG
    assert (out / "rows.parquet").read_bytes() == b"the user's"


def test_a_marker_naming_paths_outside_the_folder_removes_nothing_there(tmp_path: Path) -> None:
    out = tmp_path / "work"
    out.mkdir()
    outside = tmp_path / "precious.txt"
    outside.write_text("outside", encoding="utf-8")
    listed = ["../precious.txt", str(outside), ".", "..", "", "sub/x.txt"]
    marker = {"written_by": "mfr", "format": 1, "commands": {"allocate": {"files": listed}}}
    (out / OUTPUT_MARKER).write_text(json.dumps(marker), encoding="utf-8")
    (out / "sub").mkdir()
    (out / "sub" / "x.txt").write_text("inside a sub-folder", encoding="utf-8")
    assert main(_allocate(out)) == ExitCode.OK
    assert outside.read_text(encoding="utf-8") == "outside"
    assert (out / "sub" / "x.txt").read_text(encoding="utf-8") == "inside a sub-folder"


# -- complete or absent -------------------------------------------------------------------------


def _write_two(staging: Path, text: str) -> None:
    (staging / "a.txt").write_text(text, encoding="utf-8")
    (staging / "b.txt").write_text(text, encoding="utf-8")


def test_a_failure_while_writing_leaves_the_previous_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged_folder(out, command="demo") as staging:
        _write_two(staging, "first")
    marker = (out / OUTPUT_MARKER).read_bytes()
    with pytest.raises(RuntimeError), staged_folder(out, command="demo") as staging:
        (staging / "a.txt").write_text("second", encoding="utf-8")
        raise RuntimeError("the disk filled up")
    assert _listing(out) == {"a.txt", "b.txt", OUTPUT_MARKER}
    assert (out / "a.txt").read_text(encoding="utf-8") == "first"
    assert (out / OUTPUT_MARKER).read_bytes() == marker


def test_a_failure_among_the_final_renames_puts_the_previous_outputs_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    with staged_folder(out, command="demo") as staging:
        _write_two(staging, "first")
    (out / "notes.txt").write_text("the user's", encoding="utf-8")
    marker = (out / OUTPUT_MARKER).read_bytes()
    real_replace = os.replace
    calls = {"n": 0}

    def failing_replace(src: os.PathLike[str], dst: os.PathLike[str]) -> None:
        calls["n"] += 1
        if calls["n"] == 5:  # the interim marker, two old files moved aside, one new file placed
            raise OSError(28, "No space left on device", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(output.os, "replace", failing_replace)
    with pytest.raises(OSError), staged_folder(out, command="demo") as staging:
        _write_two(staging, "second")
    monkeypatch.setattr(output.os, "replace", real_replace)
    assert calls["n"] > 5  # the rollback ran
    assert _listing(out) == {"a.txt", "b.txt", "notes.txt", OUTPUT_MARKER}
    assert {(out / n).read_text(encoding="utf-8") for n in ("a.txt", "b.txt")} == {"first"}
    assert (out / OUTPUT_MARKER).read_bytes() == marker


def test_a_signal_during_the_final_renames_waits_until_they_are_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    with staged_folder(out, command="demo") as staging:
        _write_two(staging, "first")
    real_replace = os.replace
    sent = {"done": False}

    def replace_then_signal(src: os.PathLike[str], dst: os.PathLike[str]) -> None:
        real_replace(src, dst)
        if not sent["done"]:
            sent["done"] = True
            os.kill(os.getpid(), signal.SIGTERM)

    class StoppedError(Exception):
        pass

    def stop(_signum: int, _frame: object) -> None:
        raise StoppedError

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        monkeypatch.setattr(output.os, "replace", replace_then_signal)
        with pytest.raises(StoppedError), staged_folder(out, command="demo") as staging:
            _write_two(staging, "second")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert sent["done"]
    # the signal arrived after the swap: every new file in place, the marker complete
    assert {(out / n).read_text(encoding="utf-8") for n in ("a.txt", "b.txt")} == {"second"}
    assert json.loads((out / OUTPUT_MARKER).read_text())["commands"]["demo"]["state"] == "complete"
    assert _listing(out) == {"a.txt", "b.txt", OUTPUT_MARKER}


def test_a_killed_runs_staging_folder_is_not_foreign_and_is_swept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".mfr-staging-999999999-abc"  # above any pid_max: that process is gone
    stale.mkdir()
    (stale / "rows.parquet").write_bytes(b"half")
    assert main(_allocate(out)) == ExitCode.OK
    assert _listing(out) == ALLOCATION_FILES | {OUTPUT_MARKER}


def test_the_marker_refusal_is_a_config_error_naming_the_folder(tmp_path: Path) -> None:
    _foreign_folder(tmp_path)
    with pytest.raises(ConfigError) as raised:
        output.check_output_folder(tmp_path)
    assert raised.value.path == tmp_path.resolve()
    output.check_output_folder(tmp_path, overwrite=True)  # allowed with --overwrite


# -- allocate's options -------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "shown"), [("-5", "-5"), ("0", "0"), ("nan", "nan")])
def test_a_bad_envelope_is_blamed_on_the_option(
    tmp_path: Path, amount: str, shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "alloc"
    assert main(_allocate(out, "--envelope", amount)) == ExitCode.BAD_CONFIG
    err = capsys.readouterr().err
    assert err == f"error: --envelope must be a positive amount in UAH, got {shown}\n"
    assert not out.exists()


@pytest.mark.parametrize("spelling", ["optimize", "Optimise", "optimise"])
def test_optimize_is_the_optimise_mode(tmp_path: Path, spelling: str) -> None:
    out = tmp_path / "alloc"
    assert main(_allocate(out, "--mode", spelling)) == ExitCode.OK
    assert json.loads((out / "summary.json").read_text("utf-8"))["mode"] == "optimise"
    assert (out / "binding.parquet").is_file()


@pytest.mark.parametrize(("typed", "meant"), [("defualt", "default"), ("optimse", "optimise")])
def test_an_unknown_mode_suggests_the_closest(
    tmp_path: Path, typed: str, meant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_allocate(tmp_path / "alloc", "--mode", typed)) == ExitCode.BAD_CONFIG
    err = capsys.readouterr().err
    assert err == (
        f"error: --mode must be 'default' or 'optimise', got '{typed}'; did you mean '{meant}'?\n"
    )

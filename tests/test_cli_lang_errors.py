"""The one line an error prints follows `--lang`: the frame (file, line, column) and the messages
an operator meets most are said in Ukrainian; in English the line is the error's own text."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import pytest

from engine.cli import main
from engine.cli._console import error_line
from engine.cli._error_words import ERROR_SENTENCES
from engine.cli._words import translate
from engine.errors import InputFileError, Interrupted, QuarantineThresholdError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data_samples" / "registry"
MODEL = ROOT / "models" / "funding" / "baseline"
_FIELD = re.compile(r"\{(\w+)\}")
# three English words in a row: a sentence, not a code, a path or a column name
_ENGLISH_RUN = re.compile(r"(?<![\w/.-])[a-z]{2,}(?: [a-z]{2,}){2}(?![\w/.-])")


def _failed(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, err.getvalue()


@pytest.mark.parametrize("key", sorted(ERROR_SENTENCES))
def test_every_error_sentence_reads_back_in_ukrainian(key: str) -> None:
    """Each English message, its fields filled, is said by its own Ukrainian sentence."""
    uk, en = ERROR_SENTENCES[key]
    fields = {name: f"<{name}>" for name in _FIELD.findall(en)}
    english = en.format(**fields)
    assert translate(english, "uk") == uk.format(**fields)
    assert translate(english, "en") == english


def test_the_frame_names_file_line_and_column_in_either_language() -> None:
    exc = InputFileError("missing required column", path="x/cases.csv", line=3, column="case_id")
    assert (
        error_line(exc, "en")
        == "error: x/cases.csv, line 3, column 'case_id': missing required column"
    )
    assert error_line(exc, "uk") == (
        "помилка: x/cases.csv, рядок 3, стовпець 'case_id': немає обов'язкового стовпця"
    )
    unknown = InputFileError("a message no sentence knows", path="f.csv")
    assert error_line(unknown, "uk") == "помилка: f.csv: a message no sentence knows"
    assert error_line(Interrupted(15), "uk") == "помилка: перервано сигналом SIGTERM"


def test_quarantine_threshold_in_ukrainian() -> None:
    exc = QuarantineThresholdError(
        "benefits table 'income_declarations': 7 of 10 rows quarantined (70.00%), above the "
        "threshold 5.00%; fix the extract or accept the quarantine explicitly (--accept-quarantine)"
    )
    said = error_line(exc, "uk")
    assert said.startswith("помилка: таблиця даних про допомоги 'income_declarations': 7 з 10")
    assert not _ENGLISH_RUN.findall(said), _ENGLISH_RUN.findall(said)


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_a_missing_column_is_named_in_the_chosen_language(tmp_path: Path, lang: str) -> None:
    extract = tmp_path / "extract"
    shutil.copytree(SAMPLE, extract)
    cases = extract / "cases.csv"  # the sample is CP1251 with ';': rename the column bytewise
    raw = cases.read_bytes()
    cases.write_bytes(raw.replace(b"service_code", b"service_kod", 1))
    code, err = _failed("validate", str(extract), "--lang", lang)
    assert code == 3, err
    assert str(cases) in err and "'service_code'" in err
    if lang == "uk":
        assert err.startswith("помилка:") and "немає обов'язкового стовпця" in err, err
        assert not _ENGLISH_RUN.findall(err.replace(str(cases), "")), err
    else:
        assert err.startswith("error:") and "missing required column" in err, err


def test_a_missing_extract_in_ukrainian(tmp_path: Path) -> None:
    code, err = _failed("--lang", "uk", "validate", str(tmp_path / "nowhere"))
    assert code == 3 and err.strip() == f"помилка: {tmp_path / 'nowhere'}: витяг не знайдено"


def test_an_allocation_warning_reads_in_ukrainian() -> None:
    line = "[yellow]warning:[/yellow] 3 claim rows lie outside the policy period 2026-01-01 – … and were left out"
    assert translate(line, "uk") == (
        "[yellow]попередження:[/yellow] 3 рядків вимог лежать поза періодом політики 2026-01-01 – …; "
        "їх не враховано"
    )


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_a_logged_reading_note_follows_the_language(tmp_path: Path, lang: str) -> None:
    """A reader's logged warning (an unknown column dropped) is one line in the output language."""
    extract = tmp_path / "extract"
    shutil.copytree(SAMPLE, extract)
    cases = extract / "cases.csv"  # CP1251 with ';' and CRLF: add a column to the header bytewise
    raw = cases.read_bytes()
    end = raw.index(b"\r\n")
    cases.write_bytes(raw[:end] + b";extra_col" + raw[end:])
    _, err = _failed("validate", str(extract), "--lang", lang)
    said = {
        "uk": "невідомі стовпці вилучено: extra_col",
        "en": "unknown columns dropped: extra_col",
    }
    assert f"{cases}: {said[lang]}" in err.splitlines(), err

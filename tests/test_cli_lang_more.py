"""One language per output on every command that prints words or names: `mfr run` (its summary
and the notes the steps recorded in English), `forecast`, `price`, `reproduce`, `explain`.

What counts as a leak is built from the tables of words themselves (`engine.cli._words`, the
report's `cli_*` words) and the territories reference, not from a list kept here: a Ukrainian
output holds no English fragment of them (nor three English words in a row, nor an English
oblast name), an English one no Ukrainian fragment (nor a Ukrainian oblast name).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import re
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine.cli import main
from engine.cli._words import SENTENCES, WORDS, translate
from engine.explain._words import WORDS as EXPLAIN_WORDS
from engine.report._text import TEXT

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data_samples" / "registry"
MODEL = ROOT / "models" / "funding" / "baseline"
CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_MARKUP = re.compile(r"\[/?[a-z ]*\]")
_FIELDS = re.compile(r"\{[^}]*\}")
# three English words in a row: a sentence, not a code, a path or a column name
_ENGLISH_RUN = re.compile(r"(?<![\w/.-])[a-z]{2,}(?: [a-z]{2,}){2}(?![\w/.-])")


@functools.cache
def _fragments() -> dict[str, frozenset[str]]:
    """lang -> the pieces of every template in that language (between its fields), of two words
    or more, that the other language's template does not hold too."""
    pairs = [*WORDS.values(), *SENTENCES.values(), *EXPLAIN_WORDS.values()]
    pairs += [pair for key, pair in TEXT.items() if key.startswith("cli_")]
    found: dict[str, set[str]] = {"uk": set(), "en": set()}
    for uk, en in pairs:
        for lang, own, other in (("uk", uk, en), ("en", en, uk)):
            for part in _FIELDS.split(_MARKUP.sub("", own)):
                piece = part.strip(" .,;:()'\n")
                words = re.findall(r"[^\W\d_]{2,}", piece)
                if len(words) < 2 or piece in other or "_" in piece:  # not a column name
                    continue
                if (lang == "uk") == bool(CYRILLIC.search(piece)):
                    found[lang].add(piece)
    return {lang: frozenset(pieces) for lang, pieces in found.items()}


@functools.cache
def _oblasts() -> dict[str, frozenset[str]]:
    from engine.reference import load_territories

    names = load_territories().select("oblast_name", "oblast_name_en").unique()
    return {
        "uk": frozenset(names["oblast_name"].drop_nulls()),
        "en": frozenset(names["oblast_name_en"].drop_nulls()),
    }


def leaks(out: str, lang: str) -> list[str]:
    """What in `out` (printed in `lang`) belongs to the other language."""
    other = "en" if lang == "uk" else "uk"
    found = sorted(p for p in _fragments()[other] if p in out)
    found += sorted(n for n in _oblasts()[other] if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", out))
    if lang == "uk":
        found += _ENGLISH_RUN.findall(_MARKUP.sub("", out))
    return found


def _shared_conftest() -> Any:
    """tests/conftest.py itself (a folder's own conftest may hold the name `conftest`)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "_shared_conftest", ROOT / "tests" / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _printed(*args: str, code: int = 0) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        got = main(list(args))
    assert got == code, err.getvalue()
    return out.getvalue()


def test_the_leak_check_can_fail() -> None:
    """The check finds what it is for: an untranslated note, an English oblast, a Ukrainian word."""
    note = "Need in 2026-10: 5 cases served, 2 waiting; coverage of assessed need n/a."
    assert leaks(note, "uk") and not leaks(translate(note, "uk"), "uk")
    assert leaks("Вінниця: Chernihiv", "uk")
    assert leaks("the total: Чернігівська", "en") and leaks("Рядки за таблицями", "en")
    assert len(_fragments()["en"]) > 100 and len(_fragments()["uk"]) > 100


def test_every_key_lives_in_one_table() -> None:
    assert not set(WORDS) & set(TEXT), set(WORDS) & set(TEXT)
    for key, (uk, en) in [*WORDS.items(), *SENTENCES.items(), *EXPLAIN_WORDS.items()]:
        assert set(_FIELDS.findall(uk)) == set(_FIELDS.findall(en)), key  # the same fields


def test_the_run_summary_of_the_sample_nightly_in_either_language(sample_nightly) -> None:
    """Every note the sample nightly recorded (in English, in its manifest) is printed in
    Ukrainian under --lang uk; the English summary is the record's own text."""
    from engine.cli._console import choose_lang, console_for
    from engine.pipeline import render_summary
    from engine.store import Store

    manifest = Store(sample_nightly.store).manifest(sample_nightly.run_id)
    assert manifest.summary
    printed = {}
    for lang in ("uk", "en"):
        out = io.StringIO()
        choose_lang(lang)
        try:
            render_summary(manifest, console_for(out), store=sample_nightly.store)
        finally:
            choose_lang(None)
        printed[lang] = out.getvalue()
        assert not leaks(printed[lang], lang), leaks(printed[lang], lang)
    for note in manifest.summary:
        assert note in printed["en"] and note not in printed["uk"]
    assert "Запуск" in printed["uk"] and "крок" in printed["uk"] and "грн" in printed["uk"]


def test_mfr_run_says_up_to_date_and_where_in_ukrainian(sample_nightly, tmp_path: Path) -> None:
    mfr_pinned = _shared_conftest().mfr_pinned  # the code identity the shared nightly ran with
    nightly = sample_nightly.copy(tmp_path / "project")
    code, out, err = mfr_pinned(
        "run", str(nightly.spec), "--store", str(nightly.store), "--lang", "uk"
    )
    assert code == 0, err
    assert "Актуально" in out and "сховище:" in out and "Останній:" in out
    assert not leaks(out, "uk"), leaks(out, "uk")


def test_a_fresh_run_in_ukrainian(tmp_path: Path) -> None:
    """Steps as they run (a line each off a terminal), the notes, the table, the outputs."""
    spec = (ROOT / "pipelines" / "nightly.yaml").read_text(encoding="utf-8")
    spec = spec.replace("name: nightly", f"name: nightly\nroot: {ROOT}", 1)
    spec = re.sub(r"(\s)out/", rf"\g<1>{tmp_path}/out/", spec)
    spec = re.sub(r"steps: \[.*\]", "steps: [validate, entitle, need]", spec)
    (tmp_path / "nightly.yaml").write_text(spec, encoding="utf-8")
    out = _printed("run", str(tmp_path / "nightly.yaml"), "--lang", "uk")
    assert "validate успішно за" in out and "Витяг" in out and "Потреба у" in out
    assert not leaks(out, "uk"), leaks(out, "uk")


def _series(path: Path) -> Path:
    """A small long-format file: 2 oblasts × 2 services, 30 months of counts."""
    months = [dt.date(2023 + (m // 12), m % 12 + 1, 1) for m in range(30)]
    rows = [
        {"oblast": o, "service": s, "month": d.isoformat(), "y": float((i * 7 + len(o + s)) % 11)}
        for o in ("A", "B")
        for s in ("015.1", "016.0")
        for i, d in enumerate(months)
    ]
    pl.DataFrame(rows).write_csv(path)
    return path


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_forecast_speaks_the_chosen_language(tmp_path: Path, lang: str) -> None:
    source = _series(tmp_path / "series.csv")
    out = _printed(
        "forecast", "--series", str(source), "--date-col", "month", "--value-col", "y",
        "--nested", "oblast,service", "--horizon", "3", "--backtest-windows", "1",
        "--out", str(tmp_path / "out"), "--lang", lang,
    )  # fmt: skip
    assert not leaks(out, lang), leaks(out, lang)
    assert ("Бектест" in out) == (lang == "uk") and ("Backtest" in out) == (lang == "en")


def test_forecast_json_keys_stay_the_same(tmp_path: Path) -> None:
    import json

    source = _series(tmp_path / "series.csv")
    args = ["forecast", "--series", str(source), "--date-col", "month", "--value-col", "y",
            "--nested", "oblast,service", "--horizon", "3", "--backtest-windows", "0", "--json"]  # fmt: skip
    uk = json.loads(_printed(*args, "--out", str(tmp_path / "uk"), "--lang", "uk"))
    en = json.loads(_printed(*args, "--out", str(tmp_path / "en"), "--lang", "en"))
    assert uk.keys() == en.keys() and uk["reconciliation"] == en["reconciliation"]


_PRICE = ("price", "--service", "015.1", "--need-level", "2", "--hromada", "UA05020010000053508",
          "--from", "2026-05-01", "--until", "2026-07-30", "--model", str(MODEL))  # fmt: skip


def test_price_in_ukrainian() -> None:
    out = _printed(*_PRICE, "--lang", "uk")
    assert "Новий випадок" in out and "Агрономічна" in out and "разом" in out
    header = out.split("\n  ")[0]  # the segment lines come from engine.explain (below)
    assert not leaks(header, "uk"), leaks(header, "uk")


def test_price_in_english_names_the_hromada_in_english() -> None:
    out = _printed(*_PRICE, "--lang", "en")
    header = out.split("\n  ")[0]
    assert "A new case" in header and "Ahronomichna" in header and not CYRILLIC.search(header)
    assert not leaks(out, "en"), leaks(out, "en")


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_price_segment_lines_follow_the_language(lang: str) -> None:
    out = _printed(*_PRICE, "--lang", lang)
    assert not leaks(out, lang) and (lang == "uk" or not CYRILLIC.search(out))


def test_reproduce_in_ukrainian(sample_nightly, tmp_path: Path) -> None:
    nightly = sample_nightly.copy(tmp_path / "project")
    out = _printed("reproduce", nightly.run_id, "--store", str(nightly.store), "--lang", "uk")
    assert "перезапущено" in out and "ідентично:" in out
    assert not leaks(out, "uk"), leaks(out, "uk")


def test_reproduce_verdicts_in_either_language() -> None:
    """Every verdict `mfr reproduce` can print, in Ukrainian; in English the record's own."""
    from engine.pipeline import Reproduction
    from engine.pipeline._reproduce import TableCheck

    checks = (
        TableCheck("need", 10, 10, "a" * 64, "a" * 64),
        TableCheck("flows", 1, 2, "b" * 64, "c" * 64, columns=("state_uah",)),
        TableCheck("rollups", 3, 3, "d" * 64, "e" * 64, columns=("a", "b")),
        TableCheck("quarantine", 5, None, "f" * 64, None),
        TableCheck("extra", None, 4, None, "0" * 64),
    )
    result = Reproduction(
        run_id="r1", rerun_id="r2", extract=Path("x"), tables=checks, engine_then="0.1",
        engine_now="0.2", code_then="1" * 64, code_now="2" * 64,
    )  # fmt: skip
    english = "\n".join(result.lines())
    assert translate(english, "en") == english and not leaks(english, "en")
    ukrainian = translate(english, "uk")
    assert ukrainian.count("\n") == english.count("\n")
    assert not leaks(ukrainian, "uk"), leaks(ukrainian, "uk")
    assert "відрізняється: 4 з 5 таблиць" in ukrainian


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_explain_follows_the_language(sample_nightly, lang: str) -> None:
    """Headers, causes, factor notes, legal references and hromada names in one language."""
    from engine.store import Store

    case = Store(sample_nightly.store).table("explained_amounts", "latest").row(0, named=True)
    out = _printed(
        "explain", "latest", "--case", case["case_id"], "--month", f"{case['month']:%Y-%m}",
        "--store", str(sample_nightly.store), "--lang", lang,
    )  # fmt: skip
    assert not leaks(out, lang), leaks(out, lang)
    if lang == "uk":
        assert "Правові підстави" in out and "розріз на початку" in out
    else:  # the store's path is the test's own (a temporary folder: ASCII)
        assert "Legal references" in out and not CYRILLIC.search(out), CYRILLIC.findall(out)


@pytest.mark.parametrize(
    "command", ["forecast", "price", "explain", "reproduce", "run", "validate-totals", "sweep"]
)
def test_help_names_the_language_option(command: str) -> None:
    out = _printed(command, "--help")
    assert "--lang" in out


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_validate_totals_names_territories_in_the_chosen_language(lang: str) -> None:
    out = _printed(
        "validate-totals", str(ROOT / "data_samples" / "execution" / "execution.csv"),
        "--extract", str(SAMPLE), "--model", str(MODEL), "--lang", lang,
    )  # fmt: skip
    # from the comparison on (the reading's quarantine reasons come from engine.execution)
    compared = out[out.index("Виконання бюджету" if lang == "uk" else "Budget execution") :]
    assert not leaks(compared, lang), leaks(compared, lang)
    assert ("Україна" in compared) == (lang == "uk") and ("Ukraine" in compared) == (lang == "en")


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_entitle_with_a_scenario_in_one_language(tmp_path: Path, lang: str) -> None:
    """Totals, counts, oblasts, the quarantine by rule and the scenario's changes."""
    out = _printed(
        "entitle", str(SAMPLE), "--model", str(MODEL), "--months", "2026-01:2026-03",
        "--scenario", str(ROOT / "models" / "scenarios" / "home-care-frontline-plus10.yaml"),
        "--out", str(tmp_path / "out"), "--lang", lang,
    )  # fmt: skip
    assert not leaks(out, lang), leaks(out, lang)
    if lang == "uk":
        assert "Підсумки" in out and "Сценарій проти базового" in out and "Полтавська" in out
    else:
        assert "Totals" in out and "Poltava" in out and not CYRILLIC.search(out)


@pytest.mark.parametrize("mode", ["default", "optimise"])
@pytest.mark.parametrize("lang", ["uk", "en"])
def test_allocate_in_one_language(tmp_path: Path, lang: str, mode: str) -> None:
    """The policy line, the tables (with the optimiser's constraints), equity, totals, unspent."""
    claims = tmp_path / "ent"
    _printed("entitle", str(SAMPLE), "--model", str(MODEL), "--months", "2026-01:2026-03",
             "--out", str(claims))  # fmt: skip
    out = _printed(
        "allocate", str(claims / "case_months.parquet"), "--mode", mode, "--out",
        str(tmp_path / "alloc"), "--policy", str(ROOT / "models" / "allocation" / "default-2026.yaml"),
        "--lang", lang,
    )  # fmt: skip
    assert not leaks(out, lang), leaks(out, lang)
    assert ("Розподілено" in out) == (lang == "uk") and ("Allocated" in out) == (lang == "en")
    if lang == "en":
        assert not CYRILLIC.search(out), CYRILLIC.findall(out)

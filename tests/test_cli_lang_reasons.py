"""Quarantine reasons and reading warnings follow `--lang`: the readers record them in English
(`engine.registry`, `engine.benefits`, `engine.execution`), and `mfr validate`,
`mfr validate-totals` and the benefits path say them in Ukrainian under `--lang uk` through the
CLI's sentence patterns (`engine.cli._reason_words`); in English the record's own text."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

import engine
from engine.cli import _words, main
from engine.cli._reason_words import REASON_SENTENCES, REASON_WORDS, words
from engine.cli._words import translate

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data_samples" / "registry"
BENEFITS = ROOT / "data_samples" / "benefits"
EXECUTION = ROOT / "data_samples" / "execution" / "execution.csv"
MODEL = ROOT / "models" / "funding" / "baseline"
PROGRAMMES = ROOT / "models" / "programmes" / "social-services.yaml"
_FIELD = re.compile(r"\{(\w+)\}")
_TOTALS = ("validate-totals", str(EXECUTION), "--extract", str(SAMPLE), "--model", str(MODEL))


@cache
def _lang_more() -> ModuleType:
    """tests/test_cli_lang_more.py, for its leak check (built from the tables of words)."""
    spec = importlib.util.spec_from_file_location(
        "_lang_more", ROOT / "tests" / "test_cli_lang_more.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def leaks(out: str, lang: str) -> list[str]:
    found: list[str] = _lang_more().leaks(out, lang)
    return found


def _printed(*args: str, code: int = 0) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        got = main(list(args))
    assert got == code, err.getvalue()
    return out.getvalue()


def _filled(english: str) -> dict[str, str]:
    """A value per field; a field right after another is an optional clause, which the
    patterns take when it opens with ' (' (`engine.cli._words._AFTER_FIELD`)."""
    fields = {}
    for found in _FIELD.finditer(english):
        name = found.group(1)
        after_field = found.start() > 0 and english[found.start() - 1] == "}"
        fields[name] = f" (<{name}>)" if after_field else f"<{name}>"
    return fields


@pytest.mark.parametrize("key", sorted(REASON_SENTENCES))
def test_every_reason_reads_back_in_ukrainian(key: str) -> None:
    """Each English reason, its fields filled, is said by its own Ukrainian sentence."""
    uk, en = REASON_SENTENCES[key]
    fields = _filled(en)
    english = en.format(**fields)
    if english.startswith(" "):  # an optional clause: said as the field it is, space and all
        assert _words._field(english) == uk.format(**fields)
        return
    assert translate(english, "uk") == uk.format(**fields)
    assert translate(english, "en") == english


@pytest.mark.parametrize("key", sorted(REASON_SENTENCES))
def test_a_line_ending_in_a_reason_reads_whole(key: str) -> None:
    """`mfr validate` prints a reason at the end of a line (`<where> — <rule>: <reason>`); a
    reason that opens with a field keeps it first in Ukrainian, so the line reads the same."""
    uk, en = REASON_SENTENCES[key]
    if key == "rs_example" or (en.startswith("{") and not uk.startswith(en[: en.index("}") + 1])):
        assert key == "rs_example", f"{key}: the Ukrainian must open with the same field"
        return
    if en.startswith(" "):
        return
    fields = _filled(en)
    line = "  cases, рядок 12: end_date = '2024-03-01' — [bold]some_rule[/bold]: "
    assert translate(line + en.format(**fields), "uk") == line + uk.format(**fields)


def test_the_words_validate_totals_says() -> None:
    assert (
        words("rw_all_services", "uk") == "усі послуги" and words("rw_all_services", "en") == "all"
    )
    for uk, en in REASON_WORDS.values():
        assert uk != en and _FIELD.findall(uk) == _FIELD.findall(en) == []


def _recorded_reasons(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every reason and warning the readers record on the bundled samples."""
    from engine.benefits import read_benefits
    from engine.execution import load_programmes, read_execution

    monkeypatch.setenv("MFR_PSEUDONYM_KEY", "a test key")
    registry = engine.read_registry(SAMPLE)
    benefits = read_benefits(BENEFITS, registry, SAMPLE)
    execution = read_execution(EXECUTION, load_programmes(PROGRAMMES), months=None)
    frames = [registry.quarantine, registry.warnings, benefits.quarantine, benefits.warnings]
    frames += [execution.quarantine, execution.notes]
    reasons = {r for frame in frames for r in frame["reason"].drop_nulls()}
    return reasons | {execution.unit}


def test_every_reason_recorded_on_the_samples_is_said_in_ukrainian(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reasons = _recorded_reasons(monkeypatch)
    assert len(reasons) > 40  # registry, benefits and execution, quarantine and warnings
    left = {r: translate(r, "uk") for r in reasons}
    untranslated = sorted(r for r, uk in left.items() if uk == r or leaks(uk, "uk"))
    assert not untranslated, untranslated


def test_the_leak_check_finds_an_english_reason() -> None:
    reason = "hromada code not in the KATOTTG territories"
    assert leaks(f"  recipients, рядок 5: x — [bold]unknown_code[/bold]: {reason}", "uk")
    assert not leaks(
        translate(f"recipients, рядок 5: x — [bold]unknown_code[/bold]: {reason}", "uk"), "uk"
    )


def test_validate_in_ukrainian_says_every_reason_in_ukrainian() -> None:
    out = _printed("validate", str(SAMPLE), "--lang", "uk")
    assert "Приклади" in out and "коду громади немає серед територій КАТОТТГ" in out
    assert "пізніше за дату витягу 2026-10-31" in out and "не з переліку: F, M" in out
    assert not leaks(out, "uk"), leaks(out, "uk")


def test_validate_in_english_prints_the_recorded_reasons() -> None:
    registry = engine.read_registry(SAMPLE)
    first = registry.quarantine.unique("rule", keep="first", maintain_order=True)
    out = _printed("validate", str(SAMPLE), "--lang", "en")
    for reason in first["reason"]:
        assert f": {reason}\n" in out, reason
    assert not leaks(out, "en"), leaks(out, "en")
    assert "коду громади" not in out


def test_validate_in_ukrainian_says_reading_warnings(tmp_path: Path) -> None:
    """Blank lines and far-future end dates: the warnings `mfr validate` prints."""
    import shutil

    extract = tmp_path / "extract"
    shutil.copytree(SAMPLE, extract)
    cases = extract / "cases.csv"  # CP1251 with ';', as the registry exports it
    raw = cases.read_bytes()
    newline = b"\r\n" if b"\r\n" in raw else b"\n"
    header, first, *rest = raw.split(newline)
    columns = header.decode("cp1251").split(";")
    values = first.decode("cp1251").split(";")
    values[columns.index("end_date")] = "9999-12-31"  # an open-end marker
    cases.write_bytes(newline.join([header, ";".join(values).encode("cp1251"), b"", *rest]))
    english = _printed("validate", str(extract), "--lang", "en")
    assert "blank or whitespace-only lines" in english and "(an open-end marker" in english
    out = _printed("validate", str(extract), "--lang", "uk")
    assert "порожніх рядків або рядків лише з пробілів" in out, out
    assert "позначка відкритого кінця" in out, out
    assert not leaks(out, "uk"), leaks(out, "uk")


def test_validate_totals_in_ukrainian() -> None:
    out = _printed(*_TOTALS, "--lang", "uk")
    assert "суми в тис. грн (за заголовком)" in out
    assert "коду програми немає у відповідності програм social-services.yaml" in out
    assert "період поза місяцями запуску 2026-01..2026-12" in out and ": не число" in out
    assert "на рівні громад" in out and "на рівні країни" in out
    assert "\n  країна UA Україна × " in out and "× усі послуги " in out
    assert not re.search(r"\b(hromada|raion|oblast|national)\b", out)
    assert not leaks(out, "uk"), leaks(out, "uk")


def test_validate_totals_in_english_is_the_records_text() -> None:
    from engine.execution import load_programmes, read_execution

    report = read_execution(EXECUTION, load_programmes(PROGRAMMES), months=None)
    out = _printed(*_TOTALS, "--lang", "en")
    assert f"amounts in {report.unit}" in out and "thousand UAH (header)" in out
    assert "programme code not in the mapping social-services.yaml" in out
    assert "period outside the run's months 2026-01..2026-12" in out
    assert ": 381 hromada, 262 raion, 139 oblast, 7 national." in out
    assert "\n  national UA Ukraine × " in out and "× all " in out
    assert not leaks(out, "en"), leaks(out, "en")


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_the_benefits_path_in_the_chosen_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    """What `mfr entitle --benefits` says of the benefits extract, and the reasons it records
    (`benefits_quarantine.parquet`), as the terminal would say them."""
    import polars as pl

    monkeypatch.setenv("MFR_PSEUDONYM_KEY", "a test key")
    out = _printed(
        "entitle", str(SAMPLE), "--model", str(MODEL), "--months", "2026-01:2026-10",
        "--out", str(tmp_path / "out"), "--benefits", str(BENEFITS), "--lang", lang,
    )  # fmt: skip
    heads = ("benefits:", "Benefits extract", "дані про допомоги:", "Витяг даних про допомоги")
    said = [line for line in out.splitlines() if line.startswith(heads)]
    assert len(said) == 2, out
    recorded = pl.read_parquet(tmp_path / "out" / "benefits_quarantine.parquet")
    reasons = sorted(set(recorded["reason"].drop_nulls()))
    assert len(reasons) > 10
    spoken = [translate(r, lang) for r in reasons]
    for line in [*said, *spoken]:
        assert not leaks(line, lang), (line, leaks(line, lang))
    if lang == "en":
        assert spoken == reasons
    else:
        assert not set(spoken) & set(reasons)
        assert "дані про допомоги:" in said[0] and said[1].startswith("Витяг даних про допомоги")

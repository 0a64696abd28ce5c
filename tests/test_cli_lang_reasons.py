"""Quarantine reasons and reading warnings follow `--lang`: the readers record them in English
(`engine.registry`, `engine.benefits`, `engine.execution`), and `mfr validate`,
`mfr validate-totals` and the benefits path say them in Ukrainian under `--lang uk` through the
CLI's sentence patterns (`engine.cli._reason_words`); in English the record's own text."""

from __future__ import annotations

import importlib.util
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

import engine
from engine.cli import _words
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
    printed: str = _lang_more()._printed(*args, code=code)
    return printed


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
    english_heads = ("benefits:", "Benefits extract")
    said = [line for line in out.splitlines() if line.startswith(english_heads)]
    if lang == "uk":  # the two lines, in whatever Ukrainian words: none left in English
        assert not said, said
        said = [line for line in out.splitlines() if "допомог" in line]
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


def _edit(
    path: Path,
    edits: dict[tuple[int, str], str],
    *,
    added: dict[str, str] | None = None,
    dropped: frozenset[int] = frozenset(),
    extra: tuple[str, ...] = (),
) -> None:
    """Set `(data row, column)` cells of a sample table (CP1251, ';'), add columns of one value,
    drop data rows, then append raw `extra` lines."""
    raw = path.read_bytes().decode("cp1251")
    newline = "\r\n" if "\r\n" in raw else "\n"
    lines = raw.rstrip(newline).split(newline)
    columns = lines[0].split(";")
    for (row, column), value in edits.items():
        values = lines[row].split(";")
        values[columns.index(column)] = value
        lines[row] = ";".join(values)
    for name, value in (added or {}).items():
        lines = [f"{lines[0]};{name}", *(f"{line};{value}" for line in lines[1:])]
    lines = [line for i, line in enumerate(lines) if i not in dropped]
    path.write_bytes(newline.join([*lines, *extra, ""]).encode("cp1251"))


def _messy_extract(folder: Path) -> Path:
    """The sample with one more fault of each kind the registry's reader reports."""
    import shutil

    shutil.copytree(SAMPLE, folder)
    recipients = {
        (1, "income_ratio"): "500",
        (2, "birth_date"): "1850-01-01",
        (3, "birth_date"): "1.1.24",
        (4, "is_idp"): "maybe",
    }
    added = {"comment": "x", "old_code": "1234567890"}
    _edit(folder / "recipients.csv", recipients, added=added)
    cases = {
        (1, "need_level"): "2.5",
        (2, "assessed_units"): "99999",
        (3, "start_date"): "1990-01-01",
        (4, "end_date"): "9999-12-31",
    }
    broken = ("", "C1;R1", 'C2;R2;015.1;2;10;2024-01-01;;"served', "C3;R3;015.1\r;2;10;;;x")
    _edit(folder / "cases.csv", cases, extra=broken)
    _edit(folder / "providers.csv", {(1, "edrpou"): "12AB", (2, "name"): "тел. +380501234567"})
    # a service with a bad unit (its cases follow it), one left out of the extract's table
    _edit(folder / "services.csv", {(5, "unit"): "parsec"}, dropped=frozenset({6}))
    return folder


def test_every_reason_of_a_messy_extract_is_said_in_ukrainian(tmp_path: Path) -> None:
    extract = _messy_extract(tmp_path / "extract")
    registry = engine.read_registry(extract)
    recorded = {*registry.quarantine["reason"], *registry.warnings["reason"]}
    rules = {*registry.quarantine["rule"], *registry.warnings["rule"]}
    assert {"malformed_row", "implausible_date", "blank_lines", "open_end_sentinel"} <= rules
    assert len(recorded) > 70
    untranslated = sorted(
        r for r in recorded if translate(r, "uk") == r or leaks(translate(r, "uk"), "uk")
    )
    assert not untranslated, untranslated
    out = _printed("validate", str(extract), "--lang", "uk", "--accept-quarantine")
    assert "у рядку полів: 2, а в заголовку: 8" in out and "прочитано як відкриті" in out
    assert not leaks(out, "uk"), leaks(out, "uk")
    english = _printed("validate", str(extract), "--lang", "en", "--accept-quarantine")
    assert "row has 2 fields but the header has 8" in english
    assert not leaks(english, "en"), leaks(english, "en")


def test_every_reason_of_a_messy_execution_report_is_said_in_ukrainian(tmp_path: Path) -> None:
    """A report with one fault of each kind `engine.execution.read_execution` quarantines or
    notes, its amounts' unit stated per row."""
    import datetime as dt

    from engine.execution import load_programmes, read_execution

    hromada = "UA05020030000031457"
    rows = [
        ("2026-01", hromada, "0813121.01", "1.0", "тис. грн", "1"),
        ("spring", hromada, "0813121.01", "1.0", "тис. грн", "1"),
        ("2026-02", "UA99999999999999999", "0813121.01", "1.0", "тис. грн", "1"),
        ("2026-02", hromada, "0819999.99", "1.0", "тис. грн", "1"),
        ("2023-01", hromada, "0813121.01", "1.0", "тис. грн", "1"),
        ("2026-03", hromada, "0813121.02", "1.0", "USD", "1"),
        ("2026-03", hromada, "0813121.03", "1.0", "грн", "1"),
        ("2026-04", hromada, "0813121.04", "1.0", "тис. грн", "1"),
        ("2026-04", hromada, "0813121.04", "1.0", "тис. грн", "1"),
        ("2026-Q3", hromada, "0813121.05", "1.0", "тис. грн", "1"),
        ("2026-07", hromada, "0813121.05", "1.0", "тис. грн", "1"),
        ("2026-05", hromada, "0813121.06", "-1", "тис. грн", "1"),
        ("2026-05", hromada, "0813121.07", "abc", "тис. грн", "1.5"),
    ]
    header = "period,territory_code,programme_code,paid_thousand_uah,unit,recipients,comment"
    lines = [
        header,
        *(",".join([*row, "x"]) for row in rows[:6]),
        "",
        *(",".join([*row, "x"]) for row in rows[6:]),
    ]
    report_file = tmp_path / "execution.csv"
    report_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    months = (dt.date(2026, 1, 1), dt.date(2026, 6, 1))
    report = read_execution(report_file, load_programmes(PROGRAMMES), months=months)
    recorded = {*report.quarantine["reason"], *report.notes["reason"], report.unit}
    rules = {*report.quarantine["rule"]}
    assert {"invalid_value", "unknown_code", "outside_run", "duplicate_key"} <= rules
    assert {"overlapping_periods", "out_of_range", "unparseable_value"} <= rules
    assert len(recorded) >= 15, sorted(recorded)
    said = {r: translate(r, "uk") for r in recorded}
    untranslated = sorted(r for r, uk in said.items() if uk == r or leaks(uk, "uk"))
    assert not untranslated, untranslated
    assert (
        said["as each row's unit column states"]
        == "одиницях, зазначених у стовпці unit кожного рядка"
    )


def test_the_comparison_summary_lines_in_ukrainian() -> None:
    """`summary_lines` with its coarse gaps, as a run's summary prints them (`mfr run`)."""
    import datetime as dt

    from engine.execution import compare_totals, load_programmes, read_execution, summary_lines

    territories = engine.load_territories()
    span = (dt.date(2026, 1, 1), dt.date(2026, 12, 1))
    report = read_execution(
        EXECUTION, load_programmes(PROGRAMMES), territories=territories, months=span
    )
    registry = engine.read_registry(SAMPLE)
    funding = engine.load_funding_model(MODEL)
    entitlements = engine.compute_entitlements(registry, funding, territories, months=span)
    table = compare_totals(entitlements.case_months, report, territories, min_gap_uah=1000.0)
    lines = summary_lines(table, tolerance=0.05, min_gap_uah=1000.0, limit=5)
    assert len(lines) == 7 and lines[2].startswith("  national UA × ")
    said = [translate(line, "uk") for line in lines]
    assert said[2].startswith("  країна UA × ") and ", переважно " in said[2]
    assert any("× усі послуги " in line for line in said)
    for line in said:
        assert not leaks(line, "uk"), (line, leaks(line, "uk"))

"""One language per output on the command line: `--lang uk|en` (after the command or before it,
or `$MFR_LANG`), English by default; words and territory names in that language alike."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = str(ROOT / "data_samples" / "registry")
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def _printed(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> str:
    assert main(list(args)) == code
    return capsys.readouterr().out


def test_validate_in_english_has_no_cyrillic(capsys: pytest.CaptureFixture[str]) -> None:
    out = _printed(capsys, "validate", SAMPLE, "--lang", "en")
    assert "Rows per table" in out and "extract date" in out
    assert not CYRILLIC.search(out), CYRILLIC.findall(out)[:5]


def test_validate_in_ukrainian_labels_in_ukrainian(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    after = _printed(capsys, "validate", SAMPLE, "--lang", "uk")
    assert (
        "Рядки за таблицями" in after and "дата витягу" in after and "Rows per table" not in after
    )
    before = _printed(capsys, "--lang", "uk", "validate", SAMPLE)
    assert before == after
    monkeypatch.setenv("MFR_LANG", "uk")
    assert "Рядки за таблицями" in _printed(capsys, "validate", SAMPLE)
    # the command's own --lang wins over the environment
    assert "Rows per table" in _printed(capsys, "validate", SAMPLE, "--lang", "en")


def test_the_choice_does_not_outlive_its_command(capsys: pytest.CaptureFixture[str]) -> None:
    _printed(capsys, "--lang", "uk", "validate", SAMPLE)
    assert "Rows per table" in _printed(capsys, "validate", SAMPLE)


def test_an_unknown_language_is_a_configuration_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", SAMPLE, "--lang", "de"]) == 2
    assert "--lang 'de'" in capsys.readouterr().err


def test_run_in_english_has_no_cyrillic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = (ROOT / "pipelines" / "nightly.yaml").read_text(encoding="utf-8")
    spec = spec.replace("name: nightly", f"name: nightly\nroot: {ROOT}", 1)
    spec = re.sub(r"(\s)out/", rf"\g<1>{tmp_path}/out/", spec)
    spec = re.sub(r"steps: \[.*\]", "steps: [validate, entitle, need]", spec)
    (tmp_path / "nightly.yaml").write_text(spec, encoding="utf-8")
    out = _printed(capsys, "run", str(tmp_path / "nightly.yaml"), "--lang", "en")
    assert "succeeded" in out
    assert not CYRILLIC.search(out), CYRILLIC.findall(out)[:5]


def test_entitle_in_english_names_oblasts_in_english(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _printed(
        capsys,
        "--lang",
        "en",
        "entitle",
        SAMPLE,
        "--model",
        str(ROOT / "models" / "funding" / "baseline"),
        "--months",
        "2026-01:2026-03",
        "--out",
        str(tmp_path / "out"),
    )
    assert "Dnipropetrovsk" in out or "Kyiv" in out
    assert not CYRILLIC.search(out), CYRILLIC.findall(out)[:5]


def test_allocate_speaks_the_chosen_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = Path(__file__).parent / "allocation" / "data" / "case_months.csv"
    policy = Path(__file__).parent / "allocation" / "policies" / "good.yaml"
    args = ["allocate", str(claims), "--policy", str(policy)]
    english = _printed(capsys, *args, "--out", str(tmp_path / "en"), "--lang", "en")
    assert "Envelope groups" in english and not CYRILLIC.search(english)
    ukrainian = _printed(capsys, *args, "--out", str(tmp_path / "uk"), "--lang", "uk")
    assert "Групи конвертів" in ukrainian and "розподілено" in ukrainian
    assert "Envelope groups" not in ukrainian and "Tiers" not in ukrainian

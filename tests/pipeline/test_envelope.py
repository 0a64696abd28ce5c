"""A run's envelope: an amount sized for one extract is never applied silently to another; a share
of claims scales with any extract; `--envelope` overrides; the run says envelope against claims."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from _pipeline_fakes import make_project, make_steps
from _pipeline_fakes import run_mfr as _mfr

from engine.errors import ConfigError, ExitCode
from engine.pipeline import load_spec, run_pipeline
from engine.pipeline._envelope import Envelope, parse_envelope_option
from engine.store import Store

REPO = Path(__file__).resolve().parents[2]
NIGHTLY = REPO / "pipelines" / "nightly.yaml"
SAMPLE = REPO / "data_samples" / "registry"


def _nightly_with(tmp_path: Path, envelope: str, *, steps: str | None = None) -> Path:
    """The nightly spec (project root: the repo) with another envelope stanza and steps."""
    text = NIGHTLY.read_text(encoding="utf-8")
    start = text.index("envelope:\n")
    end = text.index("steps:")
    text = text[:start] + envelope + text[end:]
    if steps is not None:
        text = text.replace(
            "steps: [validate, entitle, need, forecast, allocate, report]", f"steps: [{steps}]"
        )
    spec = tmp_path / "pipelines" / "nightly.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(f"root: {REPO}\n{text}", encoding="utf-8")
    return spec


@pytest.fixture(scope="module")
def big_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another extract than the sample the spec's amount was sized for (small, to stay quick)."""
    from engine.synth import generate_registry
    from engine.synth.write import write_extract

    folder = tmp_path_factory.mktemp("big") / "extract"
    write_extract(generate_registry(300, seed=11), folder, "parquet")
    return folder


# -- the spec ----------------------------------------------------------------------------------


def test_the_bundled_specs_state_a_share_of_claims() -> None:
    assert load_spec(NIGHTLY).envelope.share_of_claims == 0.85
    planning = load_spec(REPO / "pipelines" / "planning-2027.yaml")
    assert planning.envelope.share_of_claims == 0.88
    assert load_spec(NIGHTLY).parameters()["envelope"] == {"share_of_claims": 0.85}


def test_the_older_envelope_uah_is_an_amount_for_the_specs_own_extract(tmp_path: Path) -> None:
    spec = load_spec(_nightly_with(tmp_path, "envelope_uah: 26_500_000\n"))
    assert spec.envelope.uah == 26_500_000 and spec.envelope.for_extract == SAMPLE
    assert spec.parameters()["envelope"] == {"uah": 26_500_000}
    assert spec.with_overrides().envelope == spec.envelope  # the same extract: accepted


@pytest.mark.parametrize(
    "stanza",
    [
        "envelope_uah: 26_500_000\n",
        "envelope: {uah: 26_500_000}\n",
        "envelope:\n  uah: 26_500_000\n  for_extract: data_samples/registry\n",
    ],
)
def test_an_amount_for_another_extract_is_refused(
    stanza: str, tmp_path: Path, big_extract: Path
) -> None:
    spec = load_spec(_nightly_with(tmp_path, stanza))
    with pytest.raises(ConfigError) as caught:
        spec.with_overrides(extract=big_extract)
    message = str(caught.value)
    assert caught.value.exit_code == ExitCode.BAD_CONFIG and "\n" not in message
    assert "the spec's envelope of 26,500,000 UAH was set for data_samples/registry" in message
    assert message.endswith("pass --envelope AMOUNT|SHARE% or --confirm-envelope")
    assert caught.value.line == next(
        i for i, line in enumerate(spec.path.read_text().splitlines(), 1) if "26_500_000" in line
    )
    # the operator restates or confirms it
    confirmed = spec.with_overrides(extract=big_extract, confirm_envelope=True)
    assert confirmed.envelope.uah == 26_500_000
    restated = spec.with_overrides(extract=big_extract, envelope="85%")
    assert restated.envelope.share_of_claims == 0.85
    amount = spec.with_overrides(extract=big_extract, envelope="2,030,000,000")
    assert amount.envelope.uah == 2_030_000_000 and amount.envelope.for_extract is None


def test_an_amount_is_only_checked_when_the_run_allocates(tmp_path: Path, big_extract) -> None:
    spec = load_spec(_nightly_with(tmp_path, "envelope_uah: 1000\n", steps="validate, entitle"))
    assert spec.with_overrides(extract=big_extract).extract == big_extract.resolve()


@pytest.mark.parametrize(
    ("stanza", "fragment"),
    [
        ("envelope: {share_of_claims: 1.5}\n", "above 0 and up to 1"),
        ("envelope: {share_of_claims: 0}\n", "above 0 and up to 1"),
        ("envelope: {share_of_claims: .nan}\n", "above 0 and up to 1"),
        ("envelope: {uah: .inf}\n", "expected an amount in UAH"),
        ("envelope: {uah: -1}\n", "from 0 to"),
        ("envelope: {uah: 1.0e+308}\n", "from 0 to"),
        ("envelope: {uah: 5, share_of_claims: 0.5}\n", "either 'uah' or 'share_of_claims'"),
        ("envelope: {share_of_claims: 0.5, for_extract: x}\n", "goes with an amount"),
        ("envelope: {uah: 5, for: x}\n", "unknown key 'for'"),
        ("envelope: lots\n", "expected 'policy'"),
        ("envelope_uah: abc\n", "expected an amount"),
        ("envelope: policy\nenvelope_uah: 5\n", "not both"),
    ],
)
def test_a_bad_envelope_stanza_names_the_line(tmp_path: Path, stanza: str, fragment: str) -> None:
    path = _nightly_with(tmp_path, stanza)
    with pytest.raises(ConfigError) as caught:
        load_spec(path)
    assert fragment in str(caught.value)
    assert caught.value.path == path and caught.value.line is not None


def test_envelope_policy_means_the_policys_own(tmp_path: Path) -> None:
    spec = load_spec(_nightly_with(tmp_path, "envelope: policy\n"))
    assert spec.envelope.is_policy and spec.parameters()["envelope"] is None


def test_an_impossible_date_in_a_spec_names_the_line(tmp_path: Path) -> None:
    """Once an "internal error: ValueError: day is out of range for month"."""
    path = _nightly_with(tmp_path, "envelope: policy\nextract_date: 2026-02-30\n")
    with pytest.raises(ConfigError, match="2026-02-30 is not a date") as caught:
        load_spec(path)
    assert caught.value.line == 2 + path.read_text().splitlines()[1:].index(
        "extract_date: 2026-02-30"
    )


# -- the option --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("85%", Envelope(share_of_claims=0.85, origin="--envelope")),
        ("12.5 %", Envelope(share_of_claims=0.125, origin="--envelope")),
        ("26500000", Envelope(uah=26_500_000, origin="--envelope")),
        ("26_500_000", Envelope(uah=26_500_000, origin="--envelope")),
        ("26,500,000.50", Envelope(uah=26_500_000.5, origin="--envelope")),
        ("policy", Envelope(origin="--envelope")),
    ],
)
def test_the_envelope_option_reads_amounts_and_shares(text: str, expected: Envelope) -> None:
    assert parse_envelope_option(text) == expected


@pytest.mark.parametrize("text", ["-5", "abc", "0%", "150%", "1e308", "inf", "nan", "12,5"])
def test_a_bad_envelope_option_blames_the_option(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_envelope_option(text)
    assert caught.value.path is None and str(caught.value).startswith("--envelope")


def test_another_envelope_is_another_run(tmp_path: Path) -> None:
    """The run's fingerprint holds the effective envelope: a new `--envelope` is not up to date."""
    steps = make_steps()
    spec = load_spec(make_project(tmp_path), steps=steps)
    first = run_pipeline(spec.with_overrides(envelope="85%"), steps=steps, progress=False)
    again = run_pipeline(spec.with_overrides(envelope="85%"), steps=steps, progress=False)
    other = run_pipeline(spec.with_overrides(envelope="90%"), steps=steps, progress=False)
    amount = run_pipeline(spec.with_overrides(envelope="1000"), steps=steps, progress=False)
    assert again.reused and again.manifest.run_id == first.manifest.run_id
    assert not other.reused and not amount.reused
    assert len({first.manifest.fingerprint, other.manifest.fingerprint}) == 2
    assert amount.manifest.parameters["envelope"] == {"uah": 1000.0}


# -- end to end --------------------------------------------------------------------------------


def test_mfr_run_refuses_a_sample_budget_on_another_extract(tmp_path: Path, big_extract) -> None:
    """The issue's reproduction: a spec's amount for the sample, `--extract` a real one."""
    spec = _nightly_with(tmp_path, "envelope_uah: 26_500_000\n")
    store = tmp_path / "out" / "mfr.duckdb"
    code, _, err = _mfr("run", str(spec), "--extract", str(big_extract), "--store", str(store))
    assert code == ExitCode.BAD_CONFIG
    (line,) = err.strip().splitlines()
    assert "26,500,000 UAH was set for data_samples/registry" in line
    assert line.endswith("pass --envelope AMOUNT|SHARE% or --confirm-envelope")
    assert not store.exists()  # refused before anything was computed


def test_mfr_run_with_a_share_states_envelope_against_claims(
    tmp_path: Path, big_extract: Path
) -> None:
    spec = _nightly_with(
        tmp_path, "envelope_uah: 26_500_000\n", steps="validate, entitle, allocate"
    )
    store = tmp_path / "out" / "mfr.duckdb"
    args = ["run", str(spec), "--extract", str(big_extract), "--store", str(store)]
    code, out, err = _mfr(*args, "--envelope", "85%")
    assert code == ExitCode.OK, err
    assert "85.0% of claims (--envelope 85%)" in out
    manifest = Store(store).manifest("latest", spec="nightly")
    meta = manifest.step("allocate")
    assert meta is not None
    groups = Store(store).table("allocation_by_group", run_id=manifest.run_id)
    envelope, claims = float(groups["envelope_uah"].sum()), float(groups["claim_uah"].sum())
    assert envelope == pytest.approx(0.85 * claims, abs=0.01)
    # confirming the spec's amount runs it, and says whose amount it was and for which extract
    code, out, err = _mfr(*args, "--confirm-envelope")
    assert code == ExitCode.OK, err
    assert "set in the spec for data_samples/registry, confirmed for" in out
    assert "Allocation warning: the envelope is" in out  # far from this extract's claims


def test_the_pipeline_refuses_a_cap_for_an_unknown_service(tmp_path: Path, big_extract) -> None:
    policy = tmp_path / "policy.yaml"
    text = (REPO / "models" / "allocation" / "default-2026.yaml").read_text(encoding="utf-8")
    policy.write_text(text.replace('"017.2":', '"999.9":'), encoding="utf-8")
    spec = _nightly_with(
        tmp_path, "envelope: {share_of_claims: 0.85}\n", steps="validate, entitle, allocate"
    )
    spec.write_text(
        spec.read_text().replace("models/allocation/default-2026.yaml", str(policy)),
        encoding="utf-8",
    )
    store = tmp_path / "out" / "mfr.duckdb"
    code, _, err = _mfr("run", str(spec), "--extract", str(big_extract), "--store", str(store))
    assert code == ExitCode.BAD_CONFIG
    assert "unknown service code '999.9'" in err and "services.csv" in err


def test_no_non_finite_amount_is_published(
    tmp_path: Path, big_extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever slips past the loaders (an overlay, a bug), the output edge stops it: exit 1."""
    from engine.entitlements._prepared import PricedMonths

    real = PricedMonths.entitlements  # the nightly prices a prepared registry block by block

    def poisoned(*args, **kwargs):
        result = real(*args, **kwargs)
        cm = result.case_months.with_columns(
            gross_uah=pl.when(pl.int_range(pl.len()) == 0)
            .then(float("inf"))
            .otherwise(pl.col("gross_uah"))
        )
        object.__setattr__(result, "case_months", cm)
        return result

    monkeypatch.setattr(PricedMonths, "entitlements", poisoned)
    spec = _nightly_with(tmp_path, "envelope: policy\n", steps="validate, entitle")
    store = tmp_path / "out" / "mfr.duckdb"
    code, _, err = _mfr("run", str(spec), "--extract", str(big_extract), "--store", str(store))
    assert code == ExitCode.INTERNAL_ERROR
    assert "column 'gross_uah': 1 row holds a non-finite amount (inf)" in err
    assert Store(store).runs()["status"].to_list() == ["failed"]

"""Run specs: the YAML files in `pipelines/`, loaded strictly.

A spec says what to read, which models and policy to apply, which steps to run and where results go;
it holds no logic. Every mistake — an unknown key, a wrong type, a missing file, an unknown step —
is a `ConfigError` naming the spec file and the line.

Paths in a spec are relative to the project root: the folder above `pipelines/` for a spec kept
there, otherwise the spec's own folder (`root:` overrides, relative to the spec's folder).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import ConfigError
from engine.pipeline._envelope import Envelope, envelope_from_spec, parse_envelope_option
from engine.pipeline._months import MONTH_RANGE as _MONTH_RANGE
from engine.pipeline._months import resolve_months
from engine.pipeline._spec_pilot import pilot_from_spec, pilot_parameters
from engine.pipeline._yaml import Lined as _Lined
from engine.pipeline._yaml import check_keys as _check_keys
from engine.pipeline._yaml import close_match as _close_match
from engine.pipeline._yaml import read_yaml as _read_yaml

if TYPE_CHECKING:
    from engine.pilot import Pilot

__all__ = ["DEFAULT_STORE", "RunSpec", "read_spec", "resolve_months"]

DEFAULT_STORE = Path("out") / "mfr.duckdb"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MONTH_TOKENS = ("current-year", "next-year", "year-to-date")
_CLAIMS = ("entitlements", "forecast")


# -- the spec --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    """A loaded run spec, paths resolved. `parameters()` is what identifies the run's results."""

    name: str
    path: Path
    root: Path
    steps: tuple[str, ...]
    extract: Path
    reference: Path
    funding_model: Path
    description: str = ""
    extract_date: dt.date | None = None
    scenario: Path | None = None
    compare_scenarios: tuple[Path, ...] = ()
    policy: Path | None = None
    forecast: Path | None = None  # the forecast configuration (models/forecast/*.yaml)
    months: str = "current-year"
    history_months: int = 36
    backtest_windows: int = 0  # rolling-origin backtest windows of the forecast (0: none)
    horizon: int | None = 12  # None: through the last month of `months`
    quarantine_threshold: float = 0.01
    pseudonymise: tuple[str, ...] = ()  # id columns replaced by a keyed hash at the door
    as_of: dt.date | None = None  # the funding model as known on this date of decision (issue 14)
    claims: str = "entitlements"
    envelope: Envelope = field(
        default_factory=Envelope
    )  # the policy's envelope unless the spec or --envelope says
    envelope_confirmed: bool = False  # --confirm-envelope: an amount sized for another extract
    store: Path = DEFAULT_STORE
    runs_dir: Path = Path("out") / "runs"
    cache_dir: Path = Path("out") / "cache"
    logs_dir: Path = Path("out") / "logs"
    cache_keep: int = 3
    keep_runs: int | None = None  # retention after each successful run (None: keep every run)
    exports: tuple[str, ...] | None = None  # None: every published table
    execution: Path | None = None  # a budget-execution report for `validate_totals` (issue 16)
    programmes: Path | None = None  # its programme-code mapping (default: models/programmes/)
    execution_tolerance: float = 0.05  # gaps beyond this share of the simulation are flagged
    benefits: Path | None = None  # a benefits extract: dated circumstances (engine.benefits)
    pilot: Pilot | None = None  # pilot hromadas monitored against comparable ones (`_spec_pilot`)

    def with_overrides(
        self,
        *,
        extract: Path | None = None,
        store: Path | None = None,
        envelope: str | Envelope | None = None,
        confirm_envelope: bool = False,
    ) -> RunSpec:
        """The same spec with command-line overrides (paths relative to the working folder).

        Another store brings its own run folders: exports, cache and logs go next to it
        (`<store folder>/runs`, `/cache`, `/logs`), so one store never mixes with another's files.
        `envelope` is `--envelope` (an amount, `85%` or `policy`); an amount the spec sized for
        another extract than the one run is refused unless `confirm_envelope` (see
        `check_envelope`).
        """
        spec = self
        if envelope is not None:
            parsed = parse_envelope_option(envelope) if isinstance(envelope, str) else envelope
            spec = replace(spec, envelope=parsed)
        if confirm_envelope:
            spec = replace(spec, envelope_confirmed=True)
        if extract is not None:
            spec = replace(spec, extract=Path(extract).resolve())
        if store is not None:
            store = Path(store).resolve()
            spec = replace(
                spec,
                store=store,
                runs_dir=store.parent / "runs",
                cache_dir=store.parent / "cache",
                logs_dir=store.parent / "logs",
            )
        spec.check_envelope()
        return spec

    def check_envelope(self) -> None:
        """Refuse an envelope amount sized for another extract than the one this run reads.

        26.5 M UAH is about 85% of the bundled sample's claims and 1.3% of a national extract's:
        applied silently it starves every recipient. The operator states the envelope for this
        extract (`--envelope AMOUNT|SHARE%`) or confirms the spec's (`--confirm-envelope`).
        """
        env = self.envelope
        if "allocate" not in self.steps or env.uah is None or env.for_extract is None:
            return
        if self.envelope_confirmed or env.for_extract == self.extract:
            return
        raise ConfigError(
            f"the spec's envelope of {env.uah:,.0f} UAH was set for "
            f"{self.relative(env.for_extract)}, not {self.relative(self.extract)}; "
            "pass --envelope AMOUNT|SHARE% or --confirm-envelope",
            path=self.path,
            line=env.line,
        )

    def relative(self, path: Path | None) -> str | None:
        """A path as the spec would write it: relative to the project root where possible."""
        if path is None:
            return None
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def parameters(self) -> dict[str, Any]:
        """The effective settings that shape results (not where they are written), JSON-ready."""
        return {
            "name": self.name,
            "steps": list(self.steps),
            "extract": self.relative(self.extract),
            "extract_date": self.extract_date.isoformat() if self.extract_date else None,
            "reference": self.relative(self.reference),
            "funding_model": self.relative(self.funding_model),
            "scenario": self.relative(self.scenario),
            "compare_scenarios": [self.relative(p) for p in self.compare_scenarios],
            "policy": self.relative(self.policy),
            "forecast": self.relative(self.forecast),
            "months": self.months,
            "history_months": self.history_months,
            "backtest_windows": self.backtest_windows,
            "horizon": self.horizon if self.horizon is not None else "auto",
            "quarantine_threshold": self.quarantine_threshold,
            "pseudonymise": list(self.pseudonymise),
            # which key made the pseudonyms (an id of it, never the key): another key, another run
            "pseudonym_key": _pseudonym_key_id() if self.pseudonymise else None,
            "claims": self.claims,
            "envelope": self.envelope.parameters(),
            "exports": list(self.exports) if self.exports is not None else "all",
            **(
                {
                    "execution": self.relative(self.execution),
                    "programmes": self.relative(self.programmes),
                    "execution_tolerance": self.execution_tolerance,
                }
                if self.execution is not None
                else {}
            ),
            **({"as_of": self.as_of.isoformat()} if self.as_of is not None else {}),
            **({"pilot": pilot_parameters(self.pilot)} if self.pilot is not None else {}),
        }


# -- field checks ----------------------------------------------------------------------------------

_Check = Callable[[Any], Any]


class _BadValueError(Exception):
    """A value is wrong; the message says what was expected."""


def _str(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _BadValueError(f"expected text, got {value!r}")
    return value.strip()


def _columns(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _BadValueError(f"expected a list of column names, got {value!r}")
    return tuple(v.strip() for v in value)


def _pseudonym_key_id() -> str | None:
    from engine.registry import pseudonym_key_id

    return pseudonym_key_id()


def _name(value: Any) -> str:
    text = _str(value)
    if not _NAME.match(text):
        raise _BadValueError(f"expected a name of letters, digits, '-', '_' or '.', got {text!r}")
    return text


def _int_in(low: int, high: int) -> _Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _BadValueError(f"expected a whole number, got {value!r}")
        if not low <= value <= high:
            raise _BadValueError(f"expected a number from {low} to {high}, got {value}")
        return value

    return check


def _share(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _BadValueError(f"expected a share between 0 and 1, got {value!r}")
    if not 0 <= value <= 1:
        raise _BadValueError(f"expected a share between 0 and 1, got {value}")
    return float(value)


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise _BadValueError(f"expected a date YYYY-MM-DD, got {value!r}")


def _months(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 2000 <= value <= 2100:
        return f"{value}-01:{value}-12"
    if isinstance(value, str):
        text = value.strip()
        if text in _MONTH_TOKENS:
            return text
        found = _MONTH_RANGE.match(text)
        if found:
            y1, m1, y2, m2 = (int(g) for g in found.groups())
            if not (1 <= m1 <= 12 and 1 <= m2 <= 12) or (y1, m1) > (y2, m2):
                raise _BadValueError(f"expected a month range FIRST:LAST in order, got {text!r}")
            return text
    raise _BadValueError(
        f"expected one of {', '.join(_MONTH_TOKENS)}, a year, or YYYY-MM:YYYY-MM, got {value!r}"
    )


def _horizon(value: Any) -> int | None:
    if value == "auto":
        return None
    return _int_in(1, 36)(value)


def _claims(value: Any) -> str:
    if value not in _CLAIMS:
        raise _BadValueError(f"expected one of {', '.join(_CLAIMS)}, got {value!r}")
    return value


# key -> (check, default); paths are checked separately (they must exist)
_SCALARS: dict[str, tuple[_Check, Any]] = {
    "name": (_name, None),
    "description": (_str, ""),
    "extract_date": (_date, None),
    "months": (_months, "current-year"),
    "history_months": (_int_in(3, 240), 36),
    "backtest_windows": (_int_in(0, 12), 0),
    "horizon": (_horizon, 12),
    "quarantine_threshold": (_share, 0.01),
    "pseudonymise": (_columns, ()),
    "claims": (_claims, None),
    "execution_tolerance": (_share, 0.05),
    "as_of": (_date, None),  # read the funding model as of this date of decision
}
# key -> (default, must be a folder?); None default = optional
_PATHS: dict[str, tuple[str | None, bool]] = {
    "extract": ("data_samples/registry", False),
    "reference": ("data_samples/reference", True),
    "funding_model": ("models/funding/baseline", True),
    "scenario": (None, False),
    "policy": (None, False),
    "forecast": (None, False),  # default: the project's models/forecast/default.yaml, if any
    "execution": (None, False),
    "programmes": (None, False),  # default with `execution`: models/programmes/social-services.yaml
    "benefits": (None, True),  # a benefits extract folder (issue 15)
}
_DEFAULT_FORECAST = "models/forecast/default.yaml"
_DEFAULT_PROGRAMMES = "models/programmes/social-services.yaml"
_OUTPUTS: dict[str, tuple[_Check | None, Any]] = {
    "store": (None, str(DEFAULT_STORE)),
    "runs_dir": (None, "out/runs"),
    "cache_dir": (None, "out/cache"),
    "logs_dir": (None, "out/logs"),
    "cache_keep": (_int_in(1, 100), 3),
    "keep_runs": (lambda v: None if v is None else _int_in(1, 100_000)(v), None),
    "exports": (None, None),
}
_TOP_KEYS = {
    *_SCALARS,
    *_PATHS,
    "root",
    "steps",
    "compare_scenarios",
    "outputs",
    "envelope",
    "envelope_uah",  # the older spelling of `envelope: {uah: ...}`
    "pilot",
}


def _project_root(spec_path: Path, data: _Lined) -> Path:
    here = spec_path.resolve().parent
    if "root" in data:
        try:
            return (here / _str(data["root"])).resolve()
        except _BadValueError as exc:
            raise ConfigError(f"root: {exc}", path=spec_path, line=data.lines["root"]) from None
    return here.parent if here.name == "pipelines" else here


def _existing(
    root: Path, value: Any, key: str, *, folder: bool, path: Path, line: int | None
) -> Path:
    try:
        text = _str(value)
    except _BadValueError as exc:
        raise ConfigError(f"{key}: {exc}", path=path, line=line) from None
    resolved = (root / text).resolve()
    if not resolved.exists():
        raise ConfigError(f"{key}: {text} does not exist (looked in {root})", path=path, line=line)
    if folder and not resolved.is_dir():
        raise ConfigError(f"{key}: {text} is not a folder", path=path, line=line)
    return resolved


def read_spec(path: Path | str, *, steps: Mapping[str, Any]) -> RunSpec:
    """Read and check a run spec against a step catalogue (`engine.pipeline.load_spec` passes the
    engine's own). `steps` maps each known step name to its definition: anything with `needs` and
    `requires` attributes (the steps it must come after, the spec keys it cannot do without)."""
    spec_path = Path(path)
    data = _read_yaml(spec_path)
    _check_keys(data, _TOP_KEYS, spec_path, "the run spec")
    root = _project_root(spec_path, data)

    values: dict[str, Any] = {}
    for key, (check, default) in _SCALARS.items():
        if key not in data:
            values[key] = default
            continue
        try:
            values[key] = check(data[key])
        except _BadValueError as exc:
            raise ConfigError(f"{key}: {exc}", path=spec_path, line=data.lines[key]) from None
    if values["name"] is None:
        raise ConfigError("missing key 'name' (the run's name, e.g. nightly)", path=spec_path)

    for key, (default, folder) in _PATHS.items():
        raw = data.get(key, default)
        if key == "forecast" and raw is None and (root / _DEFAULT_FORECAST).is_file():
            raw = _DEFAULT_FORECAST
        if key == "programmes" and raw is None and "execution" in data:
            raw = _DEFAULT_PROGRAMMES
        values[key] = (
            None
            if raw is None
            else _existing(root, raw, key, folder=folder, path=spec_path, line=data.lines.get(key))
        )

    compare = data.get("compare_scenarios", [])
    if not isinstance(compare, list):
        raise ConfigError(
            "compare_scenarios: expected a list of scenario files",
            path=spec_path,
            line=data.lines["compare_scenarios"],
        )
    values["compare_scenarios"] = tuple(
        _existing(root, item, "compare_scenarios", folder=False, path=spec_path, line=line)
        for item, line in zip(compare, getattr(compare, "lines", []), strict=False)
    )

    values["pilot"] = pilot_from_spec(data, root, spec_path, values["reference"])
    values["steps"] = _check_steps(data, steps, spec_path)
    if values["claims"] is None:
        values["claims"] = "forecast" if "price" in values["steps"] else "entitlements"
    for step in values["steps"]:
        for needed in getattr(steps[step], "requires", ()):
            if values.get(needed) in (None, ()):
                raise ConfigError(
                    f"step '{step}' needs '{needed}' to be set",
                    path=spec_path,
                    line=data.lines.get("steps"),
                )

    values["envelope"] = envelope_from_spec(
        data,
        data.lines,
        extract=values["extract"],
        resolve=lambda text: (root / text).resolve(),
        path=spec_path,
    )
    values.update(_outputs(data, root, spec_path))
    return RunSpec(path=spec_path.resolve(), root=root, **values)


def _is_product(step: Any) -> bool:
    """A step a spec may ask for: a product node (or a step written as a `StepDef`)."""
    return bool(getattr(step, "is_product", True))


def _check_steps(data: _Lined, steps: Mapping[str, Any], path: Path) -> tuple[str, ...]:
    products = [name for name, step in steps.items() if _is_product(step)]
    listed = data.get("steps")
    if not isinstance(listed, list) or not listed:
        raise ConfigError(
            f"steps: expected a list of steps from {', '.join(products)}",
            path=path,
            line=data.lines.get("steps"),
        )
    seen: list[str] = []
    for item, line in zip(listed, getattr(listed, "lines", [None] * len(listed)), strict=True):
        if not isinstance(item, str) or item not in steps or not _is_product(steps[item]):
            raise ConfigError(
                f"unknown step {item!r}{_close_match(str(item), set(products))}; "
                f"known steps: {', '.join(products)}",
                path=path,
                line=line,
            )
        if item in seen:
            raise ConfigError(f"step '{item}' is listed twice", path=path, line=line)
        for before in getattr(steps[item], "needs", ()):
            if before not in seen:
                raise ConfigError(
                    f"step '{item}' needs step '{before}' before it", path=path, line=line
                )
        seen.append(item)
    return tuple(seen)


def _outputs(data: _Lined, root: Path, path: Path) -> dict[str, Any]:
    raw = data.get("outputs", _Lined())
    if not isinstance(raw, _Lined):
        raise ConfigError(
            "outputs: expected a mapping (store, runs_dir, ...)",
            path=path,
            line=data.lines.get("outputs"),
        )
    _check_keys(raw, set(_OUTPUTS), path, "outputs")
    out: dict[str, Any] = {}
    for key, (check, default) in _OUTPUTS.items():
        value = raw.get(key, default)
        line = raw.lines.get(key)
        try:
            if key == "exports":
                if value is not None and value != "all":
                    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                        raise _BadValueError(
                            f"expected 'all' or a list of table names, got {value!r}"
                        )
                    value = tuple(value)
                else:
                    value = None
            elif check is not None:
                value = check(value)
            else:
                value = (root / _str(value)).resolve()
        except _BadValueError as exc:
            raise ConfigError(f"outputs.{key}: {exc}", path=path, line=line) from None
        out[key] = value
    return out

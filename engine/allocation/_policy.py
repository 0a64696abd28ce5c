"""Allocation policies as data: a strict loader for `models/allocation/*.yaml`.

A policy names its budget envelope (national, optionally split per oblast), the claim column, caps,
a floor share and ordered priority tiers whose predicates are SQL expressions over claim columns,
parsed by polars' SQL expression parser (never `eval`). Everything wrong in a file is a
`ConfigError` naming the file and the line.

Example::

    policy = load_policy(Path("models/allocation/default-2026.yaml"))
    policy.tiers[0].expr()          # pl.sql_expr("disability_group = 'I' OR age < 18")
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal

import polars as pl

from engine.dates import DATE_TEXT, parse_date
from engine.errors import ConfigError
from engine.yamlio import Lines, lines_of, load_yaml, plain

__all__ = [
    "EXCLUSIVE",
    "FIRST_MATCH",
    "MAX_UAH",
    "Policy",
    "Tier",
    "check_policy_services",
    "load_policy",
    "policy_from_dict",
]

EXCLUSIVE: Final = "exclusive"
FIRST_MATCH: Final = "first_match"
TierResolution = Literal["exclusive", "first_match"]

_TOP_KEYS = {
    "name",
    "description",
    "reference",
    "period",
    "envelope",
    "claim_column",
    "caps",
    "floor_share",
    "tier_resolution",
    "tiers",
    "optimise",
}
_PERIOD_KEYS = {"from", "to"}
_ENVELOPE_KEYS = {"national_uah", "per_oblast_uah"}
_CAPS_KEYS = {"per_row_uah", "by_service_uah"}
_TIER_KEYS = {"name", "description", "when", "otherwise", "weight"}
_OPTIMISE_KEYS = {"equity"}
_EQUITY_KEYS = {"max_spread", "max_deviation"}
# No envelope or cap of a social-services policy reaches ten trillion UAH (about three years of
# Ukraine's whole state budget); a larger finite number (`1.0e+308`) is a typo that would overflow
# once counted in kopiyky.
MAX_UAH = 1e13
_MAX_WEIGHT = 1e9


@dataclass(frozen=True)
class Tier:
    """One priority tier: rows where `when` holds (or every row left, if `otherwise`)."""

    name: str
    when: str | None = None
    otherwise: bool = False
    weight: float | None = None  # priority weight in optimisation mode
    line: int | None = None

    def expr(self) -> pl.Expr:
        """The tier's predicate as a polars expression; SQL nulls count as "no match"."""
        if self.otherwise or self.when is None:
            return pl.lit(True)
        return pl.sql_expr(self.when).fill_null(False)


@dataclass(frozen=True)
class Policy:
    """A parsed allocation policy (see DESIGN.md §6 for the default rule it drives)."""

    name: str
    tiers: tuple[Tier, ...]
    national_uah: float | None = None
    per_oblast_uah: Mapping[str, float] = field(default_factory=dict)
    description: str = ""
    reference: str | None = None
    period_from: dt.date | None = None
    period_to: dt.date | None = None
    claim_column: str = "claim_uah"
    cap_per_row_uah: float | None = None
    cap_by_service_uah: Mapping[str, float] = field(default_factory=dict)
    floor_share: float = 0.0
    tier_resolution: TierResolution = EXCLUSIVE
    equity_max_spread: float | None = None
    equity_max_deviation: float | None = None
    source: Path | None = None
    lines: Mapping[tuple[Any, ...], int] = field(default_factory=dict, repr=False)

    @property
    def envelope_uah(self) -> float:
        """The whole envelope: the national amount, or the sum of the oblast amounts."""
        if self.national_uah is not None:
            return self.national_uah
        return float(sum(self.per_oblast_uah.values()))

    @property
    def weights(self) -> tuple[float, ...]:
        """Tier weights for optimisation; by default each tier weighs 10x the next."""
        if all(t.weight is None for t in self.tiers):
            n = len(self.tiers)
            return tuple(10.0 ** (n - 1 - i) for i in range(n))
        return tuple(float(t.weight) for t in self.tiers if t.weight is not None)

    def with_envelope(self, envelope_uah: float) -> Policy:
        """The same policy with another national envelope; oblast amounts scale with it."""
        # the amount comes from the caller (a command-line option, a spec), not from the policy file
        amount = _money(envelope_uah, "the envelope given instead of the policy's", None, None)
        old = self.envelope_uah
        if self.per_oblast_uah:
            if old <= 0:
                raise ConfigError(
                    "cannot rescale per-oblast envelopes that sum to zero", path=self.source
                )
            scale = amount / old
            per_oblast = {k: round(v * scale, 2) for k, v in self.per_oblast_uah.items()}
            if self.national_uah is None:
                # keep the split exact: the oblast amounts are the whole envelope
                return replace(self, per_oblast_uah=per_oblast, national_uah=None)
            return replace(
                self,
                per_oblast_uah=per_oblast,
                national_uah=max(amount, round(sum(per_oblast.values()), 2)),
            )
        return replace(self, national_uah=amount)

    def line_of(self, *where: Any) -> int | None:
        return self.lines.get(tuple(where))


def load_policy(path: str | Path, *, services: str | Path | None = None) -> Policy:
    """Read and check a policy file; every problem is a one-line `ConfigError` with its line.

    Service codes the policy caps must be in the service catalogue `services` (a `services.csv`;
    default: the reference catalogue `engine.reference.REFERENCE_DIR / "services.csv"`), so a cap
    for a service that does not exist is refused instead of silently capping nothing.

    >>> policy = load_policy("models/allocation/default-2027.yaml")
    >>> policy.name, [tier.name for tier in policy.tiers]
    ('default-2027', ['need level 3', 'need level 2', 'need level 1'])
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError("policy file not found", path=path)
    root = load_yaml(path, what="policy file")
    data, lines = plain(root, path), lines_of(root, path)
    policy = policy_from_dict(data, source=path, lines=lines)
    if policy.cap_by_service_uah:
        from engine.reference import REFERENCE_DIR, load_services

        catalogue = Path(services) if services is not None else REFERENCE_DIR / "services.csv"
        codes = load_services(catalogue)["service_code"].to_list()
        check_policy_services(policy, codes, _shown(catalogue))
    return policy


def check_policy_services(policy: Policy, codes: Iterable[str], catalogue: str) -> None:
    """Refuse a service cap whose code is not in the catalogue `codes` (named `catalogue`)."""
    known = set(codes)
    for code in policy.cap_by_service_uah:
        if code not in known:
            raise ConfigError(
                f"caps.by_service_uah: unknown service code '{code}' "
                f"(not in the service catalogue {catalogue})",
                path=policy.source,
                line=policy.line_of("caps", "by_service_uah", code),
            )


def _shown(path: Path) -> str:
    """A path as an operator would type it: relative to the working folder when under it."""
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def policy_from_dict(
    data: Mapping[str, Any], *, source: Path | str | None = None, lines: Lines | None = None
) -> Policy:
    """Build a policy from plain data (as read from YAML), with the loader's strict checks."""
    read = _Reader(Path(source) if source is not None else None, lines or {})
    if not isinstance(data, Mapping):
        raise read.fail("a policy file must be a mapping of keys")
    read.no_unknown(data, _TOP_KEYS, ())
    for required in ("name", "envelope", "tiers"):
        if required not in data:
            raise read.fail(f"missing required key '{required}'")
    period_from, period_to = read.period(data)
    national, per_oblast = read.envelope(data["envelope"])
    cap_row, cap_service = read.caps(data)
    floor_share = data.get("floor_share", 0.0)
    if not _is_number(floor_share) or not 0.0 <= float(floor_share) <= 1.0:
        raise read.fail(
            f"floor_share must be a number in [0, 1], got {floor_share!r}", "floor_share"
        )
    resolution = data.get("tier_resolution", EXCLUSIVE)
    if resolution not in (EXCLUSIVE, FIRST_MATCH):
        raise read.fail(
            f"tier_resolution must be '{EXCLUSIVE}' or '{FIRST_MATCH}', got {resolution!r}",
            "tier_resolution",
        )
    spread, deviation = read.equity(data)
    return Policy(
        name=_text(data["name"], "name", read.src, read.line("name")),
        tiers=read.tiers(data["tiers"]),
        national_uah=national,
        per_oblast_uah=per_oblast,
        description=str(data.get("description") or ""),
        reference=None if data.get("reference") is None else str(data["reference"]),
        period_from=period_from,
        period_to=period_to,
        claim_column=_text(
            data.get("claim_column", "claim_uah"),
            "claim_column",
            read.src,
            read.line("claim_column"),
        ),
        cap_per_row_uah=cap_row,
        cap_by_service_uah=cap_service,
        floor_share=float(floor_share),
        tier_resolution=resolution,
        equity_max_spread=spread,
        equity_max_deviation=deviation,
        source=read.src,
        lines=dict(read.lines),
    )


@dataclass(frozen=True)
class _Reader:
    """Reads the sections of a policy, failing with the file and line of what is wrong."""

    src: Path | None
    lines: Lines

    def line(self, *where: Any) -> int | None:
        return self.lines.get(tuple(where))

    def fail(self, message: str, *where: Any) -> ConfigError:
        return ConfigError(message, path=self.src, line=self.line(*where))

    def no_unknown(
        self, mapping: Mapping[str, Any], allowed: set[str], where: tuple[Any, ...]
    ) -> None:
        _no_unknown(mapping, allowed, where, self.src, self.lines)

    def section(
        self, data: Mapping[str, Any], key: str, allowed: set[str]
    ) -> Mapping[str, Any] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(f"'{key}' must be a mapping of {', '.join(sorted(allowed))}", key)
        self.no_unknown(value, allowed, (key,))
        return value

    def amounts(self, raw: Any, what: str, *where: Any) -> dict[str, float]:
        if not isinstance(raw, Mapping) or not raw:
            raise self.fail(f"'{where[-1]}' must map {what} codes to amounts", *where[:-1])
        return {
            _text(code, f"{what} code", self.src, self.line(*where, code)): _money(
                amount, f"amount for {what} {code}", self.src, self.line(*where, code)
            )
            for code, amount in raw.items()
        }

    def period(self, data: Mapping[str, Any]) -> tuple[dt.date | None, dt.date | None]:
        period = self.section(data, "period", _PERIOD_KEYS)
        if period is None:
            return None, None
        start = _date(period.get("from"), "period.from", self.src, self.line("period", "from"))
        end = _date(period.get("to"), "period.to", self.src, self.line("period", "to"))
        if start and end and end < start:
            raise self.fail("period 'to' is before 'from'", "period", "to")
        return start, end

    def envelope(self, envelope: Any) -> tuple[float | None, dict[str, float]]:
        envelope = self.section({"envelope": envelope}, "envelope", _ENVELOPE_KEYS) or {}
        national = None
        if envelope.get("national_uah") is not None:
            national = _money(
                envelope["national_uah"],
                "envelope.national_uah",
                self.src,
                self.line("envelope", "national_uah"),
            )
        per_oblast: dict[str, float] = {}
        if envelope.get("per_oblast_uah") is not None:
            per_oblast = self.amounts(
                envelope["per_oblast_uah"], "oblast", "envelope", "per_oblast_uah"
            )
        if national is None and not per_oblast:
            raise self.fail("the envelope needs 'national_uah' or 'per_oblast_uah'", "envelope")
        if national is not None and sum(per_oblast.values()) > national + 0.005:
            raise self.fail(
                f"per-oblast envelopes sum to {sum(per_oblast.values()):.2f} UAH, "
                f"more than the national envelope {national:.2f} UAH",
                "envelope",
            )
        return national, per_oblast

    def caps(self, data: Mapping[str, Any]) -> tuple[float | None, dict[str, float]]:
        caps = self.section(data, "caps", _CAPS_KEYS)
        if caps is None:
            return None, {}
        per_row = None
        if caps.get("per_row_uah") is not None:
            per_row = _money(
                caps["per_row_uah"], "caps.per_row_uah", self.src, self.line("caps", "per_row_uah")
            )
        by_service: dict[str, float] = {}
        if caps.get("by_service_uah") is not None:
            by_service = self.amounts(caps["by_service_uah"], "service", "caps", "by_service_uah")
        return per_row, by_service

    def equity(self, data: Mapping[str, Any]) -> tuple[float | None, float | None]:
        optimise = self.section(data, "optimise", _OPTIMISE_KEYS)
        if optimise is None or optimise.get("equity") is None:
            return None, None
        equity = optimise["equity"]
        if not isinstance(equity, Mapping):
            raise self.fail("'optimise.equity' must be a mapping", "optimise", "equity")
        self.no_unknown(equity, _EQUITY_KEYS, ("optimise", "equity"))
        for key in _EQUITY_KEYS & set(equity):
            value = equity[key]
            if not _is_number(value) or not 0.0 <= float(value) <= 1.0:
                raise self.fail(
                    f"equity {key} must be a coverage difference in [0, 1], got {value!r}",
                    "optimise",
                    "equity",
                    key,
                )
        spread = float(equity["max_spread"]) if "max_spread" in equity else None
        deviation = float(equity["max_deviation"]) if "max_deviation" in equity else None
        return spread, deviation

    def tiers(self, raw: Any) -> tuple[Tier, ...]:
        if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
            raise self.fail("'tiers' must be a non-empty list", "tiers")
        tiers = [self.tier(item, i, last=i == len(raw) - 1) for i, item in enumerate(raw)]
        names = [t.name for t in tiers]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise self.fail(f"duplicate tier name '{name}'", "tiers", i)
        given = [t.weight is not None for t in tiers]
        if any(given) and not all(given):
            raise self.fail("give a weight to every tier or to none", "tiers")
        return tuple(tiers)

    def tier(self, item: Any, i: int, *, last: bool) -> Tier:
        where = self.line("tiers", i)
        if not isinstance(item, Mapping):
            raise self.fail(f"tier {i + 1} must be a mapping", "tiers", i)
        self.no_unknown(item, _TIER_KEYS, ("tiers", i))
        name = _text(item.get("name"), f"tier {i + 1} name", self.src, where)
        otherwise = item.get("otherwise", False)
        when = item.get("when")
        weight = item.get("weight")
        if not isinstance(otherwise, bool):
            raise self.fail(f"tier '{name}': 'otherwise' must be true or false", "tiers", i)
        if weight is not None and (not _is_number(weight) or not 0 < float(weight) <= _MAX_WEIGHT):
            raise self.fail(
                f"tier '{name}': weight must be a positive number up to {_MAX_WEIGHT:g}, "
                f"got {weight!r}",
                "tiers",
                i,
                "weight",
            )
        if otherwise and when is not None:
            raise self.fail(f"tier '{name}' has both 'when' and 'otherwise'", "tiers", i)
        if otherwise and not last:
            raise self.fail(
                f"tier '{name}': only the last tier may be 'otherwise: true'", "tiers", i
            )
        if not otherwise:
            _check_predicate(name, when, self.src, self.line("tiers", i, "when") or where)
        return Tier(
            name=name,
            when=None if otherwise else str(when).strip(),
            otherwise=otherwise,
            weight=None if weight is None else float(weight),
            line=where,
        )


def _check_predicate(name: str, when: Any, src: Path | None, line: int | None) -> None:
    if when is None or not isinstance(when, str) or not when.strip():
        raise ConfigError(
            f"tier '{name}' is empty: give a predicate in 'when' "
            "(or 'otherwise: true' on the last tier)",
            path=src,
            line=line,
        )
    try:
        pl.sql_expr(when)
    except Exception as exc:  # polars raises SQLInterfaceError / SQLSyntaxError
        raise ConfigError(
            f"tier '{name}': cannot parse predicate {when!r}: {str(exc).splitlines()[0]}",
            path=src,
            line=line,
        ) from exc


def _no_unknown(
    mapping: Mapping[str, Any],
    allowed: set[str],
    where: tuple[Any, ...],
    src: Path | None,
    lines: Lines,
) -> None:
    for key in mapping:
        if key not in allowed:
            section = ".".join(str(w) for w in where) or "the policy"
            raise ConfigError(
                f"unknown key '{key}' in {section} (allowed: {', '.join(sorted(allowed))})",
                path=src,
                line=lines.get((*where, key)),
            )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _money(value: Any, what: str, src: Path | None, line: int | None) -> float:
    if not _is_number(value):
        raise ConfigError(f"{what} must be an amount in UAH, got {value!r}", path=src, line=line)
    if value < 0:
        raise ConfigError(f"{what} is negative ({value})", path=src, line=line)
    if value > MAX_UAH:
        raise ConfigError(
            f"{what} is implausibly large ({value:g} UAH, over {MAX_UAH:g})", path=src, line=line
        )
    return round(float(value), 2)


def _text(value: Any, what: str, src: Path | None, line: int | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{what} must be a non-empty text, got {value!r}", path=src, line=line)
    return value.strip()


def _date(value: Any, what: str, src: Path | None, line: int | None) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and DATE_TEXT.match(value.strip()):
        try:
            return parse_date(value.strip())
        except ValueError as exc:
            raise ConfigError(f"{what}: {exc}", path=src, line=line) from None
    raise ConfigError(f"{what} must be a date YYYY-MM-DD, got {value!r}", path=src, line=line)

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import polars as pl

from engine.allocate._yaml import Lines, load_yaml_with_lines
from engine.errors import ConfigError

__all__ = ["FIRST_MATCH", "EXCLUSIVE", "Policy", "Tier", "load_policy", "policy_from_dict"]

EXCLUSIVE = "exclusive"
FIRST_MATCH = "first_match"
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
        amount = _money(envelope_uah, "envelope", self.source, None)
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


def load_policy(path: str | Path) -> Policy:
    """Read and check a policy file; every problem is a one-line `ConfigError` with its line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("policy file not found", path=path)
    data, lines = load_yaml_with_lines(path)
    return policy_from_dict(data, source=path, lines=lines)


def policy_from_dict(
    data: Mapping[str, Any], *, source: Path | str | None = None, lines: Lines | None = None
) -> Policy:
    """Build a policy from plain data (as read from YAML), with the loader's strict checks."""
    src = Path(source) if source is not None else None
    lines = lines or {}

    def line(*where: Any) -> int | None:
        return lines.get(tuple(where))

    def fail(message: str, *where: Any) -> ConfigError:
        return ConfigError(message, path=src, line=line(*where))

    if not isinstance(data, Mapping):
        raise fail("a policy file must be a mapping of keys")
    _no_unknown(data, _TOP_KEYS, (), src, lines)
    for required in ("name", "envelope", "tiers"):
        if required not in data:
            raise fail(f"missing required key '{required}'")
    name = _text(data["name"], "name", src, line("name"))

    period_from = period_to = None
    if "period" in data:
        period = data["period"]
        if not isinstance(period, Mapping):
            raise fail("'period' must be a mapping with 'from' and 'to'", "period")
        _no_unknown(period, _PERIOD_KEYS, ("period",), src, lines)
        period_from = _date(period.get("from"), "period.from", src, line("period", "from"))
        period_to = _date(period.get("to"), "period.to", src, line("period", "to"))
        if period_from and period_to and period_to < period_from:
            raise fail("period 'to' is before 'from'", "period", "to")

    envelope = data["envelope"]
    if not isinstance(envelope, Mapping):
        raise fail("'envelope' must be a mapping (national_uah, per_oblast_uah)", "envelope")
    _no_unknown(envelope, _ENVELOPE_KEYS, ("envelope",), src, lines)
    national = None
    if envelope.get("national_uah") is not None:
        national = _money(
            envelope["national_uah"], "envelope.national_uah", src, line("envelope", "national_uah")
        )
    per_oblast: dict[str, float] = {}
    if envelope.get("per_oblast_uah") is not None:
        raw = envelope["per_oblast_uah"]
        if not isinstance(raw, Mapping) or not raw:
            raise fail("'per_oblast_uah' must map oblast codes to amounts", "envelope")
        for code, amount in raw.items():
            where = line("envelope", "per_oblast_uah", code)
            per_oblast[_text(code, "oblast code", src, where)] = _money(
                amount, f"envelope for oblast {code}", src, where
            )
    if national is None and not per_oblast:
        raise fail("the envelope needs 'national_uah' or 'per_oblast_uah'", "envelope")
    if national is not None and per_oblast and sum(per_oblast.values()) > national + 0.005:
        raise fail(
            f"per-oblast envelopes sum to {sum(per_oblast.values()):.2f} UAH, "
            f"more than the national envelope {national:.2f} UAH",
            "envelope",
        )

    claim_column = _text(data.get("claim_column", "claim_uah"), "claim_column", src, line("claim_column"))

    cap_row = None
    cap_service: dict[str, float] = {}
    if data.get("caps") is not None:
        caps = data["caps"]
        if not isinstance(caps, Mapping):
            raise fail("'caps' must be a mapping (per_row_uah, by_service_uah)", "caps")
        _no_unknown(caps, _CAPS_KEYS, ("caps",), src, lines)
        if caps.get("per_row_uah") is not None:
            cap_row = _money(caps["per_row_uah"], "caps.per_row_uah", src, line("caps", "per_row_uah"))
        if caps.get("by_service_uah") is not None:
            raw = caps["by_service_uah"]
            if not isinstance(raw, Mapping):
                raise fail("'by_service_uah' must map service codes to amounts", "caps")
            for code, amount in raw.items():
                where = line("caps", "by_service_uah", code)
                cap_service[_text(code, "service code", src, where)] = _money(
                    amount, f"cap for service {code}", src, where
                )

    floor_share = data.get("floor_share", 0.0)
    if not _is_number(floor_share) or not 0.0 <= float(floor_share) <= 1.0:
        raise fail(f"floor_share must be a number in [0, 1], got {floor_share!r}", "floor_share")

    resolution = data.get("tier_resolution", EXCLUSIVE)
    if resolution not in (EXCLUSIVE, FIRST_MATCH):
        raise fail(
            f"tier_resolution must be '{EXCLUSIVE}' or '{FIRST_MATCH}', got {resolution!r}",
            "tier_resolution",
        )

    tiers = _tiers(data["tiers"], src, lines)

    spread = deviation = None
    if data.get("optimise") is not None:
        opt = data["optimise"]
        if not isinstance(opt, Mapping):
            raise fail("'optimise' must be a mapping", "optimise")
        _no_unknown(opt, _OPTIMISE_KEYS, ("optimise",), src, lines)
        equity = opt.get("equity")
        if equity is not None:
            if not isinstance(equity, Mapping):
                raise fail("'optimise.equity' must be a mapping", "optimise", "equity")
            _no_unknown(equity, _EQUITY_KEYS, ("optimise", "equity"), src, lines)
            for key in _EQUITY_KEYS & set(equity):
                value = equity[key]
                if not _is_number(value) or not 0.0 <= float(value) <= 1.0:
                    raise fail(
                        f"equity {key} must be a coverage difference in [0, 1], got {value!r}",
                        "optimise",
                        "equity",
                        key,
                    )
            spread = float(equity["max_spread"]) if "max_spread" in equity else None
            deviation = float(equity["max_deviation"]) if "max_deviation" in equity else None

    return Policy(
        name=name,
        tiers=tiers,
        national_uah=national,
        per_oblast_uah=per_oblast,
        description=str(data.get("description") or ""),
        reference=None if data.get("reference") is None else str(data["reference"]),
        period_from=period_from,
        period_to=period_to,
        claim_column=claim_column,
        cap_per_row_uah=cap_row,
        cap_by_service_uah=cap_service,
        floor_share=float(floor_share),
        tier_resolution=resolution,
        equity_max_spread=spread,
        equity_max_deviation=deviation,
        source=src,
        lines=dict(lines),
    )


def _tiers(raw: Any, src: Path | None, lines: Lines) -> tuple[Tier, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise ConfigError("'tiers' must be a non-empty list", path=src, line=lines.get(("tiers",)))
    tiers: list[Tier] = []
    names: set[str] = set()
    for i, item in enumerate(raw):
        where = lines.get(("tiers", i))
        if not isinstance(item, Mapping):
            raise ConfigError(f"tier {i + 1} must be a mapping", path=src, line=where)
        _no_unknown(item, _TIER_KEYS, ("tiers", i), src, lines)
        name = _text(item.get("name"), f"tier {i + 1} name", src, where)
        if name in names:
            raise ConfigError(f"duplicate tier name '{name}'", path=src, line=where)
        names.add(name)
        otherwise = item.get("otherwise", False)
        if not isinstance(otherwise, bool):
            raise ConfigError(f"tier '{name}': 'otherwise' must be true or false", path=src, line=where)
        when = item.get("when")
        if otherwise:
            if when is not None:
                raise ConfigError(
                    f"tier '{name}' has both 'when' and 'otherwise'", path=src, line=where
                )
            if i != len(raw) - 1:
                raise ConfigError(
                    f"tier '{name}': only the last tier may be 'otherwise: true'",
                    path=src,
                    line=where,
                )
        else:
            if when is None or not isinstance(when, str) or not when.strip():
                raise ConfigError(
                    f"tier '{name}' is empty: give a predicate in 'when' "
                    "(or 'otherwise: true' on the last tier)",
                    path=src,
                    line=lines.get(("tiers", i, "when"), where),
                )
            try:
                pl.sql_expr(when)
            except Exception as exc:  # polars raises SQLInterfaceError / SQLSyntaxError
                raise ConfigError(
                    f"tier '{name}': cannot parse predicate {when!r}: {exc}",
                    path=src,
                    line=lines.get(("tiers", i, "when"), where),
                ) from exc
        weight = item.get("weight")
        if weight is not None and (not _is_number(weight) or float(weight) <= 0):
            raise ConfigError(
                f"tier '{name}': weight must be a positive number", path=src, line=where
            )
        tiers.append(
            Tier(
                name=name,
                when=None if otherwise else when.strip(),
                otherwise=otherwise,
                weight=None if weight is None else float(weight),
                line=where,
            )
        )
    given = [t.weight is not None for t in tiers]
    if any(given) and not all(given):
        raise ConfigError(
            "give a weight to every tier or to none", path=src, line=lines.get(("tiers",))
        )
    return tuple(tiers)


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
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"{what} must be a date YYYY-MM-DD, got {value!r}", path=src, line=line)

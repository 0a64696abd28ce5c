"""A run's budget envelope: the policy's, an amount sized for one extract, or a share of claims.

An amount in UAH only means something for the extract it was sized for: 26.5 M UAH is about 85% of
the bundled 3,000-recipient sample's claims and 1.3% of a national extract's. So a spec writes

```yaml
envelope: {share_of_claims: 0.85}                             # scales with any extract
envelope: {uah: 26_500_000, for_extract: data_samples/registry}  # this extract only
envelope: policy                                              # the policy's own (the default)
```

and a run on another extract with an amount set for a different one is refused until the operator
passes `--envelope AMOUNT|SHARE%` or confirms with `--confirm-envelope`. The older
`envelope_uah: N` still loads, as an amount sized for the spec's own `extract`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ConfigError

__all__ = [
    "MAX_ENVELOPE_UAH",
    "Envelope",
    "envelope_from_spec",
    "envelope_note",
    "parse_envelope_option",
]

# Ten trillion UAH is about three years of Ukraine's whole state budget: beyond it a number is a typo.
MAX_ENVELOPE_UAH = 1e13
# An envelope below a quarter or above twice the claims is almost always one set for another
# extract (or the national envelope applied to a sample): worth a warning in the run summary.
_LOW_SHARE, _HIGH_SHARE = 0.25, 2.0
_ENVELOPE_KEYS = ("uah", "share_of_claims", "for_extract")
_AMOUNT_TEXT = re.compile(r"^\d+(?:[_,\s]\d{3})*(?:\.\d{1,2})?$")
_SHARE_TEXT = re.compile(r"^(\d+(?:\.\d+)?)\s*%$")


@dataclass(frozen=True)
class Envelope:
    """How the allocate step sets its envelope: an amount in UAH (`uah`), a share of the claims
    (`share_of_claims`), or neither (the policy's envelope). `for_extract` is the extract an amount
    was sized for (None: the operator gave it for this run); `origin` says who set it."""

    uah: float | None = None
    share_of_claims: float | None = None
    for_extract: Path | None = None
    origin: str = "spec"  # "spec" or "--envelope"
    line: int | None = None

    def __post_init__(self) -> None:
        if self.uah is not None and self.share_of_claims is not None:
            raise ValueError("an envelope is an amount or a share of claims, not both")

    @property
    def is_policy(self) -> bool:
        return self.uah is None and self.share_of_claims is None

    def parameters(self) -> dict[str, float] | None:
        """What shapes results (for the run's fingerprint): the amount or the share, else None."""
        if self.uah is not None:
            return {"uah": self.uah}
        if self.share_of_claims is not None:
            return {"share_of_claims": self.share_of_claims}
        return None

    def amount(self, claims_uah: float) -> float | None:
        """The envelope in UAH for claims of `claims_uah` (None: use the policy's)."""
        if self.share_of_claims is not None:
            return round(self.share_of_claims * claims_uah, 2)
        return self.uah


def _amount(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what}: expected an amount in UAH, got {value!r}")
    if not 0 <= value <= MAX_ENVELOPE_UAH:
        raise ValueError(
            f"{what}: expected an amount from 0 to {MAX_ENVELOPE_UAH:g} UAH, got {value}"
        )
    return float(value)


def _share(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what}: expected a share of claims above 0 and up to 1, got {value!r}")
    if not 0 < value <= 1:
        raise ValueError(f"{what}: expected a share of claims above 0 and up to 1, got {value}")
    return float(value)


def envelope_from_spec(
    data: Mapping[str, Any],
    lines: Mapping[Any, int],
    *,
    extract: Path,
    resolve: Callable[[str], Path],
    path: Path,
) -> Envelope:
    """The envelope a spec states (`envelope:`, or the older `envelope_uah:`), checked.

    `extract` is the spec's own extract (what an amount without `for_extract` was sized for) and
    `resolve` turns a path written in the spec into an absolute one.
    """
    if "envelope" in data and "envelope_uah" in data:
        raise ConfigError(
            "give 'envelope' or the older 'envelope_uah', not both",
            path=path,
            line=lines.get("envelope_uah"),
        )
    if "envelope_uah" in data:
        line = lines.get("envelope_uah")
        if data["envelope_uah"] is None:
            return Envelope(line=line)
        try:
            uah = _amount(data["envelope_uah"], "envelope_uah")
        except ValueError as exc:
            raise ConfigError(str(exc), path=path, line=line) from None
        return Envelope(uah=uah, for_extract=extract, line=line)
    raw, line = data.get("envelope"), lines.get("envelope")
    if raw is None or raw == "policy":
        return Envelope(line=line)
    if not isinstance(raw, Mapping):
        raise ConfigError(
            "envelope: expected 'policy', {share_of_claims: SHARE} or "
            f"{{uah: AMOUNT, for_extract: FOLDER}}, got {raw!r}",
            path=path,
            line=line,
        )
    inner: Mapping[Any, int] = getattr(raw, "lines", {})
    for key in raw:
        if key not in _ENVELOPE_KEYS:
            raise ConfigError(
                f"unknown key '{key}' in envelope; known keys: {', '.join(_ENVELOPE_KEYS)}",
                path=path,
                line=inner.get(key, line),
            )
    try:
        return _envelope_mapping(raw, inner, line, extract=extract, resolve=resolve)
    except ValueError as exc:
        raise ConfigError(str(exc), path=path, line=line) from None


def _envelope_mapping(
    raw: Mapping[str, Any],
    inner: Mapping[Any, int],
    line: int | None,
    *,
    extract: Path,
    resolve: Callable[[str], Path],
) -> Envelope:
    if ("uah" in raw) == ("share_of_claims" in raw):
        raise ValueError("envelope: give either 'uah' or 'share_of_claims'")
    if "share_of_claims" in raw:
        if "for_extract" in raw:
            raise ValueError("envelope: 'for_extract' goes with an amount ('uah'), not a share")
        share = _share(raw["share_of_claims"], "envelope.share_of_claims")
        return Envelope(share_of_claims=share, line=inner.get("share_of_claims", line))
    uah = _amount(raw["uah"], "envelope.uah")
    written = raw.get("for_extract")
    if written is None:  # an amount is always sized for some extract: by default the spec's own
        return Envelope(uah=uah, for_extract=extract, line=inner.get("uah", line))
    if not isinstance(written, str) or not written.strip():
        raise ValueError(f"envelope.for_extract: expected a folder, got {written!r}")
    return Envelope(uah=uah, for_extract=resolve(written.strip()), line=inner.get("uah", line))


def parse_envelope_option(text: str) -> Envelope:
    """`--envelope`: an amount in UAH (`26500000`, `26_500_000`, `26,500,000`), a share of the
    claims (`85%`) or `policy`. A bad value blames the option, never a file.

    >>> parse_envelope_option("85%").share_of_claims
    0.85
    >>> parse_envelope_option("26_500_000").uah
    26500000.0
    """
    value = text.strip()
    if value.lower() == "policy":
        return Envelope(origin="--envelope")
    found = _SHARE_TEXT.match(value)
    try:
        if found:
            share = _share(float(found.group(1)) / 100, "--envelope")
            return Envelope(share_of_claims=share, origin="--envelope")
        if _AMOUNT_TEXT.match(value):
            uah = _amount(float(re.sub(r"[_,\s]", "", value)), "--envelope")
            return Envelope(uah=uah, origin="--envelope")
    except ValueError as exc:
        raise ConfigError(f"{exc} (as in --envelope 26500000 or --envelope 85%)") from None
    raise ConfigError(
        "--envelope: expected an amount in UAH (26500000), a share of the claims (85%) or "
        f"'policy', got '{text}'"
    )


def envelope_note(
    envelope: Envelope,
    *,
    envelope_uah: float,
    claims_uah: float,
    confirmed: bool,
    extract: str | None,
    sized_for: str | None,
    money: Callable[[float], str],
) -> tuple[str, ...]:
    """The run summary's statement of envelope against claims, and a warning when they are far
    apart (the mark of an envelope set for another extract)."""
    if envelope.share_of_claims is not None and envelope.origin == "--envelope":
        how = f"--envelope {envelope.share_of_claims * 100:.4g}%"
    elif envelope.share_of_claims is not None:
        how = f"the spec's share_of_claims {envelope.share_of_claims:g}"
    elif envelope.uah is not None and envelope.origin == "--envelope":
        how = "given with --envelope"
    elif envelope.uah is not None:
        how = f"set in the spec for {sized_for}"
        if confirmed and sized_for != extract:
            how += f", confirmed for {extract} with --confirm-envelope"
    else:
        how = "the policy's envelope"
    share = envelope_uah / claims_uah if claims_uah > 0 else None
    shown = "n/a" if share is None else f"{share:.1%}"
    notes = [
        f"Envelope {money(envelope_uah)} against claims of {money(claims_uah)}: "
        f"{shown} of claims ({how})."
    ]
    if share is not None and not _LOW_SHARE <= share <= _HIGH_SHARE:
        notes.append(
            f"Allocation warning: the envelope is {shown} of this extract's claims; was it sized "
            "for another extract? Set it with --envelope AMOUNT or --envelope SHARE%."
        )
    return tuple(notes)

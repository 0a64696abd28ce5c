"""How a cached node's value goes into the step cache and comes back: frames plus JSON facts.

A node may be cached (`cache=True`) when its result type has a codec here: a `StepOutput`, a polars
frame, the validated `Registry`, a date, or any class with `to_cache()` and a `from_cache(frames, meta)`
class method (the pipeline's own small result types).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl

from engine.errors import EngineError
from engine.pipeline._step import StepOutput
from engine.schemas import REGISTRY_TABLES, Registry

__all__ = ["cacheable", "decode", "encode"]

_Frames = dict[str, pl.DataFrame]
_Cached = tuple[_Frames, dict[str, Any]]


def _registry_out(registry: Registry) -> _Cached:
    frames = {name: registry.table(name) for name in REGISTRY_TABLES}
    frames["quarantine"] = registry.quarantine
    frames["warnings"] = registry.warnings
    meta = {
        "extract_date": registry.extract_date.isoformat(),
        "rows_read": {k: int(v) for k, v in registry.rows_read.items()},
    }
    return frames, meta


def _registry_in(frames: _Frames, meta: dict[str, Any]) -> Registry:
    return Registry(
        **{name: frames[name] for name in REGISTRY_TABLES},
        extract_date=dt.date.fromisoformat(meta["extract_date"]),
        quarantine=frames["quarantine"],
        rows_read=dict(meta["rows_read"]),
        warnings=frames["warnings"],
    )


_CODECS: dict[str, tuple[Callable[[Any], _Cached], Callable[[_Frames, dict[str, Any]], Any]]] = {
    "StepOutput": (lambda out: (dict(out.frames), out._cache_meta()), StepOutput._from_cache),
    "pl.DataFrame": (lambda frame: ({"frame": frame}, {}), lambda frames, _: frames["frame"]),
    "Registry": (_registry_out, _registry_in),
    "dt.date": (
        lambda day: ({}, {"date": day.isoformat()}),
        lambda _, meta: dt.date.fromisoformat(meta["date"]),
    ),
}


def cacheable(cls: type) -> type:
    """Class decorator: the class's `to_cache()` and `from_cache(frames, meta)` are its codec."""
    _CODECS[cls.__name__] = (lambda value: value.to_cache(), cls.from_cache)  # type: ignore[attr-defined]
    return cls


def encode(value: Any) -> _Cached:
    """A node's value as frames and JSON-ready facts, for the step cache."""
    if isinstance(value, StepOutput):
        return _CODECS["StepOutput"][0](value)
    if isinstance(value, pl.DataFrame):
        return _CODECS["pl.DataFrame"][0](value)
    if isinstance(value, Registry):
        return _registry_out(value)
    if isinstance(value, dt.date):
        return _CODECS["dt.date"][0](value)
    to_cache = getattr(value, "to_cache", None)
    if to_cache is None:
        raise EngineError(f"a {type(value).__name__} cannot be kept in the step cache")
    frames, meta = to_cache()
    return dict(frames), dict(meta)


def decode(returns: str, frames: _Frames, meta: dict[str, Any]) -> Any:
    """A cached value back, by the node's declared result type."""
    if returns not in _CODECS:
        raise EngineError(f"no way to read a cached {returns or 'value'} back")
    return _CODECS[returns][1](frames, meta)

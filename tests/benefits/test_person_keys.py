"""The keyed pseudonym of a РНОКПП: a real HMAC-SHA256, the same value as before and as the
registry's pseudonymisation gives, computed all at once (DuckDB's sha256 on the RFC 2104
construction) rather than by a loop per value."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import polars as pl
import pytest

from engine.benefits._read import PersonKeys, hash_person_keys, hmac_sha256_hex
from engine.registry._privacy import _hmac_mapping

KEYS = [
    b"k",
    b"the operator's key",
    "ключ оператора".encode(),
    b"x" * 64,  # exactly one block
    b"y" * 65,  # longer than a block: hashed first
    bytes(range(200)),
]


def _reference(key: bytes, value: str | None) -> str | None:
    """The pseudonym as it was computed before: hmac.digest per value, spaces removed."""
    if value is None:
        return None
    digits = "".join(value.split()).replace("\u00a0", "")
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return None
    return hmac.digest(key, digits.encode(), hashlib.sha256).hex()


@pytest.mark.parametrize("key", KEYS, ids=range(len(KEYS)))
def test_the_pseudonym_is_the_hmac_of_the_ten_digits(key: bytes) -> None:
    rng = np.random.default_rng(len(key))
    values = [f"{v:010d}" for v in rng.integers(0, 10**10, 5_000)]
    values += ["0000000000", "9999999999", "0123456789", " 01234 56789", "0123\u00a0456789"]
    values += ["123456789", "12345678901", "+123456789", "-123456789", "12345abcde", "", None]
    values += ["٠١٢٣٤٥٦٧٨٩"]  # Arabic-Indic digits: no РНОКПП
    hashed = hash_person_keys(pl.Series(values, dtype=pl.String), key)
    assert hashed.to_list() == [_reference(key, v) for v in values]
    assert hashed.null_count() == 8


def test_duckdb_hmac_equals_the_standard_library() -> None:
    key = b"the operator's key"
    digits = pl.Series(np.random.default_rng(1).integers(0, 10**10, 20_000)).unique()
    frame = hmac_sha256_hex(key, digits)
    expected = {
        d: hmac.new(key, f"{d:010d}".encode(), hashlib.sha256).hexdigest() for d in frame["digits"]
    }
    assert frame.height == digits.len()
    assert dict(zip(frame["digits"], frame["hash"], strict=True)) == expected


def test_the_registry_and_the_benefits_extract_get_the_same_pseudonym() -> None:
    key = b"shared key"
    registry_values = pl.Series(["3607660428", "3179222633", None, "bad"])
    benefit_values = pl.Series(["3179222633", "3179222633", "3607660428", "1111111111"])
    keys = PersonKeys(key)
    registry_codes = keys.codes(registry_values)
    benefit_codes = keys.codes(benefit_values)
    assert registry_codes.to_list()[:2] == [benefit_codes[2], benefit_codes[0]]
    assert benefit_codes[0] == benefit_codes[1]
    assert registry_codes.null_count() == 2
    # the numbers stand for the pseudonyms: the same as hashing with another instance
    assert keys.hashes.gather(benefit_codes).to_list() == (
        PersonKeys(key).hash(benefit_values).to_list()
    )
    # and the registry's own pseudonymisation of a value hashes it the same way
    mapping = _hmac_mapping(pl.Series(["3607660428"]), key)
    assert mapping["hash"][0] == keys.hash(pl.Series(["3607660428"]))[0]


def test_integer_columns_are_read_as_their_text() -> None:
    key = b"k"
    hashed = hash_person_keys(pl.Series([3607660428, 123456789], dtype=pl.Int64), key)
    assert hashed.to_list() == [_reference(key, "3607660428"), None]  # a lost leading zero

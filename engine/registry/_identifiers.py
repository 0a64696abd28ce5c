"""What a personal identifier looks like inside a value, as vectorised polars expressions.

Registries hold identifiers where no column name says so: a phone typed into a provider's name, a
passport number in a service name, a tax number used as an id, a name shifted into a number column.
These patterns find them in any text column (Rust regexes, no Python per row):

- РНОКПП: 10 digits, optionally split by spaces (`3123456789`, `31234 56789`);
- phone: Ukrainian numbers in the usual hand-typed forms (`+380957454617`, `+38 (066) 496-62-56`,
  `+38-066-496-62-56`, `+380 66 496 62 56`, `0957454617`);
- passport: the old booklet (two letters and six digits, `ВА338887`, `ва338887`, Cyrillic or Latin
  look-alikes) and the ID card (nine digits standing alone, not part of an amount `123456789.00`);
- e-mail addresses;
- a person's name, in a quarantined value: a value that is, or starts with, two or three
  capitalised words (`Поліщук Іван Юрійович`, `Поліщук-Бойко Іван`, `Поліщук Іван 1985`), or is a
  surname with initials (`Ткаченко І.А.`, `I.B. Ivanenko`).

A match is replaced by a label that says what was there (`<redacted: phone>`) and holds none of its
characters. Digit runs are bounded by a character that is neither a digit nor a letter, so codes
with a prefix (`C000000001`), KATOTTG codes (`UA` + 17 digits), 8-digit ЄДРПОУ, service codes
(`015.1`), dates and amounts are left alone.
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "NAME_LABEL",
    "RNOKPP_LABEL",
    "contains_identifier",
    "is_individual_provider",
    "is_person_name",
    "is_phone",
    "is_rnokpp",
    "mask_identifiers",
    "mask_value",
]

RNOKPP_LABEL = "<redacted: 10-digit number>"
NAME_LABEL = "<redacted: personal name>"

# a space (also non-breaking) between digits; not a dash, which would take "2023-01-01 00:00"
_SEP = r"[ \u00a0\u202f]"
_BEFORE = r"(^|[^\p{L}\d])"  # group 1: start, or a character that continues no code
_AFTER = r"($|[^\p{L}\d])"  # group 3
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_DASH = r"[ \u00a0-]"
# the +38 may be followed by a dash ("+38-066-...") or split the trunk 0 from the code ("+380 66")
_PHONE = (
    rf"(?:\+?\s*3\s*8{_DASH}*(?:\(\s*0\s*\d{{2}}\s*\)|0{_DASH}?\d{{2}})|\(\s*0\d{{2}}\s*\)|0\d{{2}})"
    rf"{_DASH}*\d{{3}}{_DASH}*\d{{2}}{_DASH}*\d{{2}}"
)
_RNOKPP = rf"\d(?:{_SEP}?\d){{9}}"
# capitals may be spaced from the digits ("ВА № 338887"); other cases only touching them or with a
# "№", so "до 123456" (up to an amount) is not taken for a series
_BOOKLET = r"(?:[A-ZА-ЯІЇЄҐ]{2}\s?№?\s?|(?i:[a-zа-яіїєґ]{2})(?:\s?№\s?)?)\d{6}"
_ID_CARD = r"\d{9}"
# An ID card's nine digits next to a decimal mark and more digits are an amount ("123456789.00",
# "1.123456789"); a full stop or comma that ends a sentence still bounds it.
_ID_BEFORE = r"(^|[^\p{L}\d.,]|(?:^|[^\d])[.,])"
_ID_AFTER = r"($|[^\p{L}\d.,]|[.,](?:$|[^\d]))"
# (pattern, label, before, after), most specific first: a phone without its +38 is ten digits too
_PATTERNS: tuple[tuple[str, str, str, str], ...] = (
    (_PHONE, "<redacted: phone>", _BEFORE, _AFTER),
    (_RNOKPP, RNOKPP_LABEL, _BEFORE, _AFTER),
    (_BOOKLET, "<redacted: passport>", _BEFORE, _AFTER),
    (_ID_CARD, "<redacted: passport>", _ID_BEFORE, _ID_AFTER),
)
_ANY = "|".join(f"(?:{before}(?:{p}){after})" for p, _, before, after in _PATTERNS)

# a double-barrelled surname is one word ("Поліщук-Бойко")
_WORD = r"\p{Lu}[\p{Ll}'’ʼ]+(?:-\p{Lu}?[\p{Ll}'’ʼ]+)*"
_INITIALS = r"\p{Lu}\.\s?(?:\p{Lu}\.)?"
_INITIALLED = rf"{_WORD}\s+{_INITIALS}|{_INITIALS}\s?{_WORD}"
_PERSON = rf"^\s*(?:{_INITIALLED})\s*$"
# a quarantined value that starts with a name and goes on ("Поліщук Іван 1985", "Поліщук Іван, м.
# Київ") is as telling as the name alone
_NAMED = rf"^\s*{_WORD}(?:\s+{_WORD}){{1,2}}(?:$|[^\p{{L}}])"
# ФОП and the ways it is spelled, transliterated or abbreviated (СПД: the older term, ИП: Russian);
# "PE" (private entrepreneur) only as a capitalised first word, so "Pension" is not caught
_INDIVIDUAL = (
    r"(?i:\b(?:фоп|фо-п|fop|спд|спдфо|фізична\s+особа\s*[-–—]?\s*підприємець|підприємець"
    r"|fizychna\s+osoba|pidpryiemets|private\s+entrepreneur|физическое\s+лицо|предприниматель"
    r"|ип)\b"
    # dotted forms end in a "." that no \b follows before a space
    r"|(?:^|[^\p{L}])(?:f\.\s?o\.\s?p|ф\.\s?о\.\s?п)\.?(?:$|[^\p{L}]))"
    r"|^\s*PE\s+\p{Lu}"
    rf"|^\s*(?:{_INITIALLED})\s*$"
)


def is_rnokpp(value: pl.Expr) -> pl.Expr:
    """The whole value is a 10-digit number (spaces allowed): an РНОКПП used as an id."""
    return value.cast(pl.String).str.contains(rf"^\s*\+?{_RNOKPP}\s*$")


def is_phone(value: pl.Expr) -> pl.Expr:
    """The whole value is a phone number (`+38 095 745 46 17`): a person's number used as an id."""
    return value.cast(pl.String).str.contains(rf"^\s*(?:{_PHONE})\s*$")


def contains_identifier(text: pl.Expr) -> pl.Expr:
    """The text holds an РНОКПП, phone, passport number or e-mail address somewhere."""
    return text.str.contains(_ANY) | text.str.contains(_EMAIL)


def mask_identifiers(text: pl.Expr) -> pl.Expr:
    """`text` with every РНОКПП, phone, passport number and e-mail address replaced by a label."""
    text = text.str.replace_all(_EMAIL, "<redacted: e-mail>")
    for pattern, label, before, after in _PATTERNS:
        # twice: the boundary a match consumes cannot start the next one ("1234567890 1234567890")
        for _ in range(2):
            text = text.str.replace_all(f"{before}({pattern}){after}", f"${{1}}{label}${{3}}")
    return text


def is_person_name(text: pl.Expr) -> pl.Expr:
    """The value is a person's name (2–3 capitalised words, or a surname and initials), or starts
    with 2–3 capitalised words followed by other text (`Поліщук Іван 1985`)."""
    return text.str.contains(_PERSON) | text.str.contains(_NAMED)


def is_individual_provider(name: pl.Expr) -> pl.Expr:
    """A provider name that names an individual entrepreneur (ФОП, FOP, PE, ...) or is a surname
    with initials. Two capitalised words alone are not enough here: "Карітас Україна" is a charity."""
    return name.str.contains(_INDIVIDUAL)


def mask_value(text: pl.Expr) -> pl.Expr:
    """A value as the quarantine may show it: identifiers masked, a person's name replaced."""
    return pl.when(is_person_name(text)).then(pl.lit(NAME_LABEL)).otherwise(mask_identifiers(text))

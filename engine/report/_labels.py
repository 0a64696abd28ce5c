"""Names and places for the figures: Ukrainian names of territories and services, the tile grid.

Figures label territories and services with their names from the reference tables
(`engine.reference`) in the output's language: Ukrainian, or English (`oblast_name_en`, `name_en`,
and hromada names in the official Latin transliteration); where a code is missing from them the
code itself is shown, never dropped.
"""

from __future__ import annotations

import re

import polars as pl

from engine.report._text import DEFAULT_LANG

__all__ = [
    "REGION_TILES",
    "hromada_labels",
    "oblast_labels",
    "region_key",
    "service_labels",
    "tier_label",
    "transliterate",
]

# Where each of the 27 top-level units sits on a 5 × 8 grid that approximates the map of Ukraine
# (row 0 = north, column 0 = west), keyed by the two-digit region number of its KATOTTG code
# (UA05… = Vinnytsia). Zakarpattia is bottom-left of the west, Luhansk the far east, Crimea south.
REGION_TILES: dict[str, tuple[int, int]] = {
    "07": (0, 1),  # Волинська
    "56": (0, 2),  # Рівненська
    "18": (0, 3),  # Житомирська
    "32": (0, 4),  # Київська
    "74": (0, 5),  # Чернігівська
    "59": (0, 6),  # Сумська
    "46": (1, 0),  # Львівська
    "61": (1, 1),  # Тернопільська
    "68": (1, 2),  # Хмельницька
    "05": (1, 3),  # Вінницька
    "80": (1, 4),  # Київ
    "53": (1, 5),  # Полтавська
    "63": (1, 6),  # Харківська
    "44": (1, 7),  # Луганська
    "21": (2, 0),  # Закарпатська
    "26": (2, 1),  # Івано-Франківська
    "73": (2, 2),  # Чернівецька
    "51": (2, 3),  # Одеська
    "71": (2, 4),  # Черкаська
    "35": (2, 5),  # Кіровоградська
    "12": (2, 6),  # Дніпропетровська
    "14": (2, 7),  # Донецька
    "48": (3, 4),  # Миколаївська
    "65": (3, 5),  # Херсонська
    "23": (3, 6),  # Запорізька
    "85": (4, 4),  # Севастополь
    "01": (4, 5),  # Автономна Республіка Крим
}


def region_key(code: str) -> str:
    """The two-digit region number of a KATOTTG code: 'UA05020010000098754' -> '05'."""
    return code[2:4]


def _labels(frame: pl.DataFrame | None, code: str, name: str) -> dict[str, str]:
    if frame is None or code not in frame.columns or name not in frame.columns:
        return {}
    pairs = frame.select(code, name).unique(code).drop_nulls()
    return dict(zip(pairs[code].to_list(), pairs[name].to_list(), strict=True))


def oblast_labels(territories: pl.DataFrame | None, lang: str = DEFAULT_LANG) -> dict[str, str]:
    """oblast_code -> name, from `engine.reference.load_territories()` (Ukrainian or English)."""
    if lang == "en" and territories is not None and "oblast_name_en" in territories.columns:
        return _labels(territories, "oblast_code", "oblast_name_en")
    names = _labels(territories, "oblast_code", "oblast_name")
    return names if lang == "uk" else {c: transliterate(n) for c, n in names.items()}


def hromada_labels(territories: pl.DataFrame | None, lang: str = DEFAULT_LANG) -> dict[str, str]:
    """hromada_code -> name, from `engine.reference.load_territories()`; in English the official
    transliteration of the Ukrainian name (the reference has no English hromada names)."""
    names = _labels(territories, "hromada_code", "hromada_name")
    return names if lang == "uk" else {c: transliterate(n) for c, n in names.items()}


def service_labels(services: pl.DataFrame | None, lang: str = DEFAULT_LANG) -> dict[str, str]:
    """service_code -> 'code name', from `engine.reference.load_services()`."""
    column = "name_en" if lang == "en" and services is not None and "name_en" in services else None
    names = _labels(services, "service_code", column or "name_uk")
    return {c: f"{c} {n}" for c, n in names.items()}


# The official transliteration of Ukrainian (Cabinet of Ministers resolution No. 55, 27.01.2010)
_LATIN = dict(
    zip(
        "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя'’",
        [
            "a",
            "b",
            "v",
            "h",
            "g",
            "d",
            "e",
            "ie",
            "zh",
            "z",
            "y",
            "i",
            "i",
            "i",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "_",
            "iu",
            "ia",
            "_",
            "_",
        ],
        strict=True,
    )
)
_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}


def transliterate(name: str) -> str:
    """A Ukrainian name in Latin letters, the official way: 'Житомирська' -> 'Zhytomyrska'.

    >>> transliterate("Ярмолинецька"), transliterate("Згурівська")
    ('Yarmolynetska', 'Zghurivska')
    """
    out: list[str] = []
    previous = " "
    for ch in name:
        low = ch.lower()
        if low not in _LATIN:
            out.append(ch)
        else:
            start = not previous.isalpha() and previous not in "'’"
            latin = _INITIAL[low] if start and low in _INITIAL else _LATIN[low]
            if low == "г" and previous.lower() == "з":
                latin = "gh"  # зг -> zgh, so it is not read as ж
            latin = "" if latin == "_" else latin
            out.append(latin.capitalize() if ch.isupper() else latin)
        previous = ch
    return "".join(out)


_TIER_WORDS = (
    (re.compile(r"^need level (\d)$"), "рівень потреби {0}"),
    (re.compile(r"^everyone else$"), "усі інші"),
    (re.compile(r"^children and (?:disability )?group I$"), "діти та I група"),
    (re.compile(r"^internally displaced persons$"), "ВПО"),
    (re.compile(r"^national$"), "загальнодержавний"),
    (re.compile(r"^other oblasts$"), "інші області"),
)


def tier_label(name: str, lang: str = DEFAULT_LANG) -> str:
    """A policy's tier or envelope-group name in the output's language: the policy files name
    them in English ('need level 3'); the common names are given in Ukrainian, others kept.

    >>> tier_label("need level 3", "uk"), tier_label("need level 3", "en")
    ('рівень потреби 3', 'need level 3')
    """
    if lang != "uk":
        return name
    for pattern, words in _TIER_WORDS:
        found = pattern.match(name)
        if found:
            return words.format(*found.groups())
    return name

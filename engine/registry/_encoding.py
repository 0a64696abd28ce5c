"""Decode a CSV file once, to UTF-8 bytes for polars, and refuse a decoding that yields nonsense.

UTF-8 (with or without BOM) and UTF-16 with a BOM are recognised by their bytes. A file that is not
UTF-8 is in one of the single-byte Cyrillic code pages: CP1251 (Windows, what Excel writes) or
KOI8-U (older Unix systems). Both decode almost any byte string, so the choice is made on the text:
a sample (never the whole file) is decoded each way and scored for how Ukrainian it reads (vowel
share, letters outside the Ukrainian alphabet, a capital right after a small letter inside a word).
The better reading is used; when neither reads as Ukrainian the file stops with one line naming the
encodings tried, rather than garbage provider names flowing on with exit 0.

A file of mixed encodings (a UTF-8 line pasted into a CP1251 export) is a file-level error naming
the first such line: the encoding is a property of the file, a file stitched from two sources is
an export to redo (a quarantine row per line would hide a systematic fault and drop rows whose text
is fine), and decoding it line by line would be guessing.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from engine.errors import InputFileError

__all__ = ["SINGLE_BYTE_ENCODINGS", "decode_to_utf8"]

# Tried in this order when a file is not UTF-8; the first wins a tie (CP1251 is far more common).
SINGLE_BYTE_ENCODINGS = ("cp1251", "koi8_u")
_NAMES = {"cp1251": "CP1251", "koi8_u": "KOI8-U"}
_TRIED = "UTF-8, UTF-8 with BOM, UTF-16 with BOM, " + ", ".join(_NAMES.values())
_SAMPLE_BYTES = 64 * 1024
_MIN_PAIRS = 30  # fewer letter pairs than this (in words of 4+ letters) say nothing
_UK_LOWER = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя"
_UK_UPPER = _UK_LOWER.upper()
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_UKRAINIAN = re.compile(f"[{_UK_LOWER}{_UK_UPPER}]")
_CASE_FLIP = re.compile(f"[{_UK_LOWER}][{_UK_UPPER}]")
_WORD = re.compile(r"[\u0400-\u04ff]{4,}")  # shorter words are abbreviations, numerals, так/ні
# About a hundred of the commonest Ukrainian letter pairs: they make about half of the pairs of
# real text (names, provider and service names) and a tenth of a wrong code page's random pairs.
_COMMON_PAIRS = frozenset(
    """на ні ко по ра ст но пр ти го ов ен ро ан ва ни ла ль ть ог ор ер ат ал ві ка ли ре ин ит
    ся да те ом ід ня ою ки ій ий ем ми ці ди во за ло ма ме об ок он ос от ри рі се сь та ту чи
    ну ук ус ру ду зн ає не ле ве де же ви ак ця ьк ьн ує іс ін ія із ис нн тр ик ич ів ої ьс ск
    ку лі ді ті сі мі кі ії ах их ям ам аг ар ет ес ел ол ої ар як ящ ще ще ща ін юр ул ун""".split()  # noqa: SIM905 - a list literal of 120 pairs reads worse
)
_MIN_COMMON_SHARE = 0.25
_MAX_CASE_FLIP_SHARE = 0.02  # a capital right after a small letter, per letter
_MAX_FOREIGN_SHARE = 0.08  # ё ъ ы э and Serbian/Macedonian letters: some Russian text is fine


def decode_to_utf8(data: bytes, file: Path) -> bytes:
    """Decode once and hand polars UTF-8 bytes; name the line and byte of anything undecodable."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        _strict_decode(data, "utf-8", file)
        return data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict_decode(data, "utf-16", file).encode("utf-8")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputFileError(
            f"byte {nul} is NUL: not a text file (or UTF-16 without a byte-order mark)",
            path=file,
            line=data.count(b"\n", 0, nul) + 1,
        )
    if data.isascii():  # most of an extract's bytes (ids, codes, dates): valid UTF-8 as they are
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raw = np.frombuffer(data, dtype=np.uint8)
        if _mostly_utf8(raw):  # a UTF-8 file with a corrupt byte (or a line in another encoding)
            raise _undecodable(file, data, exc.start, "utf-8") from None
        _refuse_utf8_lines(data, raw, file)  # first: a UTF-8 line's mojibake spoils the scores
        encoding = _single_byte_encoding(data, raw, file)
        return _strict_decode(data, encoding, file).encode("utf-8")
    return data


def _mostly_utf8(raw: np.ndarray) -> bool:
    """True when most non-ASCII bytes form UTF-8 sequences (lead byte + continuation byte).

    In UTF-8 Ukrainian nearly every non-ASCII byte does; in CP1251 only the rare pairs where a
    capital letter meets і, ї, є or ґ do.
    """
    high = int(np.count_nonzero(raw >= 0x80))
    lead = (raw[:-1] >= 0xC2) & (raw[:-1] <= 0xF4)
    continuation = (raw[1:] >= 0x80) & (raw[1:] <= 0xBF)
    return high > 0 and 2 * int(np.count_nonzero(lead & continuation)) > high // 2


def _single_byte_encoding(data: bytes, raw: np.ndarray, file: Path) -> str:
    """The code page whose reading of a sample is most plausibly Ukrainian; refuse if none is."""
    sample = _sample(data, raw)
    scores = {e: _reading_score(sample.decode(e, errors="replace")) for e in SINGLE_BYTE_ENCODINGS}
    judged = {e: s for e, s in scores.items() if s is not None}
    # Too little text to tell is judged on the file's own non-ASCII bytes, not on a candidate's
    # letters: a DOS code page read as CP1251 yields few "letters" and must not pass for that.
    non_ascii = int(np.count_nonzero(np.frombuffer(sample, dtype=np.uint8) >= 0x80))
    if not judged and non_ascii < 2 * _MIN_PAIRS:  # a few Cyrillic bytes: the common code page
        return SINGLE_BYTE_ENCODINGS[0]
    plausible = {e: s for e, s in judged.items() if s > 0}
    if not plausible:
        raise InputFileError(
            "text does not read as Ukrainian in any supported encoding "
            f"(tried {_TRIED}); re-save the file as UTF-8",
            path=file,
        )
    return max(plausible, key=lambda e: plausible[e])  # max keeps the first of a tie


def _sample(data: bytes, raw: np.ndarray) -> bytes:
    """The first 64 KB, or 64 KB from the first non-ASCII byte when the file starts in ASCII."""
    head = data[:_SAMPLE_BYTES]
    high = np.flatnonzero(raw[:_SAMPLE_BYTES] >= 0x80)
    if high.size >= 4 * _MIN_PAIRS:
        return head
    later = np.flatnonzero(raw >= 0x80)
    start = int(later[0]) if later.size else 0
    start = data.rfind(b"\n", 0, start) + 1  # whole lines: a multi-byte guess never starts mid-word
    return data[start : start + _SAMPLE_BYTES]


def _reading_score(text: str) -> float | None:
    """How Ukrainian `text` reads: the share of common letter pairs, 0 when implausible, None when
    it holds too few words to tell.

    A reading is implausible when its letter pairs are rarely common ones, when a capital often
    follows a small letter inside a word, or when many letters lie outside the Ukrainian alphabet.
    Bytes a code page does not define are left to the strict decode, which names their line.
    """
    pairs = [w[i : i + 2] for w in _WORD.findall(text.lower()) for i in range(len(w) - 1)]
    if len(pairs) < _MIN_PAIRS:
        return None
    letters = len(_CYRILLIC.findall(text))
    common = sum(p in _COMMON_PAIRS for p in pairs) / len(pairs)
    flips = len(_CASE_FLIP.findall(text)) / letters
    foreign = 1 - len(_UKRAINIAN.findall(text)) / letters
    if common < _MIN_COMMON_SHARE or flips > _MAX_CASE_FLIP_SHARE or foreign > _MAX_FOREIGN_SHARE:
        return 0.0
    return common


def _refuse_utf8_lines(data: bytes, raw: np.ndarray, file: Path) -> None:
    """Stop on a line that is UTF-8 in a file read as a single-byte code page.

    A UTF-8 Cyrillic word is a run of two-byte sequences (lead C2-DF, continuation 80-BF), and
    punctuation such as ’ or № a three-byte one. In CP1251 or KOI8-U text two such pairs in a row
    are all but impossible, so the few candidate lines are checked by decoding them as UTF-8: a
    line of a single-byte file that decodes as UTF-8 with non-ASCII text is a UTF-8 line.
    """
    if raw.size < 4:
        return
    lead2 = (raw >= 0xC2) & (raw <= 0xDF)
    lead3 = (raw >= 0xE0) & (raw <= 0xEF)
    cont = (raw >= 0x80) & (raw <= 0xBF)
    pair = np.zeros(raw.size, dtype=bool)
    pair[:-1] = lead2[:-1] & cont[1:]
    triple = np.zeros(raw.size, dtype=bool)
    triple[:-2] = lead3[:-2] & cont[1:-1] & cont[2:]
    candidates = np.flatnonzero(np.concatenate([pair[:-2] & pair[2:], [False, False]]) | triple)
    if candidates.size == 0:
        return
    newlines = np.flatnonzero(raw == 0x0A)
    lines = np.unique(np.searchsorted(newlines, candidates))  # 0-based line of each candidate
    starts = np.concatenate([[0], newlines + 1])
    ends = np.concatenate([newlines, [raw.size]])
    utf8 = [int(i) + 1 for i in lines if _is_utf8_text(data[starts[i] : ends[i]])]
    if utf8:
        more = f" (and {len(utf8) - 1} more lines)" if len(utf8) > 1 else ""
        raise InputFileError(
            f"this line is UTF-8{more} but the rest of the file is not (CP1251 or KOI8-U): mixed "
            "encodings; re-save the whole file in one encoding (UTF-8)",
            path=file,
            line=utf8[0],
        )


def _is_utf8_text(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True  # candidates hold non-ASCII bytes by construction


def _strict_decode(data: bytes, encoding: str, file: Path) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _undecodable(file, data, exc.start, encoding) from None


def _undecodable(file: Path, data: bytes, position: int, encoding: str) -> InputFileError:
    line = data.count(b"\n", 0, position) + 1
    return InputFileError(
        f"undecodable byte 0x{data[position]:02x} at byte offset {position} "
        f"(read as {encoding}; expected UTF-8, UTF-8 with BOM, CP1251 or KOI8-U)",
        path=file,
        line=line,
    )

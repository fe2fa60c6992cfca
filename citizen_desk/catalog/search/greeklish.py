"""Greeklish: Greek typed in Latin letters, matched through a phonetic skeleton.

People type ``pistopoiitiko``, ``pistopoihtiko`` or ``pistopoiitikó`` for
«πιστοποιητικό», ``vevaiosi`` or ``bebaiwsh`` for «βεβαίωση», ``8eorhsh`` for
«θεώρηση» and ``amka`` for «ΑΜΚΑ». ``skeleton`` turns a folded word, Greek or
Latin, into one canonical spelling of how it sounds, so that all of these
meet: a Greek word and every usual Latin spelling of it give the same
skeleton (``πιστοποιητικο`` and ``pistopoihtiko`` → ``pistopitiko``).

The skeleton is lossy on purpose: the sounds Greek spells several ways
become one letter (η, ι, υ, ει, οι, υι → ``i``; ο, ω → ``o``; ε, αι → ``e``;
ου → ``u``; β, μπ → ``b``; χ, ξ → ``x``; θ → ``8``; doubled letters → one).
Latin spellings follow ELOT 743 and the common phonetic habits: ``v``/``b``
for β, ``x``/``ch``/``kh``/``h`` for χ, ``th``/``8`` for θ, ``ks``/``x``/``3``
for ξ, ``ps`` for ψ, ``f``/``ph`` for φ, ``w`` for ω, ``h`` and ``y`` for η
and υ, ``ou``/``oy`` for ου, ``mp``/``mb``/``b`` for μπ, ``nt``/``nd``/``d`` for
ντ, ``g``/``gk``/``ng`` for γγ and γκ, ``av``/``af``/``au`` for αυ.

Latin ``h`` is read from its place: after ``t``/``p``/``k`` before a vowel
(or ``r``, ``l``) it makes θ, φ, χ; before a vowel otherwise it is χ
(``hartia``); before a consonant or at the end it is η (``pistopoihtiko``,
``bebaiwsh``, ``ths``).

Only the start of a word is certain while it is being typed: a prefix that
ends inside a spelling the skeleton rewrites (``an`` of ``anthropos``, whose
``nth`` becomes ``d8``) may miss; a whole word never does.
"""
from __future__ import annotations

import re

#: Vowels of Latin text (an ``h`` before one is χ, not η).
_LATIN_VOWELS = frozenset("aeiouyw")
_VOICELESS = "tkpsfx8"

#: Greek letters and letter pairs → skeleton (folded text: lower case, no accents, σ for ς).
_GREEK_PAIRS = {"ου": "u", "οι": "i", "ει": "i", "υι": "i", "αι": "e",
                "αυ": "ab", "ευ": "eb", "ηυ": "ib", "γγ": "g", "γκ": "g", "γχ": "gx",
                "μπ": "b", "ντ": "d"}
_GREEK = dict(zip("αβγδεζηθικλμνξοπρστυφχψω",
                  ["a", "b", "g", "d", "e", "z", "i", "8", "i", "k", "l", "m", "n", "x", "o",
                   "p", "r", "s", "t", "i", "f", "x", "ps", "o"]))

#: Latin letter pairs → skeleton (the ``h`` pairs are decided in ``_latin``).
_LATIN_PAIRS = {"ou": "u", "oy": "u", "ei": "i", "oi": "i", "yi": "i", "ui": "i", "ai": "e",
                "au": "ab", "ay": "ab", "eu": "eb", "ey": "eb", "ks": "x", "mp": "b",
                "mb": "b", "nt": "d", "nd": "d", "gk": "g", "ng": "g", "nk": "g"}
_LATIN = {"y": "i", "u": "i", "w": "o", "v": "b", "c": "k", "q": "k", "j": "g", "3": "x",
          "8": "8"}

#: After the letters are mapped: the same sounds however they were reached.
_AFTER = [(re.compile(r"(?<=[ae])b(?=[" + _VOICELESS + "])"), "f"),  # αυτο → afto
          (re.compile(r"mp|mb"), "b"), (re.compile(r"n[td]"), "d"), (re.compile(r"ng|gk|nk"), "g"),
          (re.compile(r"ks"), "x"),
          # ο then η, or ο then ι, sounds like οι: βοηθεια, voitheia, bohtheia → bi8ia
          (re.compile(r"oi"), "i"), (re.compile(r"(.)\1+"), r"\1")]

_LATIN_LETTER = re.compile(r"[a-z]")


def is_latin(word: str) -> bool:
    """Whether a folded word holds a Latin letter (and may be Greeklish)."""
    return _LATIN_LETTER.search(word) is not None


def _h_pair(word: str, i: int) -> str | None:
    """The skeleton of ``th``/``ph``/``kh``/``ch`` at ``i``, or ``None`` if ``h`` is η there."""
    first, after = word[i], word[i + 2:i + 3]
    if first == "c":
        return "x"  # ch: χ (ELOT 743); no one types c for κ before η
    # θ, φ, χ before a vowel or r (and φ, χ before l: "thl" is τηλ…, as in thlefwno)
    if after and (after in _LATIN_VOWELS or after == "r" or after == "l" and first != "t"):
        return {"t": "8", "p": "f", "k": "x"}[first]
    return None


def skeleton(word: str) -> str:
    """The phonetic skeleton of one folded word: ``ελληνικα``, ``ellhnika`` → ``elinika``."""
    out = []
    i, size = 0, len(word)
    # Digits stand for letters only among letters: "8eorhsh", never "18".
    digits_are_letters = is_latin(word)
    while i < size:
        char, pair = word[i], word[i:i + 2]
        if pair in _GREEK_PAIRS:
            out.append(_GREEK_PAIRS[pair])
            i += 2
        elif char in _GREEK:
            out.append(_GREEK[char])
            i += 1
        elif pair in _LATIN_PAIRS:
            out.append(_LATIN_PAIRS[pair])
            i += 2
        elif char in "tpkc" and word[i + 1:i + 2] == "h" and (letter := _h_pair(word, i)):
            out.append(letter)
            i += 2
        elif char == "h":
            following = word[i + 1:i + 2]
            out.append("x" if following and following in _LATIN_VOWELS else "i")
            i += 1
        elif char in _LATIN and (char.isalpha() or digits_are_letters):
            out.append(_LATIN[char])
            i += 1
        else:
            out.append(char)
            i += 1
    result = "".join(out)
    for pattern, replacement in _AFTER:
        result = pattern.sub(replacement, result)
    return result

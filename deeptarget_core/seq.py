"""Nucleotide alphabet, normalisation and integer encoding.

Every sequence entering the suite is normalised to upper-case RNA (T -> U). miRNAs must be
pure A/C/G/U. Targets (UTRs, CTSs) may also hold N: an N never pairs in a seed match and is
encoded like padding. The other IUPAC letters (R, Y, K, M, S, W, B, D, H, V: more than one
base), which genome-derived UTRs carry, are read as N in target FASTAs
(:func:`mask_ambiguous`; the reader counts them), or refused in strict reading; any other
letter is an input error (the caller adds file and line).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

ALPHABET = "ACGU"
PAD = "N"
MIRNA_LETTERS = frozenset("ACGU")
TARGET_LETTERS = frozenset("ACGUN")
AMBIGUOUS_LETTERS = frozenset("RYKMSWBDHV")  # IUPAC codes of two or three bases
_TO_N = str.maketrans({c: "N" for c in AMBIGUOUS_LETTERS})
MIN_MIRNA_LENGTH = 8
MIN_CTS_NT = 6  # the shortest seed match (6mer): a shorter CTS in a table is an input error
MAX_MIRNA_LENGTH = 30
SEED = slice(1, 8)  # miRNA nt 2-8: the seed, the key of a seed family

_COMPLEMENT = {"A": "U", "C": "G", "G": "C", "U": "A", "N": "N"}

# Model encoding: 0 = padding / N, 1..4 = A, C, G, U (embedding padding_idx=0).
# CTS_CODE is the one letter -> model code table: any case, T read as U, 255 = a letter not
# allowed in a CTS. _MODEL_CODE (for normalised sequences) reads every other byte as 0.
CTS_CODE = np.full(256, 255, dtype=np.uint8)
for _letters, _code in (("Nn", 0), ("Aa", 1), ("Cc", 2), ("Gg", 3), ("UuTt", 4)):
    for _ch in _letters:
        CTS_CODE[ord(_ch)] = _code
_MODEL_CODE = np.where(CTS_CODE == 255, 0, CTS_CODE).astype(np.uint8)
VOCAB_SIZE = len(ALPHABET) + 1

_NORMALISE = str.maketrans("acgutnT", "ACGUUNU")


MIN_SLICE = 64  # rows: batch_slices does not cut smaller slices to make up a multiple


def batch_slices(n: int, size: int, multiple_of: int = 1) -> list[slice]:
    """The one batching rule of the suite: consecutive slices of at most ``size`` of ``range(n)``.

    ``multiple_of`` > 1: as many slices as the smallest multiple of it that keeps them at most
    ``size`` (fewer where slices would get under MIN_SLICE rows), of equal sizes (within 1),
    so that the workers of a pool finish together (4,200 rows of size 2,048 in a multiple
    of 2: 4 x 1,050, not 2,048 + 2,048 + 104, where one worker waits for the short one).
    """
    k = -(-n // size)
    if multiple_of > 1:
        k = max(k, min(-(-k // multiple_of) * multiple_of, n // MIN_SLICE))
    if multiple_of <= 1 or k <= 1:
        return [slice(start, min(n, start + size)) for start in range(0, n, size)]
    return [slice(i * n // k, (i + 1) * n // k) for i in range(k)]


def normalise(seq: str) -> str:
    """Upper-case RNA: strips surrounding whitespace, maps T/t to U."""
    return seq.strip().translate(_NORMALISE).upper()


def mask_ambiguous(seq: str, letters: set[str] | frozenset[str] = AMBIGUOUS_LETTERS) -> tuple[str, int]:
    """A normalised target with its IUPAC ambiguity letters read as N (no site is found
    through them) and how many there were; ``letters``: those known to occur, if known."""
    count = sum(seq.count(c) for c in letters if c in AMBIGUOUS_LETTERS)
    return (seq.translate(_TO_N), count) if count else (seq, 0)


def reverse_complement(seq: str) -> str:
    return "".join(_COMPLEMENT[c] for c in reversed(seq))


def encode(seq: str, length: int | None = None) -> np.ndarray:
    """Integer codes (0 = pad/N, 1-4 = ACGU) of one normalised sequence, right-padded/cut."""
    codes = _MODEL_CODE[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]
    if length is None:
        return codes.copy()
    out = np.zeros(length, dtype=np.uint8)
    n = min(length, len(codes))
    out[:n] = codes[:n]
    return out


def encode_batch(seqs: Sequence[str] | Iterable[str], length: int) -> np.ndarray:
    """(n, length) uint8 codes; shorter sequences right-padded with 0, longer ones cut.

    Vectorised: one join and one table lookup for the whole batch, no per-letter Python loop.
    """
    seqs = list(seqs)
    if not seqs:
        return np.zeros((0, length), dtype=np.uint8)
    if all(len(s) == length for s in seqs):
        raw = np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)
        return _MODEL_CODE[raw].reshape(len(seqs), length)
    padded = "".join(s[:length].ljust(length, PAD) for s in seqs)
    raw = np.frombuffer(padded.encode("ascii"), dtype=np.uint8)
    return _MODEL_CODE[raw].reshape(len(seqs), length)

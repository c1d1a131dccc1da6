#!/usr/bin/env python3
"""Write a synthetic UTR annotation (BED12) for a UTR FASTA: the example UTRs are made up,
so is their place in a made-up genome ("chrS"). It serves the genome-coordinate examples
(dt-scan-cts / dt-predict --utr-bed ... --format bed) and the Galaxy tests.

UTR i (0-based, FASTA order) starts at 10,000 * (i + 1); its strand alternates (+, -, +, ...)
and it has 1, 2 or 3 exons (i mod 3 + 1) of near-equal length with 300, 400 nt introns.
Deterministic: the same FASTA gives the same file.

    python examples/make_utr_bed.py examples/utrs.fa.gz > examples/utrs.bed12
"""

from __future__ import annotations

import gzip
import sys


def fasta_lengths(path: str) -> list[tuple[str, int]]:
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    out: list[tuple[str, int]] = []
    with opener(path, "rt") as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                out.append((line[1:].split()[0], 0))
            elif line and out:
                out[-1] = (out[-1][0], out[-1][1] + len(line))
    return out


def bed12_lines(records: list[tuple[str, int]], chrom: str = "chrS") -> list[str]:
    lines = []
    for i, (name, length) in enumerate(records):
        n = i % 3 + 1
        size = length // n
        sizes = [size] * (n - 1) + [length - size * (n - 1)]
        starts, pos = [], 0
        for k, s in enumerate(sizes):
            starts.append(pos)
            pos += s + 300 + 100 * k
        start = 10_000 * (i + 1)
        end = start + starts[-1] + sizes[-1]
        strand = "+" if i % 2 == 0 else "-"
        lines.append(
            f"{chrom}\t{start}\t{end}\t{name}\t0\t{strand}\t{start}\t{end}\t0\t{n}\t"
            f"{','.join(map(str, sizes))},\t{','.join(map(str, starts))},\n"
        )
    return lines


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.stdout.writelines(bed12_lines(fasta_lengths(sys.argv[1])))


if __name__ == "__main__":
    main()

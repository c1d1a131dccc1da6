#!/usr/bin/env python3
"""Split a FASTA (plain or gzip) into N shards, balanced by sequence length.

Records keep their input order inside each shard; a record goes to the shard with the fewest
nucleotides so far (ties: lowest index), so shards are deterministic and similar in size.
Shards may be empty when there are fewer records than shards (the scan rule handles that).
Streams: only one record is held in memory at a time.

    shard_fasta.py IN.fa[.gz] OUT_0.fa OUT_1.fa ...
"""

from __future__ import annotations

import gzip
import heapq
import sys


def open_text(path: str):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rt") if magic == b"\x1f\x8b" else open(path)


def records(handle):
    header, seq = None, []
    for line in handle:
        if line.startswith(">"):
            if header is not None:
                yield header, seq
            header, seq = line, []
        elif header is not None:
            seq.append(line)
        elif line.strip():
            raise SystemExit(f"error: {handle.name}: sequence before the first '>' header")
    if header is not None:
        yield header, seq


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit(__doc__)
    src, outs = argv[0], argv[1:]
    handles = [open(p, "w") for p in outs]
    heap = [(0, i) for i in range(len(outs))]
    with open_text(src) as fh:
        for header, seq in records(fh):
            size, i = heapq.heappop(heap)
            handles[i].write(header)
            handles[i].writelines(seq)
            heapq.heappush(heap, (size + sum(len(s.strip()) for s in seq), i))
    for h in handles:
        h.close()


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/env python3
"""Make a small finished, published history in a running Galaxy (for docs screenshots).

    demo_history.py URL API_KEY TEST_DATA_DIR      -> prints the history id

Uploads the example miRNAs and UTRs, runs deepTarget scan CTS, then deepTarget predict
(seed-match model) on its sites, waits for both, and publishes the history so that it can be
viewed without logging in. Uses bioblend (installed with Galaxy).
"""

from __future__ import annotations

import sys
from pathlib import Path

from bioblend.galaxy import GalaxyInstance


def main(url: str, key: str, test_data: str) -> None:
    gi = GalaxyInstance(url, key=key)
    td = Path(test_data)
    history = gi.histories.create_history(name="deepTarget: scan and predict")
    hid = history["id"]
    mirna = gi.tools.upload_file(str(td / "mirnas.fa"), hid, file_type="fasta", file_name="human miRNAs")["outputs"][0]
    utr = gi.tools.upload_file(str(td / "utrs.fa.gz"), hid, file_type="fasta.gz", file_name="3'UTRs")["outputs"][0]
    for ds in (mirna, utr):
        gi.datasets.wait_for_dataset(ds["id"], maxwait=600)
    scan = gi.tools.run_tool(
        hid,
        "deeptarget_scan_cts",
        {
            "mirna": {"src": "hda", "id": mirna["id"]},
            "utr": {"src": "hda", "id": utr["id"]},
            "site_types": "canonical",
            "cts_length": 40,
        },
    )
    sites = scan["outputs"][0]
    gi.datasets.wait_for_dataset(sites["id"], maxwait=600)
    pred = gi.tools.run_tool(
        hid,
        "deeptarget_predict",
        {
            "input|mode": "sites",
            "input|sites": {"src": "hda", "id": sites["id"]},
            "input|mirna": {"src": "hda", "id": mirna["id"]},
            "model_source|source": "seed-match",
            "gene_level": True,
        },
    )
    for out in pred["outputs"]:
        gi.datasets.wait_for_dataset(out["id"], maxwait=600)
    gi.histories.update_history(hid, published=True, importable=True)
    print(hid)


if __name__ == "__main__":
    main(*sys.argv[1:4])

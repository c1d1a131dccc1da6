# Configuration values and helper functions shared by the rules (included first).

OUT = config["outdir"]
N = int(config["utr_chunks"])
M = int(config["mirna_groups"])
CHUNKS = range(N)
GROUPS = range(M)
SCRIPTS = os.path.join(workflow.basedir, "scripts")
RES = config["resources"]


def as_bool(value):
    """--config nested values arrive as strings ('False' included): parse them explicitly."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def script(name):
    """Path of a helper script, passed to shell commands through params (provenance)."""
    return os.path.join(SCRIPTS, name)


def res(rule, key, default=0):
    return RES.get(rule, {}).get(key, default)


# miRNAs: config mirna (e.g. miRBase's mature.fa) through select_mirnas (species, unusable
# records skipped); UTRs: config utr, or extracted from annotation.gtf + annotation.genome
SPECIES = str(config.get("species") or "")
STRICT = as_bool(config.get("strict", False))
MIRNA = f"{OUT}/mirnas.fa"
ANNOTATION = config.get("annotation") or {}
UTR = f"{OUT}/utrs.fa.gz" if ANNOTATION.get("gtf") else config["utr"]
if ANNOTATION.get("gtf") and not ANNOTATION.get("genome"):
    raise ValueError("config: annotation.gtf needs annotation.genome (the genome FASTA it belongs to)")

PREDICT = as_bool(config["predict"]["enabled"])
LABELS = config["eval"]["labels"]
TRAIN = as_bool(config["train"]["enabled"])
FOLDS = range(int(config["train"]["folds"]))
TOUT = f"{OUT}/train"
if TRAIN and not config["train"]["positives"]:
    raise ValueError("config: train.enabled needs train.positives (a labelled positive pair table)")


def final_targets():
    targets = [f"{OUT}/sites.tsv"]
    if PREDICT:
        targets += [f"{OUT}/sites_scored.tsv", f"{OUT}/genes.tsv"]
        if LABELS:
            targets += [f"{OUT}/metrics.tsv"]
    if TRAIN:
        targets += [f"{TOUT}/cv_metrics.tsv"]
    return targets


def shard_tables(kind):
    return expand(f"{OUT}/shards/{kind}_g{{g}}_c{{c}}.tsv", g=GROUPS, c=CHUNKS)

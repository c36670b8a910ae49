"""The dataset card (README.md) with the YAML header Hugging Face ``datasets`` reads."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import yaml

from corpus.releases.model import (
    ANNOTATIONS_FILE,
    CHART_FILE,
    SCREEN_DIR,
    SPLITS,
    votes_column,
)

_DTYPES = {"double": "float64", "float": "float32", "halffloat": "float16"}

BASE_DESCRIPTIONS = {
    "sentence_id": "stable id of the sentence (hash of article id, offsets and text)",
    "article_id": "id of the article the sentence comes from (also decides the split)",
    "para_idx": "paragraph number in the article (0-based)",
    "sent_idx": "sentence number in the article (0-based)",
    "start": "character offset of the sentence in the cleaned article text",
    "end": "end offset (exclusive): article.text[start:end] is the raw slice; text is it "
           "with whitespace folded",
    "text": "the sentence",
    "kind": "`sentence` or `heading`",
    "tokens": "jieba tokens of the sentence",
    "lang": "language code of the article",
    "source": "where the article came from: its URL, or the file it was ingested from",
    "published_at": "the article's publication date (ISO 8601, as given; null if unknown)",
    "n_annotators": "annotators whose (latest, not cancelled) annotation counted",
    "agreement": "how the `{primary}` label was decided: `unanimous` (every vote for one label), "
                 "`majority` (one label has the most votes), `tie` (top count shared: label is "
                 "null), `adjudicated` (a ground-truth annotation decided every field)",
    "split": "`train`, `validation` or `test` (hash of `article_id`; a propagated row: its "
             "source's split)",
    "cluster_id": "cluster of sentences that repeat this one across articles, exactly after "
                  "normalisation or nearly (the smallest `sentence_id` of the cluster)",
    "label_source": "`annotated` (its own annotators), `adjudicated` (a decision or ground "
                    "truth) or `propagated` (the labels of a repeat of the sentence, see "
                    "`propagated_from`)",
    "propagated_from": "the `sentence_id` whose labels a propagated row carries (null "
                       "otherwise)",
}


def _kind(manifest: Mapping[str, Any], field: str) -> str | None:
    """The schema kind of ``field`` in ``manifest`` (None if the schema lacks it)."""
    for f in manifest.get("schema", {}).get("fields", []):
        if f.get("name") == field:
            return str(f.get("kind"))
    return None


def arrow_feature(dtype: pa.DataType) -> dict[str, Any]:
    """HF ``datasets`` YAML feature (without ``name``) of an Arrow type."""
    if pa.types.is_struct(dtype):
        return {"struct": [{"name": dtype.field(i).name, **arrow_feature(dtype.field(i).type)}
                           for i in range(dtype.num_fields)]}
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        inner = arrow_feature(dtype.value_type)
        if "dtype" in inner:
            return {"list": inner["dtype"]}
        if "struct" in inner:
            return {"list": inner["struct"]}
        return {"list": inner}
    name = str(dtype)
    return {"dtype": _DTYPES.get(name, name)}


def features_yaml(schema: pa.Schema) -> list[dict[str, Any]]:
    """The ``dataset_info.features`` list of a table schema."""
    return [{"name": f.name, **arrow_feature(f.type)} for f in schema]


def type_name(dtype: pa.DataType) -> str:
    """Arrow type without list field names: ``list<element: string>`` -> ``list<string>``."""
    return re.sub(r"list<(?:element|item): ", "list<", str(dtype))


def column_descriptions(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Description of every release column, from the manifest's schema."""
    primary = manifest.get("primary_field") or "claim"
    out = {k: v.format(primary=primary) for k, v in BASE_DESCRIPTIONS.items()}
    for f in manifest["schema"]["fields"]:
        name, kind, values = f["name"], f["kind"], ", ".join(f"`{v}`" for v in f["values"])
        if kind == "single":
            out[name] = f"aggregated label ({values}); null on a tie or when nobody answered"
            out[votes_column(name)] = "votes per label (struct of counts): soft label"
        elif kind == "multi":
            out[name] = (f"labels ({values}) chosen by more than half of the annotators; "
                         "null when nobody answered")
            out[votes_column(name)] = "annotators who chose each label (struct of counts)"
        elif kind == "stance" and f.get("of"):
            out[name] = (f"per target of `{f['of']}` answered "
                         f"{'/'.join(str(f.get('shown_when', {}).get('value', '')).split(','))}"
                         f": plurality ({values}), asked with each such stance answer; label "
                         "null on a tie")
            out[votes_column(name)] = "per target: votes per label"
        elif kind == "stance":
            out[name] = (f"per target asked: plurality stance ({values}); label null on a "
                         "tie or when nobody answered; a target not asked is absent")
            out[votes_column(name)] = "per target: votes per stance label"
        else:
            out[name] = (f"spans ({values}; offsets into `text`) marked identically by more "
                         "than half of the annotators")
            out[votes_column(name)] = "every distinct span with the number of annotators who " \
                                      "marked it"
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _header(manifest: Mapping[str, Any], release_schema: pa.Schema,
            annotations_schema: pa.Schema) -> str:
    rows = manifest["rows"]
    nbytes = manifest.get("arrow_nbytes", {})
    # an empty Parquet split makes `datasets` fail (batch size 0): declare non-empty ones only
    present = [s for s in SPLITS if rows[s] > 0]
    header = {
        "pretty_name": f"{manifest['name']} {manifest['version']}",
        "license": (str(manifest["license"]).lower() if manifest.get("license")
                    else "unknown"),
        "language": sorted(manifest.get("languages") or []) or ["zh"],
        "task_categories": ["text-classification", "token-classification"],
        "tags": ["claim-detection", "stance-detection", "fact-checking", "label-studio"],
        "configs": [
            {"config_name": "default", "default": True,
             "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in present]},
            {"config_name": "annotations",
             "data_files": [{"split": "train", "path": ANNOTATIONS_FILE}]},
        ],
        "dataset_info": [
            {"config_name": "default", "features": features_yaml(release_schema),
             "splits": [{"name": s, "num_bytes": int(nbytes.get(s, 0)),
                         "num_examples": int(rows[s])} for s in present]},
            {"config_name": "annotations", "features": features_yaml(annotations_schema),
             "splits": [{"name": "train", "num_bytes": int(nbytes.get("annotations", 0)),
                         "num_examples": int(manifest["annotations"]["rows"])}]},
        ],
    }
    return "---\n" + yaml.safe_dump(header, allow_unicode=True, sort_keys=False) + "---\n"


def _table(head: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def render(manifest: Mapping[str, Any], manifest_sha256: str, release_schema: pa.Schema,
           annotations_schema: pa.Schema) -> str:
    """The full README.md text of a version."""
    name, version = manifest["name"], manifest["version"]
    schema = manifest["schema"]
    rows = manifest["rows"]
    parts = [_header(manifest, release_schema, annotations_schema)]
    parts.append(f"# {name} {version}\n\n"
                 f"Human-labelled claim and stance corpus built by claim-corpus "
                 f"{manifest.get('corpus_version', '')} on {manifest['created_at']}. "
                 f"One row per sentence: the sentence, the aggregated label of every field, "
                 f"the vote counts (soft labels) and the agreement.\n\n")
    if manifest.get("message"):
        parts.append(f"> {manifest['message']}\n\n")
    parts.append(f"Licence: {manifest.get('license') or 'unspecified (ask the maintainers)'}. "
                 f"Parent version: {manifest.get('parent') or 'none (first version)'}. "
                 f"Label Studio project(s): "
                 f"{', '.join(str(p) for p in manifest.get('labelstudio_projects', [])) or 'n/a'}."
                 "\n\n")
    empty = [s for s in SPLITS if not manifest["rows"].get(s)]
    if empty:
        are = "splits are" if len(empty) > 1 else "split is"
        parts.append(f"> **Warning:** the {', '.join(empty)} {are} empty in this version: "
                     "too few articles for the split ratios.\n\n")
    lone = {k: int(v) for k, v in (manifest.get("single_vote_labels") or {}).items() if v}
    if lone:
        what = ", ".join(f"{v} `{k}` label{'s' if v != 1 else ''}"
                         + (" (sentence-target pairs)" if _kind(manifest, k) == "stance" else "")
                         for k, v in lone.items())
        parts.append(f"> **Warning:** {what} rest on a single vote although two or more "
                     "annotators took the sentence (the others skipped that field or target): "
                     "treat them as weak labels, or adjudicate them (`corpus adjudicate "
                     "--where ...`).\n\n")
    described = [p for p in manifest.get("projects") or [] if isinstance(p, dict)]
    if described:
        parts.append("| Label Studio project | id | stance targets asked |\n| --- | --- | --- |\n")
        for p in described:
            parts.append(f"| {p.get('title') or '(not pushed from this workspace)'} | "
                         f"{p.get('id')} | {', '.join(p.get('targets') or []) or '-'} |\n")
        parts.append("\n")

    parts.append("## Load it\n\n```python\n"  # noqa: S608 (example code, not a query)
                 "import pandas as pd\n"
                 "train = pd.read_parquet(\"data/train-00000-of-00001.parquet\")\n\n"
                 "from datasets import load_dataset\n"
                 "ds = load_dataset(\"path/to/" + version + "\")  # train/validation/test\n"
                 "raw = load_dataset(\"path/to/" + version + "\", \"annotations\")"
                 "  # every annotator's labels\n\n"
                 "import duckdb\n"
                 "duckdb.sql(\"SELECT claim, count(*) FROM 'data/*.parquet' GROUP BY claim\")\n\n"
                 "import polars as pl\n"
                 "df = pl.read_parquet(\"data/*.parquet\")\n\n"
                 "import corpus\n"
                 "table = corpus.load(\"releases/" + name + "\", version=\"" + version
                 + "\", split=\"train\")  # pyarrow.Table\n```\n")

    parts.append("\n## Splits\n\nAssigned by a hash of `article_id` (sha256, first 8 bytes as a "
                 "position in [0, 1)) with ratios "
                 f"{'/'.join(str(round(r * 100, 2)) for r in manifest['params']['split_ratios'])}"
                 ": every sentence of an article is in one split and keeps it in later "
                 "versions"
                 + (f" (this version was re-split with `--resplit`: sentences of "
                    f"{manifest.get('parent')} may be in another split here)"
                    if manifest["params"].get("resplit") else "")
                 + ". Empty splits keep their (empty) Parquet file but are not declared "
                 "in the `datasets` configuration.\n\n")
    parts.append(_table(["split", "sentences", "articles"],
                        [[s, rows[s], manifest.get("articles", {}).get(s)] for s in SPLITS]
                        + [["total", rows["total"], manifest.get("articles", {}).get("total")]]))

    descs = column_descriptions(manifest)
    parts.append("\n## Columns\n\n")
    parts.append(_table(["column", "type", "description"],
                        [[f"`{f.name}`", f"`{type_name(f.type)}`", descs.get(f.name, "")]
                         for f in release_schema]))
    parts.append("\nRows are ordered by `article_id`, `para_idx`, `sent_idx`. "
                 f"`{ANNOTATIONS_FILE}` holds every annotation of the released sentences "
                 "(cancelled ones included, flagged by `was_cancelled`) in the order they were "
                 "pulled, with the workspace annotation schema: use it for soft-label training "
                 "or your own aggregation.\n")
    if "adjudications.parquet" in manifest.get("files", {}):
        parts.append("\n`adjudications.parquet` holds the provenance of every adjudication "
                     "decision used: `adjudicator`, `decided_at`, and the annotation ids "
                     "(`resolves`) and annotators (`resolves_annotators`) it resolved.\n")

    parts.append("\n## How labels are aggregated\n\n"
                 f"- minimum annotators per released sentence: "
                 f"{manifest['params']['min_annotations']} (sentences with a ground-truth "
                 "annotation are always released);\n"
                 "- cancelled annotations are left out; of several annotations by one annotator "
                 "the latest counts;\n"
                 "- a ground-truth annotation (Label Studio reviewer) decides every field "
                 "(`agreement = adjudicated`); vote counts still include every annotator;\n"
                 "- a decision of an adjudication round (`corpus adjudicate`) decides every "
                 "field too (`agreement = adjudicated`) and wins over a ground truth; it is not "
                 "a vote: the `*_votes` soft labels stay the annotators' own;\n"
                 "- single-choice fields: plurality vote; a shared top count is a tie and the "
                 "label is null;\n"
                 "- multi-choice fields: a label is kept when more than half of the annotators "
                 "of the sentence chose it;\n"
                 "- stance: plurality vote per target asked; the stance holder likewise, "
                 "per target, over the annotators who gave one;\n"
                 "- spans: kept when more than half of the annotators marked the same "
                 "start, end and label.\n")
    parts.append(_propagation(manifest))
    if manifest["params"].get("annotator_names"):
        parts.append("\nAnnotators are named by their Label Studio e-mail "
                     "(released with `--annotator-names`).\n")
    else:
        parts.append("\nAnnotators are named by stable pseudonyms (`annotator-001`, ...): the "
                     "same person keeps the same pseudonym in every version; the mapping to "
                     "real accounts stays with the corpus maintainers.\n")

    parts.append("\n## Label distribution\n\nA null label is counted as `(tie)` (annotators "
                 "answered, the top count was shared) or `(no answer)` (nobody answered the "
                 "field); `(none)` is an empty choice list. Stance rows are `target=label`, "
                 "`(tie)` a tied target, `(no answer)` a target the annotators were asked and "
                 "nobody answered; `not_about` is the annotators' answer that the "
                 "sentence takes no stance on that target (not applicable), and a target "
                 "that was not asked (not mentioned by the sentence or its context, and "
                 "not added by an annotator) is not in the sentence's list at all.\n\n")
    labels = manifest.get("labels", {})
    for fname, dist in labels.items():
        parts.append(f"**{fname}**\n\n")
        keys = sorted({k for s in ("all", *SPLITS) for k in dist.get(s, {})},
                      key=lambda k: (-dist.get("all", {}).get(k, 0), k))
        parts.append(_table(["label", "all", *SPLITS],
                            [[k, *[dist.get(s, {}).get(k, 0) for s in ("all", *SPLITS)]]
                             for k in keys]))
        parts.append("\n")

    parts.append("## Agreement\n\n")
    agreement = manifest["agreement"]
    ag_rows = agreement.get("rows", {})
    parts.append(f"Rows by agreement on `{manifest.get('primary_field')}`: "
                 + ", ".join(f"{k} {ag_rows.get(k, 0)}" for k in ag_rows) + ".\n\n")
    alpha_rows: list[list[Any]] = []
    for fname, a in agreement["krippendorff_alpha"].items():
        alpha_rows.append([f"`{fname}`", a["kind"], a["alpha"], a["units"]])
        for sub_key in ("per_target", "per_label"):
            for sub, v in a.get(sub_key, {}).items():
                alpha_rows.append([f"`{fname}` / {sub}", a["kind"], v["alpha"], v["units"]])
    parts.append("Krippendorff's alpha (nominal; multi-choice labels as binary "
                 "chosen/not chosen; stance per target; units with at least two annotations; "
                 "the `krippendorff` package, or for large inputs the same nominal formula in "
                 "closed form; n/a when undefined, e.g. a single annotator):\n\n")
    parts.append(_table(["field", "kind", "alpha", "units"], alpha_rows))
    pairs = agreement.get("pairwise", {}).get("pairs", [])
    parts.append(f"\nPairwise agreement on `{agreement.get('pairwise', {}).get('field')}` "
                 f"({len(pairs)} annotator pairs; the 20 with most shared sentences shown, all "
                 "in manifest.json):\n\n")
    parts.append(_table(["annotator A", "annotator B", "shared", "% agreement", "Cohen's kappa"],
                        [[p["a"], p["b"], p["items"], p["percent_agreement"], p["cohen_kappa"]]
                         for p in pairs[:20]]))
    if CHART_FILE in manifest.get("files", {}):
        parts.append(f"\n![label distribution and agreement]({CHART_FILE})\n")

    parts.append("\n## Label schema\n\n"
                 f"Schema `{schema['name']}` version {schema['version']}, sha256 "
                 f"`{schema['sha256']}`; annotation guidelines version "
                 f"{manifest.get('guidelines_version') or schema['version']}.\n\n")
    parts.append(_table(["field", "kind", "values"],
                        [[f"`{f['name']}`", f["kind"], ", ".join(f["values"])]
                         for f in schema["fields"]]))
    screens = sorted(f for f in manifest.get("files", {}) if f.startswith(SCREEN_DIR + "/"))
    if screens:
        parts.append("\nWhat the annotators saw, as each project was last pushed: "
                     + ", ".join(f"[`{f}`]({f})" for f in screens) + ".\n")
    elif manifest.get("projects"):
        parts.append("\nThe label config and guidelines the annotators saw are not included "
                     "(the projects were pushed before claim-corpus kept them).\n")

    parts.append("\n## Integrity\n\n"
                 "`manifest.json` lists the sha256 of every file; `manifest.sha256` holds the "
                 "sha256 of manifest.json and this card (`sha256sum -c manifest.sha256`). "
                 "`corpus verify " + name + " " + version + "` re-checks all of them. "
                 f"Content sha256 (the three data files): `{manifest['content_sha256']}`; a "
                 "release whose data would be identical to the latest version is refused.\n")
    key = re.sub(r"[^A-Za-z0-9]+", "_", f"{name}_{version}")
    date = manifest["created_at"][:10]
    parts.append("\n## Citation\n\n"
                 f"{name}, version {version} ({date}), manifest sha256 {manifest_sha256}.\n\n"
                 "```bibtex\n"
                 f"@misc{{{key},\n"
                 f"  title   = {{{{{name}}}: human-labelled claims and stance, {version}}},\n"
                 f"  year    = {{{date[:4]}}},\n"
                 f"  month   = {{{int(date[5:7])}}},\n"
                 f"  version = {{{version}}},\n"
                 f"  note    = {{Built with claim-corpus {manifest.get('corpus_version', '')}; "
                 f"manifest sha256 {manifest_sha256}}},\n"
                 "}\n```\n")
    return "".join(parts)


def _propagation(manifest: Mapping[str, Any]) -> str:
    """The card's lines on labels propagated within clusters of repeated sentences."""
    n = int(manifest.get("propagated") or 0)
    total = int(manifest["rows"].get("total") or 0)
    if not manifest["params"].get("propagate", False):
        return ("- repeated sentences: not propagated (`--no-propagate`); only sentences "
                "annotated themselves are released.\n")
    return (f"- repeated sentences: **{n} of {total} rows** (`label_source = propagated`) "
            "carry the labels of another sentence of their cluster (exact repeats after "
            "normalisation, or near: MinHash similarity of character 3-grams), which "
            "annotators labelled once; the source (`propagated_from`) is the adjudicated "
            "member, else the one with the most annotators; spans only where the text is "
            "identical; each such row is in its source's split, so copies never straddle "
            "train and test. Filter `label_source != 'propagated'` for annotated rows only.\n")

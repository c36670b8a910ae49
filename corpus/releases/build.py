"""Build an immutable release version: ``releases/NAME/vNNNN/``.

The version is written into ``releases/NAME/.tmp-*`` and renamed into place
under the workspace lock ``release-NAME``: a crash leaves at most a ``.tmp-``
folder, which readers ignore and the next release removes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.errors import NothingToRelease, ReleaseError, WorkspaceError
from corpus.releases import agreement as agreement_mod
from corpus.releases import card, chart, splits
from corpus.releases.aggregate import Aggregation, aggregate, single_votes
from corpus.releases.manifest import (
    FORMAT,
    content_sha256,
    manifest_bytes,
    read_manifest,
    sha256_file,
    sidecar_text,
)
from corpus.releases.model import (
    ANNOTATIONS_FILE,
    CARD,
    CHART_FILE,
    MANIFEST,
    MANIFEST_SIDECAR,
    SCREEN_DIR,
    SENTENCE_COLUMNS,
    SPLITS,
    TMP_PREFIX,
    SchemaLike,
    data_file,
    primary_field,
    version_name,
    votes_column,
)
from corpus.releases.propagation import propagate_labels
from corpus.releases.pseudonyms import pseudonymise
from corpus.releases.verify import check_complete, latest_complete
from corpus.storage.atomic import current_umask, fsync_dir
from corpus.storage.tables import read_parquet, table_error
from corpus.workspace import NOT_WRITABLE, Workspace, not_writable

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
ENV_SLOW = "CORPUS_TEST_SLOW_RELEASE"


@dataclass(frozen=True)
class ReleaseInfo:
    """What ``release`` built."""

    name: str
    version: str
    number: int
    path: Path
    parent: str | None
    rows: dict[str, int]
    content_sha256: str
    manifest_sha256: str
    created_at: str
    timings: dict[str, float] = field(default_factory=dict)
    chart: bool = True
    """False when matplotlib (the ``chart`` extra) is missing and no PNG was drawn."""
    projects: list[dict[str, Any]] = field(default_factory=list)
    """The Label Studio projects released: title (None if not pushed from here), id, targets."""
    license: str | None = None
    warnings: list[str] = field(default_factory=list)
    """What the lead should know: no licence, an empty split."""
    propagated: int = 0
    """Rows whose labels come from a repeat of the sentence (``label_source = propagated``)."""


class _Clock:
    """Wall-clock seconds per build phase (reported in ReleaseInfo.timings)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.last_cpu = time.process_time()
        self.phases: dict[str, float] = {}

    def lap(self, phase: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.phases[phase] = round(now - self.last, 3)
        self.phases[f"{phase} (cpu)"] = round(cpu - self.last_cpu, 3)
        self.last, self.last_cpu = now, cpu
        if os.environ.get("CORPUS_RELEASE_TIMING"):
            import sys

            print(f"release: {phase} {self.phases[phase]:.2f}s", file=sys.stderr)


def _pause() -> None:
    """Test hook: sleep between writes so a test can kill a release mid-way."""
    delay = os.environ.get(ENV_SLOW)
    if delay:
        time.sleep(float(delay))


def _resolve_schema(schema: SchemaLike | Path | str | None) -> SchemaLike:
    if schema is None or isinstance(schema, (str, Path)):
        from corpus.labelschema import load_schema

        return load_schema(schema)
    return schema


def _corpus_version() -> str:
    try:
        from importlib.metadata import version

        return version("claim-corpus")
    except Exception:
        return "unknown"


def _check_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise ReleaseError(f"release name {name!r} is not a plain folder name",
                           hint="use letters, digits, '.', '_' or '-', e.g. claims-zh")


def _clean_leftovers(release_dir: Path) -> None:
    """Remove ``.tmp-`` folders of crashed releases (only called under the release lock)."""
    for child in release_dir.iterdir():
        if child.name.startswith(TMP_PREFIX):
            shutil.rmtree(child, ignore_errors=True)


def _read_parquet(source: Path | pa.NativeFile, what: str, *,
                  path: Path | None = None) -> pa.Table:
    path = path or Path(str(source))
    try:
        return read_parquet(source)
    except (pa.ArrowException, OSError) as exc:
        raise table_error(path, exc) from None  # one line, naming how to rebuild it


NO_ANSWER = "(no answer)"
"""A single-choice label nobody gave (every annotator left the field empty)."""
TIE = "(tie)"
"""A label whose top vote count was shared (null in the data)."""


def _votes_total(votes: pa.Array) -> pa.Array:
    """Per row, the sum of a single-choice field's vote struct (0 for a null struct)."""
    total: Any = pa.array(np.zeros(len(votes), dtype=np.int64))
    for i in range(votes.type.num_fields):
        total = pc.add(total, pc.fill_null(pc.cast(votes.field(i), pa.int64()), 0))
    return pc.fill_null(total, 0)


def _stance_voted(column: pa.Array, votes: pa.Array) -> pa.Array:
    """Per flattened stance entry: did anybody vote on that (row, target)? A null label with
    votes is a tie, one without was asked and not answered."""
    vflat = pc.list_flatten(votes)
    total: Any = pa.array(np.zeros(len(vflat), dtype=np.int64))
    for i in range(vflat.type.num_fields):
        if vflat.type.field(i).name != "target":
            total = pc.add(total, pc.fill_null(pc.cast(vflat.field(i), pa.int64()), 0))
    voted = pc.greater(total, 0)
    flat = pc.list_flatten(column)
    c_parent = np.asarray(pc.list_parent_indices(column), dtype=np.int64)
    v_parent = np.asarray(pc.list_parent_indices(votes), dtype=np.int64)
    voted_np = np.asarray(voted, dtype=np.bool_)
    # Row by row, the labels are the votes' groups in order, except where a decision
    # replaced a row's labels: rows of equal length are compared entry by entry, and only
    # the others (and those that differ) are looked up by (row, target).
    c_len = np.asarray(pc.fill_null(pc.list_value_length(column), 0), dtype=np.int64)
    v_len = np.asarray(pc.fill_null(pc.list_value_length(votes), 0), dtype=np.int64)
    even = c_len == v_len
    c_even = np.nonzero(even[c_parent])[0]
    v_even = np.nonzero(even[v_parent])[0]
    same = np.asarray(pc.fill_null(pc.equal(flat.field("target").take(pa.array(c_even)),
                                            vflat.field("target").take(pa.array(v_even))),
                                   False), dtype=np.bool_)
    out = np.zeros(len(flat), dtype=np.bool_)
    out[c_even] = voted_np[v_even]
    odd = ~even
    odd[c_parent[c_even[~same]]] = True
    if not odd.any():
        return pa.array(out)
    c_at = np.nonzero(odd[c_parent])[0]
    v_at = np.nonzero(odd[v_parent] & voted_np)[0]

    def keys(parent: np.ndarray[Any, Any], entries: pa.Array, at: np.ndarray[Any, Any]
             ) -> pa.Array:
        return pc.binary_join_element_wise(
            pa.array(parent[at]).cast(pa.string()), entries.field("target").take(pa.array(at)),
            "\x1f")

    out[c_at] = np.asarray(pc.fill_null(pc.is_in(keys(c_parent, flat, c_at),
                                                 value_set=keys(v_parent, vflat, v_at)),
                                         False), dtype=np.bool_)
    return pa.array(out)


def _label_counts(column: pa.Array | pa.ChunkedArray, kind: str,
                  votes: pa.Array | pa.ChunkedArray | None = None) -> dict[str, int]:
    """Label -> rows (stance: ``target=label``). With the votes of a single-choice field,
    a null label is told apart: ``(tie)`` (votes, none on top) or ``(no answer)``."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if isinstance(votes, pa.ChunkedArray):
        votes = votes.combine_chunks()
    if kind == "single":
        values = column
        if votes is not None and pa.types.is_struct(votes.type) and votes.type.num_fields:
            answered = pc.greater(_votes_total(votes), 0)
            values = pc.coalesce(column, pc.if_else(answered, TIE, NO_ANSWER))
    elif kind in ("multi", "spans"):
        flat = pc.list_flatten(column)
        values = flat if kind == "multi" else flat.field("label")
    else:
        flat = pc.list_flatten(column)
        null_as: Any = TIE
        if votes is not None and pa.types.is_list(votes.type):
            null_as = pc.if_else(_stance_voted(column, votes), TIE, NO_ANSWER)
        return _pair_counts(flat.field("target"), pc.coalesce(flat.field("label"), null_as))
    out: dict[str, int] = {}
    for item in pc.value_counts(values).to_pylist():
        key = item["values"]
        out["(none)" if key is None else str(key)] = int(item["counts"])
    return dict(sorted(out.items()))


def _pair_counts(target: pa.Array, label: pa.Array) -> dict[str, int]:
    """``target=label`` -> rows, counted on dictionary codes (joining the strings of every
    row first cost 4x more on a 1M-row release); a null target or label counts as
    ``(none)``, as a null joined string did."""
    t = pc.dictionary_encode(target).combine_chunks() if isinstance(
        target, pa.ChunkedArray) else pc.dictionary_encode(target)
    lab = pc.dictionary_encode(label).combine_chunks() if isinstance(
        label, pa.ChunkedArray) else pc.dictionary_encode(label)
    ti = np.asarray(pc.fill_null(t.indices, -1), dtype=np.int64)
    li = np.asarray(pc.fill_null(lab.indices, -1), dtype=np.int64)
    width = len(lab.dictionary) + 1
    codes, counts = np.unique((ti + 1) * width + (li + 1), return_counts=True)
    names_t, names_l = t.dictionary.to_pylist(), lab.dictionary.to_pylist()
    out: dict[str, int] = {}
    for code, count in zip(codes.tolist(), counts.tolist(), strict=True):
        a, b = divmod(code, width)
        key = "(none)" if a == 0 or b == 0 else f"{names_t[a - 1]}={names_l[b - 1]}"
        out[key] = out.get(key, 0) + int(count)
    return dict(sorted(out.items()))


ARTICLE_COLUMNS = ("source", "published_at")
"""Columns of the article each released row carries (where it came from, and when)."""


def _article_columns(path: Path) -> pa.Table | None:
    """``article_id`` and :data:`ARTICLE_COLUMNS` of the articles table (None if absent)."""
    if not path.exists():
        return None
    try:
        names = pq.read_schema(path).names
        return read_parquet(path, columns=["article_id", *[c for c in ARTICLE_COLUMNS
                                                           if c in names]])
    except (OSError, pa.ArrowException) as exc:
        raise table_error(path, exc) from None


def _assemble(sentences: pa.Table, order: np.ndarray[Any, Any], agg: Aggregation,
              ratios: Sequence[float], articles: pa.Table | None = None) -> pa.Table:
    base = sentences.take(pa.array(order[agg.released_index])).select(
        [c for c in SENTENCE_COLUMNS if c in sentences.column_names])
    columns: dict[str, Any] = {c: base[c] for c in base.column_names}
    at = (pc.index_in(base["article_id"], value_set=articles["article_id"])
          if articles is not None else None)
    for c in ARTICLE_COLUMNS:
        if articles is not None and at is not None and c in articles.column_names:
            columns[c] = articles[c].take(at)
        else:  # an article no longer in the table: its rows say nothing of the source
            columns[c] = pa.nulls(base.num_rows, pa.string())
    for f in agg.fields:
        columns[f.name] = f.label
        columns[votes_column(f.name)] = f.votes
    columns["n_annotators"] = pa.array(agg.n_annotators, pa.int32())
    columns["agreement"] = agg.agreement
    columns["split"] = splits.assign(base["article_id"], ratios)
    return pa.table(columns)


def _leaf_paths(name: str, type_: pa.DataType) -> Iterator[str]:
    """Parquet column paths of an Arrow field (``tokens.list.element``, ``claim_votes.yes``)."""
    if pa.types.is_list(type_) or pa.types.is_large_list(type_):
        yield from _leaf_paths(f"{name}.list.element", type_.value_type)
    elif pa.types.is_struct(type_):
        for child in type_:
            yield from _leaf_paths(f"{name}.{child.name}", child.type)
    else:
        yield name


def _write(table: pa.Table, path: Path) -> dict[str, Any]:
    """Write one Parquet file, fsync it, and return its manifest entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = [f for f in table.schema if not pa.types.is_nested(f.type)]
    # statistics on scalar columns (predicate pushdown); dictionaries wherever values
    # repeat: tokens, labels, vote counts (ids and free text would only grow the file);
    # dictionary-encoded tokens make the data 30% smaller and `load` ~10% faster
    pq.write_table(
        table, path, compression="zstd", row_group_size=100_000,
        write_statistics=[f.name for f in flat if f.name != "text"],
        use_dictionary=[leaf for f in table.schema for leaf in _leaf_paths(f.name, f.type)
                        if leaf not in ("sentence_id", "text")])
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
    _pause()
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def _copy(source: pa.MemoryMappedFile, target: Path) -> dict[str, Any]:
    """Copy the mapped file byte for byte, fsync it, and return its manifest entry.

    The map holds the inode that was read, so a concurrent ``os.replace`` of
    the workspace file cannot slip a different version into the release.
    """
    data = source.read_at(source.size(), 0)
    with open(target, "wb") as fh:
        fh.write(memoryview(data))
        fh.flush()
        os.fsync(fh.fileno())
    _pause()
    return {"sha256": sha256_file(target), "bytes": target.stat().st_size}


def release(
    workspace: Workspace | Path | str | None,
    name: str,
    *,
    min_annotations: int = 1,
    split_ratios: Sequence[float] | str = (0.8, 0.1, 0.1),
    schema: SchemaLike | Path | str | None = None,
    message: str | None = None,
    resplit: bool = False,
    projects: Sequence[str] | None = None,
    annotator_names: bool = False,
    license: str | None = None,
    propagate: bool = True,
) -> ReleaseInfo:
    """Build ``releases/NAME/vNNNN`` from the workspace's sentences and annotations.

    A release holds one Label Studio project's annotations: the project titled NAME
    (as pushed from this workspace), else the only project in the annotations table.
    ``projects`` (titles) picks them, several to combine on purpose; annotations of
    several projects are never merged silently (ReleaseError). Annotators appear under
    stable pseudonyms (``corpus.releases.pseudonyms``) unless ``annotator_names``.
    ``license`` (an SPDX id, e.g. ``CC-BY-4.0``) is kept for later versions of NAME;
    without any, the card says the licence is unspecified (and ``warnings`` say so).
    ``propagate``: the members of a cluster of repeated sentences that nobody annotated
    get the cluster's labels, marked ``label_source = propagated``
    (``corpus.releases.propagation``); False leaves them out.

    Raises NothingToRelease when the data would be identical to the latest
    version, WorkspaceError when another release of NAME is running or the
    release folder is not writable, ReleaseError when ``split_ratios`` differ
    from the latest version's and would move released sentences to another
    split (``resplit=True`` moves them anyway and records it in the manifest).
    """
    ws = workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace)
    _check_name(name)
    if license is not None:
        license = check_license(license)
    ratios = splits.parse_ratios(split_ratios)
    from corpus.errors import check_int

    check_int("min_annotations", min_annotations, minimum=1)
    label_schema = _resolve_schema(schema)
    ws.require(ws.sentences, produced_by="corpus ingest")
    ws.require(ws.annotations, produced_by="corpus pull")
    release_dir = ws.releases_dir / name
    with ws.lock(f"release-{name}"):
        try:
            release_dir.mkdir(parents=True, exist_ok=True)
            _clean_leftovers(release_dir)
            tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=release_dir))
        except OSError as exc:
            if exc.errno in NOT_WRITABLE:
                raise not_writable(release_dir, exc) from None
            raise
        try:
            latest = latest_complete(release_dir)      # hand-made or broken folders: no
            number = latest + 1 if latest is not None else 1
            parent = version_name(latest) if latest is not None else None
            _check_free(release_dir / version_name(number))
            info = _build(ws, tmp, name, number, parent, label_schema, min_annotations,
                          ratios, message, resplit, projects, annotator_names, license,
                          propagate=propagate)
            final = release_dir / info.version
            if final.exists():
                raise ReleaseError(f"{final} already exists",
                                   hint="another release finished first; run again")
            os.rename(tmp, final)
            fsync_dir(release_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return ReleaseInfo(**{**info.__dict__, "path": final})


_SPDX = re.compile(r"^(LicenseRef-[A-Za-z0-9.\-]+|[A-Za-z0-9][A-Za-z0-9.\-+]*[A-Za-z0-9+])$")


def check_license(value: str) -> str:
    """``value`` if it has the shape of an SPDX licence id (``CC-BY-4.0``), else ReleaseError."""
    v = value.strip()
    if not _SPDX.match(v) or len(v) > 64:
        raise ReleaseError(f"--license {value!r} is not an SPDX licence id",
                           hint="pass an id from https://spdx.org/licenses/, e.g. CC-BY-4.0, "
                           "CC-BY-NC-4.0, MIT, or LicenseRef-<yours>")
    return v


def _check_free(final: Path) -> None:
    """The next version's name must be free: a broken or hand-made folder there is named."""
    if not final.exists():
        return
    try:
        check_complete(final)
        reason = "a complete version appeared meanwhile"
    except ReleaseError as exc:
        reason = exc.message
    raise ReleaseError(f"{final} exists but is not a complete released version ({reason})",
                       hint="move it out of the release folder (or restore it from a "
                            "backup), then run again")


def _ratios_text(ratios: Sequence[float]) -> str:
    return "/".join(f"{r * 100:.4g}" for r in ratios)


def _check_splits_kept(table: pa.Table, parent_dir: Path, parent_manifest: dict[str, Any],
                       ratios: Sequence[float]) -> None:
    """Refuse ratios that move a sentence released in the parent to another split."""
    old_ratios = parent_manifest.get("params", {}).get("split_ratios")
    if old_ratios is not None and [round(r, 6) for r in ratios] == list(old_ratios):
        return                                    # the same rule: nothing can move
    old = pa.concat_tables([
        pq.read_table(parent_dir / data_file(s), columns=["sentence_id", "split"])
        for s in SPLITS]).rename_columns(["sentence_id", "old_split"])
    joined = table.select(["sentence_id", "split"]).join(old, "sentence_id", join_type="inner")
    moved = int(pc.sum(pc.not_equal(joined["split"], joined["old_split"])).as_py() or 0)
    if moved:
        was = f" (the ratios of {parent_dir.name})" if old_ratios else ""
        raise ReleaseError(
            f"--split {_ratios_text(ratios)} would move {moved} of {joined.num_rows} sentences "
            f"released in {parent_dir.name} ({parent_dir}) to another split; a sentence "
            f"never changes split between versions",
            hint=(f"keep --split {_ratios_text(old_ratios)}{was}" if old_ratios else
                  f"keep the split ratios of {parent_dir.name}")
            + ", or pass --resplit to move them anyway (recorded in the manifest)")


def _seal(tmp: Path, umask: int) -> None:
    """Released files read-only to everyone (0444 less the umask), folders as the umask
    says (mkdtemp made the top one 0700); then fsync what changed."""
    for path in sorted(tmp.rglob("*")):
        if path.is_file():
            os.chmod(path, 0o444 & ~umask)
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        elif path.is_dir():
            os.chmod(path, 0o777 & ~umask)
    os.chmod(tmp, 0o777 & ~umask)


def _pushed_projects(ws: Workspace) -> dict[int, dict[str, Any]]:
    """Label Studio project id -> {title, id, targets} of every project pushed from ``ws``."""
    from corpus.labelstudio.sync import ProjectSync

    out: dict[int, dict[str, Any]] = {}
    if not ws.sync_dir.is_dir():
        return out
    for folder in sorted(ws.sync_dir.iterdir()):
        if not folder.is_dir():
            continue
        try:
            state = ProjectSync(folder.name, folder).read_state()
        except WorkspaceError:
            continue
        if state and isinstance(state.get("project_id"), int):
            out[state["project_id"]] = {"title": str(state.get("project") or folder.name),
                                        "id": state["project_id"],
                                        "targets": list(state.get("targets") or [])}
    return out


def select_projects(ws: Workspace, name: str, projects: Sequence[str] | None,
                    project_ids: Sequence[int],
                    parent: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The Label Studio projects a release of ``name`` holds (see :func:`release`).

    Without ``projects`` a new version holds the projects of its ``parent`` manifest
    (every project in the table for a parent built before projects were recorded), so a
    release never narrows or widens silently.
    """
    pushed = _pushed_projects(ws)
    by_title = {p["title"]: p for p in pushed.values()}
    if not projects and parent is not None:
        kept = parent.get("projects")
        ids = ([int(p["id"]) for p in kept if isinstance(p, dict) and "id" in p]
               if isinstance(kept, list) else list(project_ids))
        return [pushed.get(i) or {"title": None, "id": i, "targets": []} for i in ids]
    if projects:
        chosen = []
        for title in dict.fromkeys(projects):
            if title not in by_title:
                raise ReleaseError(
                    f"no project {title!r} was pushed from this workspace ({ws.sync_dir})",
                    hint="pass --project with a title you pushed: "
                    + (", ".join(sorted(by_title)) or "none yet"))
            chosen.append(by_title[title])
        return chosen
    if name in by_title:
        return [by_title[name]]
    if len(project_ids) <= 1:
        return [pushed.get(i) or {"title": None, "id": i, "targets": []} for i in project_ids]
    titles = [str((pushed.get(i) or {}).get("title") or f"id {i}") for i in project_ids]
    raise ReleaseError(
        f"{ws.annotations} holds annotations of {len(project_ids)} Label Studio projects "
        f"({', '.join(titles)}) and none is titled {name!r}; a release never merges projects "
        "silently",
        hint="name the release after its project, pass --project TITLE, or combine on purpose "
        "with --project A --project B")


def _build(ws: Workspace, tmp: Path, name: str, number: int, parent: str | None,
           schema: SchemaLike, min_annotations: int, ratios: Sequence[float],
           message: str | None, resplit: bool = False,
           projects: Sequence[str] | None = None,
           annotator_names: bool = False,
           license: str | None = None, *, propagate: bool = True) -> ReleaseInfo:
    version = version_name(number)
    clock = _Clock()
    # import matplotlib (~1 s of bytecode) while the C++ Parquet reader holds no GIL
    warm = threading.Thread(target=chart.preload, daemon=True)
    warm.start()
    sentences = _read_parquet(ws.sentences, "sentences")
    clock.lap("read sentences")
    missing = [c for c in ("sentence_id", "article_id") if c not in sentences.column_names]
    if missing:
        raise WorkspaceError(f"{ws.sentences} lacks column(s) {', '.join(missing)}",
                             hint="re-run `corpus split` to rebuild the sentences table")
    keys = [k for k in ("article_id", "para_idx", "sent_idx", "sentence_id")
            if k in sentences.column_names]
    order = np.asarray(pc.sort_indices(sentences.select(keys),
                                       sort_keys=[(k, "ascending") for k in keys]))
    sorted_ids = sentences["sentence_id"].take(pa.array(order)).combine_chunks()
    try:
        ann_map = pa.memory_map(str(ws.annotations))
    except OSError as exc:  # missing, unreadable, or empty (cannot be mapped)
        raise table_error(ws.annotations, exc) from None
    annotations = _read_parquet(ann_map, "annotations", path=ws.annotations)
    in_table = sorted(int(p) for p in pc.unique(annotations["ls_project_id"]).to_pylist()
                      if p is not None) if "ls_project_id" in annotations.column_names else []
    from corpus.labelstudio.adjudication import release_decisions
    _, rounds = release_decisions(ws, annotations, [])
    in_table = [p for p in in_table if p not in rounds]  # decisions are not votes
    parent_manifest = read_manifest(tmp.parent / parent) if parent is not None else None
    chosen = select_projects(ws, name, projects, in_table, parent_manifest)
    wanted = {int(p["id"]) for p in chosen}
    decisions, _ = release_decisions(ws, annotations, sorted(wanted))
    as_read = annotations                         # the file's rows, unchanged: copied as is
    if (set(in_table) - wanted) or rounds:
        annotations = annotations.filter(pc.fill_null(pc.is_in(
            annotations["ls_project_id"], value_set=pa.array(sorted(wanted), pa.int64())),
            False))
    provenance = None
    if decisions is not None:
        from corpus.labelstudio.adjudication import released_provenance
        provenance = released_provenance(ws, decisions, sorted_ids, annotator_names)
    if not annotator_names:
        annotations = pseudonymise(ws, annotations)
        decisions = pseudonymise(ws, decisions) if decisions is not None else None
    clock.lap("read annotations")
    agg = aggregate(annotations, sorted_ids, schema, min_annotations=min_annotations,
                    decisions=decisions)
    clock.lap("aggregate")
    if len(agg.released_index) == 0:
        raise NothingToRelease(
            f"no sentence in {ws.annotations} has {min_annotations} or more annotations",
            hint="pull more annotations or lower --min-annotations")
    article_cols = _article_columns(ws.articles)
    table = _assemble(sentences, order, agg, ratios, article_cols)
    table, propagated = propagate_labels(
        table, sentences, article_cols, [f.name for f in agg.fields if f.kind == "spans"],
        enabled=propagate)
    del sentences
    if license is None and parent_manifest is not None:
        license = parent_manifest.get("license")         # remembered per release name
    if parent_manifest is not None and not resplit:
        _check_splits_kept(table, tmp.parent / str(parent), parent_manifest, ratios)
    clock.lap("assemble")

    files: dict[str, dict[str, Any]] = {}
    split_col = table["split"]
    rows: dict[str, int] = {}
    articles: dict[str, int] = {}
    split_tables: dict[str, pa.Table] = {}
    # Parquet encoding and hashing release the GIL: write in threads while the
    # main thread measures agreement and draws the chart.
    with ThreadPoolExecutor(max_workers=2) as pool:
        writes: dict[str, Future[dict[str, Any]]] = {}
        for s in SPLITS:
            part = table.filter(pc.equal(split_col, s))
            split_tables[s] = part
            rows[s] = part.num_rows
            articles[s] = len(pc.unique(part["article_id"]))
            writes[data_file(s)] = pool.submit(_write, part, tmp / data_file(s))
        rows["total"] = table.num_rows
        articles["total"] = len(pc.unique(table["article_id"]))
        ann_out = _released_annotations(annotations, agg)
        if ann_out is annotations is as_read:     # every row released: copy, don't re-encode
            writes[ANNOTATIONS_FILE] = pool.submit(_copy, ann_map, tmp / ANNOTATIONS_FILE)
        else:
            writes[ANNOTATIONS_FILE] = pool.submit(_write, ann_out, tmp / ANNOTATIONS_FILE)
        if provenance is not None and provenance.num_rows:
            from corpus.labelstudio.adjudication import ADJUDICATIONS_FILE
            provenance = provenance.filter(pc.is_in(provenance["sentence_id"],
                                                    value_set=agg.sentence_ids))
            writes[ADJUDICATIONS_FILE] = pool.submit(_write, provenance,
                                                     tmp / ADJUDICATIONS_FILE)
        del annotations, as_read
        clock.lap("split + select annotations")
        manifest = _describe(schema, agg, table, split_tables, ann_out)
        manifest["projects"] = chosen
        manifest["propagated"] = propagated
        clock.lap("labels + agreement")
        drawn = chart.can_render()
        if drawn:
            chart.render_chart({**manifest, "name": name, "version": version, "rows": rows},
                               tmp / CHART_FILE)
            clock.lap("chart")
        for rel, fut in writes.items():
            files[rel] = fut.result()
        clock.lap("wait for parquet writes")
    for s in SPLITS:
        files[data_file(s)]["rows"] = rows[s]
    files.update(_copy_screens(ws, chosen, tmp))
    files[ANNOTATIONS_FILE]["rows"] = ann_out.num_rows
    if provenance is not None and "adjudications.parquet" in files:
        files["adjudications.parquet"]["rows"] = provenance.num_rows
    content = content_sha256(files, [data_file(s) for s in SPLITS])
    if parent_manifest is not None and parent_manifest.get("content_sha256") == content:
        raise NothingToRelease(
            f"release {name} would be identical to {parent} "
            f"({tmp.parent / str(parent)}): no new or changed annotations",
            hint="pull new annotations (or change --min-annotations/--split) and run again")
    if drawn:
        files[CHART_FILE] = {"sha256": sha256_file(tmp / CHART_FILE),
                             "bytes": (tmp / CHART_FILE).stat().st_size}
    created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    manifest = {
        "format": FORMAT,
        "name": name,
        "version": version,
        "number": number,
        "parent": parent,
        "parent_manifest_sha256": (sha256_file(tmp.parent / str(parent) / MANIFEST)
                                   if parent is not None else None),
        "created_at": created_at,
        "message": message,
        "license": license,
        "corpus_version": _corpus_version(),
        **manifest,
        "params": {"min_annotations": min_annotations,
                   "split_ratios": [round(r, 6) for r in ratios],
                   "resplit": resplit,
                   "annotator_names": annotator_names,
                   "propagate": propagate,
                   "split_rule": "sha256(article_id)[:8] / 2**64 -> train|validation|test"},
        "rows": rows,
        "articles": articles,
        "arrow_nbytes": {**{s: split_tables[s].nbytes for s in SPLITS},
                         "annotations": ann_out.nbytes},
        "content_sha256": content,
        "files": files,
    }
    _pause()
    body = manifest_bytes(manifest)
    (tmp / MANIFEST).write_bytes(body)
    manifest_sha = hashlib.sha256(body).hexdigest()
    readme = card.render(manifest, manifest_sha, table.schema, ann_out.schema).encode()
    (tmp / CARD).write_bytes(readme)
    (tmp / MANIFEST_SIDECAR).write_text(sidecar_text({
        MANIFEST: manifest_sha, CARD: hashlib.sha256(readme).hexdigest()}), encoding="utf-8")
    _seal(tmp, current_umask())
    for d in (tmp / "data", *sorted({(tmp / f).parent for f in files if f.startswith("docs/")},
                                    reverse=True), *([tmp / "docs"] if drawn else []), tmp):
        fsync_dir(d)
    _pause()
    clock.lap("manifest + card")
    warnings = [] if license else [
        f"no licence for release {name}: the card says it is unspecified (pass --license, "
        "e.g. --license CC-BY-4.0; later versions keep it)"]
    warnings += [f"the {s} split of {name} {version} is empty" for s in SPLITS if not rows[s]]
    return ReleaseInfo(projects=chosen, warnings=warnings, license=license, name=name,
                       version=version, number=number, path=tmp, parent=parent,
                       rows=rows, content_sha256=content, manifest_sha256=manifest_sha,
                       created_at=created_at, timings=clock.phases, chart=drawn,
                       propagated=propagated)


def _copy_screens(ws: Workspace, chosen: Sequence[Mapping[str, Any]], tmp: Path
                  ) -> dict[str, dict[str, Any]]:
    """Copy each project's label config and guidelines, as last pushed, into the version
    folder (``docs/projects/<project>/``); a project pushed before they were kept has none."""
    from corpus.labelstudio.sync import ProjectSync

    out: dict[str, dict[str, Any]] = {}
    for project in chosen:
        title = project.get("title")
        if not isinstance(title, str) or not title:
            continue
        sync = ProjectSync.of(ws, title)
        for source in (sync.label_config_path, sync.guidelines_path):
            try:
                data = source.read_bytes()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise WorkspaceError(f"{source}: cannot be read ({type(exc).__name__})",
                                     hint="check the file's permissions, or push the "
                                     "project again to write it anew") from None
            rel = f"{SCREEN_DIR}/{title}/{source.name}"
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_bytes(data)
            out[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return out


def _released_annotations(annotations: pa.Table, agg: Aggregation) -> pa.Table:
    """Every annotation (cancelled included) of the released sentences, in workspace order.

    A filter, not a sort: gathering a million shuffled rows with list columns
    costs seconds, and row order does not enter the content hash (data files only).
    """
    if agg.row_released.all():
        return annotations
    return annotations.filter(pa.array(agg.row_released))


def _describe(schema: SchemaLike, agg: Aggregation, table: pa.Table,
              split_tables: dict[str, pa.Table], ann_out: pa.Table) -> dict[str, Any]:
    """The data-derived part of the manifest: schema, labels, agreement, provenance."""
    primary = primary_field(schema)
    fields_meta = [{"name": f.name, "kind": f.kind, "values": list(f.values)}
                   for f in schema.fields]
    labels: dict[str, dict[str, dict[str, int]]] = {}
    for f in agg.fields:
        vc = votes_column(f.name)
        per_split = {s: _label_counts(split_tables[s][f.name], f.kind, split_tables[s][vc])
                     for s in SPLITS}
        total: Counter[str] = Counter()
        for counts in per_split.values():   # the splits partition the rows
            total.update(counts)
        labels[f.name] = {"all": dict(sorted(total.items())), **per_split}
    agreement_rows = {k: 0 for k in ("unanimous", "majority", "tie", "adjudicated")}
    for item in pc.value_counts(agg.agreement).to_pylist():
        if item["values"] is not None:
            agreement_rows[str(item["values"])] = int(item["counts"])
    projects = sorted(int(p) for p in pc.unique(ann_out["ls_project_id"]).to_pylist()
                      if p is not None) if "ls_project_id" in ann_out.column_names else []
    langs = sorted(str(x) for x in pc.unique(table["lang"]).to_pylist() if x) \
        if "lang" in table.column_names else []
    return {
        "schema": {"name": schema.name, "version": schema.version, "sha256": schema.sha256,
                   "fields": fields_meta},
        "guidelines_version": getattr(schema, "guidelines_version", None) or schema.version,
        "labelstudio_projects": projects,
        "languages": langs,
        "primary_field": primary,
        "annotations": {"rows": ann_out.num_rows, "annotators": len(agg.annotators),
                        "schema_versions": {
                            str(item["values"]): int(item["counts"])
                            for item in pc.value_counts(ann_out["schema_version"]).to_pylist()
                        } if "schema_version" in ann_out.column_names else {},
                        "counted": agg.stats.get("kept_annotations", 0), **{
                            k: v for k, v in agg.stats.items()
                            if k in ("cancelled", "superseded", "orphans")}},
        "labels": labels,
        "label_columns": [f.name for f in agg.fields],
        "single_vote_labels": single_votes(agg),
        "agreement": {
            "rows": agreement_rows,
            "krippendorff_alpha": agreement_mod.field_agreement(agg),
            "pairwise": {"field": primary,
                         "pairs": agreement_mod.pairwise(agg, primary) if primary else []},
        },
        "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
    }

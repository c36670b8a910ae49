"""Near-duplicate clusters: golden cases (exact after normalisation, near, not near, short
sentences, headings), the vectorised MinHash against a plain reference, the choice of
representatives, and split writing ``cluster_id`` (library and CLI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dedup_cases import BASE, EN, EN_NEAR, NEAR, NOT_NEAR, write_jsonl
from typer.testing import CliRunner

from corpus.cli.main import app
from corpus.duplicates import cluster_ids, dedup_key, representatives
from corpus.duplicates.minhash import (
    PERMUTATIONS,
    SHINGLE,
    _params,
    bands_for,
    codepoints,
    components,
    shingles,
    signatures,
)
from corpus.errors import OptionError
from corpus.storage.tables import sentence_id_for


def jaccard(a: str, b: str) -> float:
    """Exact Jaccard similarity of the character 3-gram sets of two keys."""
    ka, kb = dedup_key(a), dedup_key(b)
    sa = {ka[i:i + SHINGLE] for i in range(len(ka) - SHINGLE + 1)}
    sb = {kb[i:i + SHINGLE] for i in range(len(kb) - SHINGLE + 1)}
    return len(sa & sb) / len(sa | sb)


def table_of(articles: list[list[str | tuple[str, str]]]) -> pa.Table:
    """A sentence table: one list of sentences per article (``(text, "heading")`` for a
    heading), rows in article order as split writes them."""
    rows: dict[str, list[object]] = {"sentence_id": [], "article_id": [], "text": [],
                                     "kind": []}
    for a, sentences in enumerate(articles):
        aid = f"art{a:03d}"
        at = 0
        for item in sentences:
            text, kind = (item, "sentence") if isinstance(item, str) else item
            rows["sentence_id"].append(sentence_id_for(aid, at, at + len(text), text))
            rows["article_id"].append(aid)
            rows["text"].append(text)
            rows["kind"].append(kind)
            at += len(text)
    return pa.table(rows)


def clusters(table: pa.Table, **kw: float) -> dict[tuple[int, int], str]:
    """(article, position) -> cluster_id."""
    ids, _ = cluster_ids(table, **kw)
    out: dict[tuple[int, int], str] = {}
    pos: dict[str, int] = {}
    for aid, cid in zip(table.column("article_id").to_pylist(), ids.to_pylist(), strict=True):
        a = int(aid[3:])
        out[(a, pos.get(aid, 0))] = cid
        pos[aid] = pos.get(aid, 0) + 1
    return out


def test_keys_fold_width_case_whitespace_and_punctuation() -> None:
    assert dedup_key("英伟达表示，芯片不存在“后门”。") == dedup_key("英伟达表示,芯片不存在\"后门\".")
    assert dedup_key(" 英伟达 表示：芯片不存在后门！") == "英伟达表示芯片不存在后门"
    assert dedup_key("ＮＶＩＤＩＡ said: no back doors!") == dedup_key("Nvidia said no back-doors.")
    assert dedup_key("增长5%") != dedup_key("增长6%")        # digits are content
    assert dedup_key("……") == ""


def test_golden_exact_near_and_not_near() -> None:
    assert jaccard(BASE, NEAR) >= 0.85         # one character changed of ~45
    assert jaccard(BASE, NOT_NEAR) < 0.3
    assert jaccard(EN, EN_NEAR) >= 0.85
    exact = BASE.replace("，", ",").replace("。", ".")
    t = table_of([
        ["第一段开头。", BASE, EN, "结尾是另一句完全不同的话，讲的是天气和交通。"],
        ["别的开头，讲体育比赛的结果。", exact, "中间一句无关的话，讲的是股票市场。"],
        [NEAR, EN_NEAR, NOT_NEAR],
    ])
    c = clusters(t)
    assert c[(0, 1)] == c[(1, 1)] == c[(2, 0)]           # exact after normalisation + near
    assert c[(0, 2)] == c[(2, 1)]                        # English, case and a plural
    assert c[(2, 2)] != c[(0, 1)]                        # same topic, other sentence
    assert len({c[(0, 0)], c[(0, 3)], c[(1, 0)], c[(1, 2)], c[(2, 2)]}) == 5
    # the cluster id is the smallest sentence_id of the cluster; a singleton keeps its own
    ids = t.column("sentence_id").to_pylist()
    keys = sorted(c)
    sid = dict(zip(keys, ids, strict=True))
    assert c[(0, 1)] == min(sid[(0, 1)], sid[(1, 1)], sid[(2, 0)])
    assert c[(2, 2)] == sid[(2, 2)]
    # threshold 1: exact duplicates only
    e = clusters(t, threshold=1.0)
    assert e[(0, 1)] == e[(1, 1)] != e[(2, 0)]
    assert e[(0, 2)] != e[(2, 1)]


def test_near_needs_the_threshold() -> None:
    two = BASE.replace("周三", "上周").replace("第二", "第三")        # four characters changed
    j = jaccard(BASE, two)
    assert 0.6 < j < 0.8
    t = table_of([[BASE], [two]])
    assert len(set(clusters(t).values())) == 2                    # default 0.8: apart
    assert len(set(clusters(t, threshold=0.5).values())) == 1     # a lower threshold joins


def test_short_sentences_cluster_only_with_the_same_neighbours() -> None:
    a = "英伟达的股价今天大涨了百分之八，创下历史新高。"
    b = "特朗普宣布对进口芯片加征关税，市场一片哗然。"
    t = table_of([
        [a, "他说。", b],                    # a syndicated copy of this passage ...
        [a, "他说。", b],                    # ... is the same passage
        ["今天的天气非常好，适合出门散步。", "他说。", "明天可能会下雨，记得带伞出门。"],
    ])
    c = clusters(t)
    assert c[(0, 1)] == c[(1, 1)]                     # same neighbours: one cluster
    assert c[(2, 1)] != c[(0, 1)]                     # unrelated context: its own
    assert c[(0, 0)] == c[(1, 0)] == c[(0, 0)]


def test_headings_and_empty_keys_are_never_clustered() -> None:
    t = table_of([[("市场动态", "heading"), "……", BASE], [("市场动态", "heading"), "……", BASE]])
    c = clusters(t)
    assert c[(0, 0)] != c[(1, 0)]
    assert c[(0, 1)] != c[(1, 1)]
    assert c[(0, 2)] == c[(1, 2)]


def test_cluster_ids_do_not_depend_on_article_order() -> None:
    arts: list[list[str | tuple[str, str]]] = [
        [BASE, EN, "另一句话，和别的都不一样，讲的是农业。"], [NEAR, "这句只在这里出现，讲的是教育。"],
        [EN_NEAR, BASE]]
    t = table_of(arts)
    ids, _ = cluster_ids(t)
    forward = dict(zip(t.column("sentence_id").to_pylist(), ids.to_pylist(), strict=True))
    rev = table_of(arts)
    order = [i for a in (2, 1, 0) for i, x in enumerate(rev.column("article_id").to_pylist())
             if x == f"art{a:03d}"]
    rev = rev.take(pa.array(order))
    ids2, _ = cluster_ids(rev)
    backward = dict(zip(rev.column("sentence_id").to_pylist(), ids2.to_pylist(), strict=True))
    assert forward == backward


def test_cluster_ids_do_not_depend_on_article_order_at_scale() -> None:
    """Many near copies (a number changed each time): which bucket member the others are
    compared with must not follow the row order."""
    import random

    rng = random.Random(5)
    arts: list[list[str | tuple[str, str]]] = []
    for _ in range(60):
        arts.append([BASE.replace("第二", f"第{rng.randint(1, 9)}").replace(
            "周三", f"{rng.randint(1, 28)}日"), EN.replace("next", f"in {rng.randint(1, 12)}")])
    t = table_of(arts)
    ids, _ = cluster_ids(t)
    forward = dict(zip(t.column("sentence_id").to_pylist(), ids.to_pylist(), strict=True))
    for seed in (1, 2):
        order = list(range(len(arts)))
        random.Random(seed).shuffle(order)
        rows = [i for a in order for i in (2 * a, 2 * a + 1)]
        shuffled = t.take(pa.array(rows))
        again, _ = cluster_ids(shuffled)
        assert dict(zip(shuffled.column("sentence_id").to_pylist(), again.to_pylist(),
                        strict=True)) == forward


def test_report_counts() -> None:
    t = table_of([[BASE, EN], [BASE, EN_NEAR], [NEAR, "完全无关的一句话，讲的是文学。"]])
    _, report = cluster_ids(t)
    assert (report.sentences, report.clusters, report.clustered) == (6, 2, 5)
    assert report.exact == 2 and report.duplicates == 3


def test_threshold_is_checked() -> None:
    for bad in (0, -0.1, 1.5, float("nan")):
        with pytest.raises(OptionError):
            cluster_ids(table_of([[BASE]]), threshold=bad)


def _mixed_table() -> pa.Table:
    """Near copies (a number changed each time), exact copies with other punctuation,
    short sentences with and without their neighbours, headings: every path at once."""
    import random

    rng = random.Random(11)
    arts: list[list[str | tuple[str, str]]] = []
    for a in range(40):
        near = BASE.replace("第二", f"第{rng.randint(1, 9)}").replace(
            "周三", f"{rng.randint(1, 28)}日")
        passage = ["他说。", EN if a % 3 else EN_NEAR, "对此，他表示："]
        arts.append([(f"标题{a % 4}", "heading"), near, *passage,
                     f"只在第{a}篇出现的句子，讲的是第{a}件事情。", "他说。",
                     BASE.replace("，", ",") if a % 5 == 0 else NOT_NEAR])
    return table_of(arts)


def test_out_of_core_clusters_do_not_depend_on_batch_or_block_sizes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Split clusters its file a batch at a time, with the long keys, signatures and band
    keys on disk: batches that cut articles, keys repeated across batches and signatures
    read back in small blocks must give the ids of one pass over the whole table."""
    from corpus.duplicates import clustering

    table = _mixed_table()
    raw = tmp_path / "rows.parquet"
    pq.write_table(table, raw, row_group_size=50)
    whole, report = cluster_ids(table)
    assert report.clusters >= 4 and report.near_keys > 10  # every path is exercised
    assert clustering.cluster_file(raw).ids().to_pylist() == whole.to_pylist()
    monkeypatch.setattr(clustering, "BATCH_ROWS", 7)
    monkeypatch.setattr(clustering, "SIGNATURE_BLOCK", 5)
    small = clustering.cluster_file(raw)
    assert small.ids().to_pylist() == whole.to_pylist()
    assert small.ids(10, 20).to_pylist() == whole.to_pylist()[10:30]
    assert (small.report.clusters, small.report.clustered, small.report.exact) == (
        report.clusters, report.clustered, report.exact)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.parquet"]  # scratch removed


def test_out_of_core_near_pairs_equal_the_in_memory_lsh() -> None:
    """The disk path (band keys per file, candidates, then signatures of the candidates
    only) links exactly the keys the plain in-memory LSH over every signature links."""
    from corpus.duplicates.clustering import key_hashes
    from corpus.duplicates.minhash import similar_pairs

    table = _mixed_table()
    ids, _ = cluster_ids(table)
    row_keys = [dedup_key(t) if k != "heading" else ""
                for t, k in zip(table.column("text").to_pylist(),
                                table.column("kind").to_pylist(), strict=True)]
    keys = sorted({k for k in row_keys if len(k) >= 20})
    order = np.argsort(key_hashes(pa.array(keys)), kind="stable")   # the clustering's order
    keys = [keys[i] for i in order]
    comp = components(len(keys), *similar_pairs(signatures(pa.array(keys)), 0.8))
    assert len(set(comp.tolist())) < len(keys) - 10              # many near copies linked
    want = dict(zip(keys, comp.tolist(), strict=True))
    cluster_of = {k: c for k, c in zip(row_keys, ids.to_pylist(), strict=True) if k in want}
    for ka in want:
        for kb in want:
            assert (cluster_of[ka] == cluster_of[kb]) == (want[ka] == want[kb]), (ka, kb)


def test_scratch_files_are_removed_when_clustering_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from corpus.duplicates import clustering

    raw = tmp_path / "rows.parquet"
    pq.write_table(_mixed_table(), raw)

    def broken(*args: object, **kw: object) -> object:
        raise MemoryError("injected")

    monkeypatch.setattr(clustering, "signatures", broken)
    with pytest.raises(MemoryError):
        clustering.cluster_file(raw)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.parquet"]


def test_vectorised_minhash_equals_a_plain_reference() -> None:
    texts = [dedup_key(x) for x in (BASE, NEAR, NOT_NEAR, EN, "abc", "𠀀𠀁𠀂汉字")]
    cps, offsets = codepoints(texts)
    keys, starts = shingles(cps, offsets)
    sig = signatures(pa.array(texts), threads=2)
    a, b = _params(PERMUTATIONS)
    mask = (1 << 64) - 1
    for i, text in enumerate(texts):
        grams = [text[p:p + SHINGLE] for p in range(len(text) - SHINGLE + 1)]
        ks = [(ord(g[0]) << 42) | (ord(g[1]) << 21) | ord(g[2]) for g in grams]
        assert keys[starts[i]:starts[i + 1]].tolist() == ks
        want = [min(((int(a[j]) * k + int(b[j])) & mask) >> 32 for k in ks)
                for j in range(PERMUTATIONS)]
        assert sig[i].tolist() == want
    # the estimate follows the exact Jaccard similarity
    est = float((sig[0] == sig[1]).mean())
    assert abs(est - jaccard(BASE, NEAR)) < 0.2
    assert float((sig[0] == sig[2]).mean()) < 0.4


def test_bands_give_recall_at_the_threshold() -> None:
    for t in (0.5, 0.7, 0.8, 0.9, 0.95):
        b, r = bands_for(t)
        assert b * r <= PERMUTATIONS
        assert 1 - (1 - t**r) ** b >= 0.97
    assert bands_for(0.9)[1] >= bands_for(0.5)[1]


def test_components_are_connected_and_labelled_by_their_smallest_node() -> None:
    u = np.array([5, 1, 7, 3], dtype=np.int64)
    v = np.array([1, 9, 8, 9], dtype=np.int64)
    assert components(10, u, v).tolist() == [0, 1, 2, 1, 4, 1, 6, 7, 7, 1]


def test_representatives_keep_a_pushed_member() -> None:
    cluster_of = {"s1": "s1", "s2": "s1", "s3": "s1", "s4": "s4", "s5": "s4", "s6": "s6"}
    send, left = representatives(["s3", "s2", "s1", "s5", "s4", "s6"], cluster_of, set())
    assert send == [False, False, True, False, True, True] and left == 3
    # s3 already has a task: it stays the cluster's, whatever id is smaller
    send, left = representatives(["s3", "s2", "s1", "s5", "s4", "s6"], cluster_of, {"s3"})
    assert send == [False, False, False, False, True, True] and left == 3
    # a pushed member outside this push's articles still counts
    send, left = representatives(["s5"], cluster_of, {"s4"})
    assert send == [False] and left == 1
    # no cluster known: every sentence is its own
    send, left = representatives(["x", "y"], {}, set())
    assert send == [True, True] and left == 0


DUP_ARTICLES = {
    "x0": f"{BASE}\n\n今天的天气非常好，适合出门散步。\n\n{EN}",
    "x1": f"别的开头，讲体育比赛的结果。\n\n{NEAR}\n\n{EN_NEAR}",
    "x2": "这篇文章和别的都不一样，讲的是农业和农村。\n\n只出现一次的句子，讲的是教育改革。",
}


def test_split_writes_cluster_ids_and_the_cli_says_how_many(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "a.jsonl", DUP_ARTICLES)
    ws = tmp_path / "ws"
    result = CliRunner().invoke(app, ["ingest", str(src), "-w", str(ws)])
    assert result.exit_code == 0, result.output
    assert "repeats: 4 sentences in 2 clusters" in result.output
    assert "2 fewer tasks" in result.output
    rows = pq.read_table(ws / "sentences.parquet").to_pylist()
    by_text = {r["text"]: r for r in rows}
    assert by_text[BASE]["cluster_id"] == by_text[NEAR]["cluster_id"] == min(
        by_text[BASE]["sentence_id"], by_text[NEAR]["sentence_id"])
    assert by_text[EN]["cluster_id"] == by_text[EN_NEAR]["cluster_id"]
    singles = [r for r in rows if r["text"] not in (BASE, NEAR, EN, EN_NEAR)]
    assert singles and all(r["cluster_id"] == r["sentence_id"] for r in singles)
    # exact only: nothing repeats exactly here
    result = CliRunner().invoke(app, ["split", "-w", str(ws), "--dedup-threshold", "1"])
    assert result.exit_code == 0, result.output
    assert "repeats:" not in result.output
    rows = pq.read_table(ws / "sentences.parquet").to_pylist()
    assert all(r["cluster_id"] == r["sentence_id"] for r in rows)
    assert not list(ws.glob(".tmp-*"))
    result = CliRunner().invoke(app, ["split", "-w", str(ws), "--dedup-threshold", "0"])
    assert result.exit_code == 2


def test_sentence_ids_pack_in_the_order_of_their_strings() -> None:
    from corpus.duplicates.sentence_ids import SentenceIds, pack, unpack

    ids = [sentence_id_for("a", i, i + 3, "abc") for i in range(300)]
    ids += ["s" + "f" * 20, "s" + "0" * 20, "s" + "0" * 19 + "1", "s" + "a" * 16 + "0000"]
    packed = pack(pa.array(ids).slice(2))
    assert packed is not None and unpack(*packed).to_pylist() == ids[2:]
    held = SentenceIds()
    held.append(pa.array(ids[:100]))
    held.append(pa.chunked_array([pa.array(ids[100:])]))
    held.finish()
    assert held.strings is None and len(held) == len(ids)     # packed, 10 bytes a row
    assert [ids[i] for i in held.order()] == sorted(ids)
    assert held.take(np.array([5, 0])).to_pylist() == [ids[5], ids[0]]
    for odd in (["S" + "0" * 20], ["s" + "0" * 19 + "G"], ["s123"], ["s" + "0" * 19 + "é"]):
        assert pack(pa.array(odd)) is None


def test_clusters_of_ids_of_another_form_are_their_smallest_id(tmp_path: Path) -> None:
    """A hand-made or older table with ids that are not split's: kept as strings (a
    form change half way through the rows included), the same clusters."""
    from corpus.duplicates import clustering

    table = _mixed_table()
    want, _ = cluster_ids(table)
    rename = {sid: f"id-{i:05d}-{sid}" for i, sid in enumerate(
        table.column("sentence_id").to_pylist())}
    for cut in (0, 150):
        sids = table.column("sentence_id").to_pylist()
        renamed = table.set_column(0, "sentence_id", pa.array(
            sids[:cut] + [rename[s] for s in sids[cut:]]))
        ids = clustering.cluster_batches(renamed.to_batches(64),
                                         tmp_path / f"rows{cut}").ids().to_pylist()
        by_cluster: dict[str, set[str]] = {}
        for sid, cid in zip(sids, want.to_pylist(), strict=True):
            by_cluster.setdefault(cid, set()).add(sid)
        members = {s: by_cluster[c] for s, c in zip(sids, want.to_pylist(), strict=True)}
        names = dict(zip(sids, renamed.column("sentence_id").to_pylist(), strict=True))
        for sid, cid in zip(sids, ids, strict=True):
            assert cid == min(names[m] for m in members[sid])
    assert not list(tmp_path.iterdir())   # scratch files removed


def test_nulls_in_a_hand_made_table_do_not_depend_on_batches(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The schema forbids them, but `cluster_ids` takes any table: a null text has no key
    (never clustered), null article ids are one article in every batch cut."""
    from corpus.duplicates import clustering

    sid = [sentence_id_for("x", i, i + 1, "t") for i in range(7)]
    table = pa.table({"sentence_id": sid, "article_id": pa.array([None] * 7, pa.string()),
                      "text": [BASE, "他说。", EN, BASE, "他说。", EN, None],
                      "kind": ["sentence"] * 7})
    got = cluster_ids(table)[0].to_pylist()
    assert got[0] == got[3] and got[2] == got[5] and got[6] == sid[6]
    assert got[1] == got[4] == min(sid[1], sid[4])   # 他说。 between the same neighbours
    for rows in (1, 2, 4):
        monkeypatch.setattr(clustering, "BATCH_ROWS", rows)
        assert cluster_ids(table)[0].to_pylist() == got, rows

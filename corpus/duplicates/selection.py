"""Which sentences of a cluster push sends: one representative per cluster, kept stable."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence


def representatives(candidates: Sequence[str], cluster_of: Mapping[str, str],
                    pushed: Collection[str]) -> tuple[list[bool], int]:
    """For each of ``candidates`` (sentence ids, in push order): send it or not; and how
    many were left out as duplicates.

    A cluster is sent once. When any member already has a task in the project
    (``pushed``: the ledger's sentence ids, whatever articles this push covers), that
    task stays the cluster's representative and no other member is sent, so adding
    articles later (which may give the cluster a smaller id or merge clusters) never
    moves a representative that annotators may be working on. Otherwise the member with
    the smallest ``sentence_id`` among the candidates is sent. A sentence without a
    cluster (``cluster_of`` misses it) is its own cluster.
    """
    taken: set[str] = {cluster_of.get(s, s) for s in pushed}
    best: dict[str, str] = {}
    for s in candidates:
        c = cluster_of.get(s, s)
        if c in taken or s in pushed:
            continue
        if c not in best or s < best[c]:
            best[c] = s
    chosen = set(best.values())
    send = [s in chosen for s in candidates]
    left_out = sum(1 for s, ok in zip(candidates, send, strict=True)
                   if not ok and s not in pushed)
    return send, left_out

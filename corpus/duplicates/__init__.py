"""Near-duplicate sentences: clusters (exact after normalisation, or near by MinHash + LSH)
and the choice of one representative per cluster for push.

``cluster_file`` is the clustering split runs over its whole sentence file, out of core
(``cluster_ids`` the same over a table in memory; ``corpus.duplicates.clustering``);
``representatives`` picks what push sends.
"""

from __future__ import annotations

from corpus.duplicates.clustering import (
    DEFAULT_THRESHOLD,
    ClusterReport,
    Clusters,
    check_threshold,
    cluster_file,
    cluster_ids,
    dedup_key,
    dedup_keys,
)
from corpus.duplicates.selection import representatives

__all__ = ["DEFAULT_THRESHOLD", "ClusterReport", "Clusters", "check_threshold", "cluster_file",
           "cluster_ids", "dedup_key", "dedup_keys", "representatives"]

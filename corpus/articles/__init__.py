"""Stage 1: read, decode, clean and deduplicate articles into ``articles.parquet``.

``corpus.articles.ingestion.ingest`` is the entry point (``corpus.ingest``).
"""

"""Stages 3 and 4: Label Studio. The embedded server, the connection, push and pull.

- ``install``: Label Studio in its own venv, the environment it runs with;
- ``server``: start, stop, status of the embedded server; its credentials;
- ``connection``: ``$LABEL_STUDIO_URL`` or the embedded server; ``open_client``;
- ``users``: accounts on the embedded server;
- ``client``: the REST client (retries, both token kinds, redaction);
- ``queries``: Data Manager filters and keyset paging;
- ``render``: the label config XML and the guidelines;
- ``targets``: stance target suggestions;
- ``sync``: a project's sync state (project, ledger, pending, watermark, rejects);
- ``tasks``: build and push one task per sentence (``corpus.push``);
- ``annotations``: pull annotations into ``annotations.parquet`` (``corpus.pull``);
- ``predictions``: a model's suggestions as Label Studio predictions (``corpus predict``);
- ``queue``: what Label Studio serves next (``corpus push --order``).
"""

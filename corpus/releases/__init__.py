"""Stage 5: releases. Aggregate, measure agreement, split, write immutable versions, read them.

``corpus.releases.build.release`` builds ``workspace/releases/NAME/vNNNN/``
(``corpus.release``); ``corpus.releases.reader`` reads them back
(``corpus.load``, ``versions``, ``diff``, ``verify``).
"""

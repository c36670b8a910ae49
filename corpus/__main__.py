"""``python -m corpus``: the ``corpus`` command."""

from corpus.cli.main import main

main()

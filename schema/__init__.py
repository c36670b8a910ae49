"""The label schema, guidelines and jieba user dictionary, shipped as ``corpus.schema``.

This folder holds data, not code: it is the one place a lead edits them, and
the wheel installs it as the package ``corpus.schema`` (read through
``corpus.resources``; see ``pyproject.toml``).
"""

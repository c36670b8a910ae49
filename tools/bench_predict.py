"""Benchmark ``corpus predict`` (heuristic) against the EMBEDDED Label Studio, each figure
against a same-run comparison.

Starts its own Label Studio in a temporary workspace (stopped at the end unless
``--keep``), pushes N synthetic sentences (the seed article repeated, as
``tools/bench_labelstudio.py`` does), then:

1. the heuristic model alone on the N sentences          -> sentences/s,
   vs ``corpus.segment`` on the same sentences in the same run (ratio)
2. ``predict``: list, suggest, bulk import, list, record -> predictions/s,
   vs the push of the same N tasks in the same run (ratio; the import endpoints
   are the server's work in both)
3. ``predict`` again (nothing to do)                      -> seconds

    .venv/bin/python tools/bench_predict.py [--tasks 20000] [--keep]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))

from bench_labelstudio import TARGETS, say, timed, write_sentences  # noqa: E402

from corpus.labelschema import load_schema  # noqa: E402
from corpus.labelstudio import connection as ls_connection  # noqa: E402
from corpus.labelstudio import install, server  # noqa: E402
from corpus.labelstudio.client import LabelStudioClient  # noqa: E402
from corpus.labelstudio.predictions import predict  # noqa: E402
from corpus.labelstudio.tasks import build_tasks, push  # noqa: E402
from corpus.models.heuristic import HeuristicModel  # noqa: E402
from corpus.models.suggestions import SentenceInput  # noqa: E402
from corpus.text.segmenter import segment  # noqa: E402
from corpus.workspace import Workspace  # noqa: E402

PROJECT = "bench-predict"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=20000, help="sentences to push (default 20000)")
    ap.add_argument("--keep", action="store_true", help="leave the server and workspace")
    args = ap.parse_args(argv)
    for key in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"):
        os.environ.pop(key, None)  # always the embedded server
    root = Path(tempfile.mkdtemp(prefix="bench-predict-"))
    ws = Workspace(root).ensure()
    say(f"workspace {root}; {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    n = write_sentences(ws, args.tasks)
    schema = load_schema()

    # 1. the model alone vs the segmenter on the same sentences
    texts = [t["text"] for t in build_tasks(ws)]
    inputs = [SentenceInput(str(i), t, targets=tuple(TARGETS)) for i, t in enumerate(texts)]
    model = HeuristicModel(schema)
    _, model_secs = timed(lambda: model.suggest(inputs))
    _, seg_secs = timed(lambda: [segment(t) for t in texts])
    say(f"heuristic alone: {n} sentences in {model_secs:.2f} s = {n / model_secs:,.0f}/s; "
        f"segment on the same sentences {n / seg_secs:,.0f}/s -> the model takes "
        f"{model_secs / seg_secs:.2f}x the segmenter's time")

    install.ensure_installed()
    info, secs = timed(lambda: server.start(ws, timeout=300))
    say(f"Label Studio at {info.url} ({secs:.1f} s to start)")
    try:
        client = LabelStudioClient.from_connection(ls_connection.connection(ws), timeout=600)
        pushed, _ = timed(lambda: push(ws, PROJECT, targets=TARGETS, client=client))
        say(f"push: {pushed.imported} tasks in {pushed.seconds:.1f} s = {pushed.rate:,.0f} "
            "tasks/s")
        rep, wall = timed(lambda: predict(ws, PROJECT, client=client))
        rate = rep.created / wall
        say(f"predict: {rep.created} predictions in {wall:.1f} s = {rate:,.0f}/s "
            f"({rate / pushed.rate:.0%} of push's task import rate, same run)")
        again, wall2 = timed(lambda: predict(ws, PROJECT, client=client))
        say(f"predict again: {again.created} created, {again.already} already there, "
            f"{wall2:.2f} s")
        say(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        if not args.keep:
            server.stop(ws)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""PNG chart of a version: label distribution per field and agreement per field.

matplotlib is optional (the ``chart`` extra): without it a release is built
without ``docs/stats.png`` and ``corpus stats --png`` says what to install.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from corpus.errors import ReleaseError
from corpus.extras import available, require


def can_render() -> bool:
    """True when matplotlib is installed."""
    return available("matplotlib")


def preload() -> None:
    """Import the matplotlib modules the chart needs (call from a thread to overlap I/O)."""
    if can_render():
        require("matplotlib.backends.backend_agg")
        require("matplotlib.figure")


def render_chart(manifest: Mapping[str, Any], path: Path | BinaryIO) -> Path | BinaryIO:
    """Draw the stats chart of ``manifest`` into ``path`` (PNG, matplotlib Agg): a file
    name, or a binary stream such as ``sys.stdout.buffer``.

    Raises MissingExtra naming ``pip install 'claim-corpus[chart]'`` without matplotlib,
    ReleaseError naming the file when it cannot be written.
    """
    FigureCanvasAgg = require("matplotlib.backends.backend_agg").FigureCanvasAgg
    Figure = require("matplotlib.figure").Figure

    fields = [f for f in manifest["schema"]["fields"] if f["kind"] in ("single", "multi")]
    labels = manifest.get("labels", {})
    alphas = manifest["agreement"]["krippendorff_alpha"]
    n_panels = len(fields) + 1
    cols = 3
    rows = (n_panels + cols - 1) // cols
    fig = Figure(figsize=(5 * cols, 3.2 * rows))
    fig.subplots_adjust(left=0.09, right=0.98, top=0.9, bottom=0.07, wspace=0.45, hspace=0.35)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax, f in zip(flat, fields, strict=False):
        dist = labels.get(f["name"], {}).get("all", {})
        keys = [*f["values"], *(k for k in dist if k not in f["values"])]
        ax.barh(keys, [dist.get(k, 0) for k in keys], color="#4C72B0")
        ax.invert_yaxis()
        ax.set_title(f"{f['name']} ({f['kind']})", fontsize=10)
        ax.tick_params(labelsize=8)
        ax.locator_params(axis="x", nbins=4)
    ax = flat[len(fields)]
    names = [k for k, v in alphas.items() if v.get("alpha") is not None]
    values = [alphas[k]["alpha"] for k in names]
    ax.barh(names, values, color=["#55A868" if v >= 0.667 else "#C44E52" for v in values])
    ax.axvline(0.667, color="grey", linestyle="--", linewidth=1)
    ax.set_xlim(min([0.0, *values]), 1.0)
    ax.invert_yaxis()
    ax.set_title("Krippendorff's alpha (dashed: 0.667)", fontsize=10)
    ax.tick_params(labelsize=8)
    for extra in flat[len(fields) + 1:]:
        extra.axis("off")
    fig.suptitle(f"{manifest['name']} {manifest['version']}: "
                 f"{manifest['rows']['total']} sentences", fontsize=12)
    if not isinstance(path, Path):
        fig.savefig(path, format="png", dpi=80, metadata={"Software": None})
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=80, metadata={"Software": None})
    except OSError as exc:
        raise ReleaseError(f"cannot write the chart to {path} ({exc.strerror or exc})",
                           hint="give --png a writable path, or --png - for stdout") from None
    return path

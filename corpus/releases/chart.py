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
        require("matplotlib.ticker")
        require("matplotlib.font_manager")


STANCE_COLORS = {"favor": "#55A868", "against": "#C44E52", "neutral": "#8C8C8C",
                 "not_about": "#DDDDDD", "(tie)": "#CCB974"}


def _stance_counts(dist: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """``{"target=label": n}`` (the manifest's stance counts) as target -> label -> n."""
    out: dict[str, dict[str, int]] = {}
    for key, n in dist.items():
        target, sep, label = key.rpartition("=")
        if sep:
            out.setdefault(target, {})[label] = int(n)
    return out


CJK_FONTS = ("Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Droid Sans Fallback", "PingFang SC", "Heiti SC",
             "Microsoft YaHei", "SimHei", "Noto Sans CJK TC", "Noto Sans CJK JP")
"""Fonts with Chinese glyphs that the chart falls back to (the first installed ones)."""


def fonts() -> list[str]:
    """The font families the chart uses: DejaVu Sans, then each installed CJK font
    (matplotlib falls back glyph by glyph, so Chinese target names are not boxes)."""
    installed = {f.name for f in require("matplotlib.font_manager").fontManager.ttflist}
    return ["DejaVu Sans", *(f for f in CJK_FONTS if f in installed)]


def draw(manifest: Mapping[str, Any]) -> Any:
    """The stats figure of ``manifest`` (a matplotlib ``Figure``): one bar panel per choice
    field, one stacked panel per stance field (a bar per target, a segment per label), and
    Krippendorff's alpha per field; counts on integer axes."""
    FigureCanvasAgg = require("matplotlib.backends.backend_agg").FigureCanvasAgg
    Figure = require("matplotlib.figure").Figure
    MaxNLocator = require("matplotlib.ticker").MaxNLocator

    fields = [f for f in manifest["schema"]["fields"]
              if f["kind"] in ("single", "multi", "stance")]
    labels = manifest.get("labels", {})
    alphas = manifest["agreement"]["krippendorff_alpha"]
    n_panels = len(fields) + 1
    cols = 3
    rows = (n_panels + cols - 1) // cols
    fig = Figure(figsize=(5 * cols, 3.2 * rows))
    family = fonts()
    fig.subplots_adjust(left=0.09, right=0.98, top=0.9, bottom=0.07, wspace=0.45, hspace=0.45)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax, f in zip(flat, fields, strict=False):
        dist = labels.get(f["name"], {}).get("all", {})
        if f["kind"] == "stance":
            per_target = _stance_counts(dist)
            targets = sorted(per_target, key=lambda t: -sum(per_target[t].values()))[:12]
            kinds = [*f["values"], *sorted({k for t in targets for k in per_target[t]}
                                            - set(f["values"]))]
            left = [0] * len(targets)
            for kind in kinds:
                widths = [per_target[t].get(kind, 0) for t in targets]
                if any(widths):
                    ax.barh(targets, widths, left=left, label=kind,
                            color=STANCE_COLORS.get(kind))
                    left = [a + b for a, b in zip(left, widths, strict=True)]
            if targets:
                ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12),
                          ncol=5, frameon=False, handlelength=1, columnspacing=1)
        else:
            keys = [*f["values"], *(k for k in dist if k not in f["values"])]
            ax.barh(keys, [dist.get(k, 0) for k in keys], color="#4C72B0")
        ax.invert_yaxis()
        ax.set_title(f"{f['name']} ({f['kind']})", fontsize=10)
        ax.tick_params(labelsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
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
    Text = require("matplotlib.text").Text
    for text in fig.findobj(Text):
        text.set_fontfamily(family)
    return fig


def render_chart(manifest: Mapping[str, Any], path: Path | BinaryIO) -> Path | BinaryIO:
    """Draw the stats chart of ``manifest`` into ``path`` (PNG, matplotlib Agg): a file
    name, or a binary stream such as ``sys.stdout.buffer``.

    Raises MissingExtra naming ``pip install 'claim-corpus[chart]'`` without matplotlib,
    ReleaseError naming the file when it cannot be written.
    """
    fig = draw(manifest)
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

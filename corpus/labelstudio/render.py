"""Render the Label Studio labelling config (XML) and instructions from the label schema.

The sentence is shown with ``<Text>`` (Label Studio escapes it), never
``<HyperText>``. Choices show the bilingual label (``value``) but store the
English key (``alias``). Dependent fields sit in a ``<View visibleWhen=...>``;
stance gets one ``<Choices>`` per target, named ``stance__<slug>``.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from corpus.errors import ConfigError, SchemaError
from corpus.labelschema import Field, LabelSchema, stance_control_name
from corpus.labelstudio.targets import Target

TEXT_NAME = "text"
CONTEXT_BEFORE = "context_before"
CONTEXT_AFTER = "context_after"
#: Keys of every task's ``data`` (see push.py).
TASK_DATA_KEYS = ("text", "title", "context_before", "context_after", "sentence_id", "article_id")
RESERVED_NAMES = frozenset({TEXT_NAME, CONTEXT_BEFORE, CONTEXT_AFTER, "title"})

# Label Studio fixes <Text> at 16 px and nests elements, so sizes are absolute (em compounds).
_CSS = (
    ".corpus-ctx, .corpus-ctx * { color: #8c8c8c !important; font-size: inherit !important; }\n"
    ".corpus-ctx .lsf-richtext__container { font-size: 14px !important; }\n"
    ".corpus-sentence { padding: 6px 0; }\n"
    ".corpus-sentence .lsf-richtext__container { font-size: 18px !important; line-height: 1.7; }\n"
    ".corpus-hint, .corpus-hint * { color: #777 !important; font-weight: normal !important; }\n"
    ".corpus-hint h4 { font-size: 13px !important; line-height: 1.4 !important;"
    " margin: 0 0 6px !important; }"
)


def _static(text: str) -> str:
    """Static text for an attribute: Label Studio would substitute ``$name`` variables."""
    return text.replace("$", "＄")


def _header(parent: ET.Element, text: str, size: int = 5) -> None:
    ET.SubElement(parent, "Header", {"value": _static(text), "size": str(size)})


def _hint(parent: ET.Element, text: str) -> None:
    if text:
        view = ET.SubElement(parent, "View", {"className": "corpus-hint"})
        ET.SubElement(view, "Header", {"value": _static(text), "size": "6"})


def _choices(
    parent: ET.Element, field: Field, name: str, *, with_hotkeys: bool = True
) -> ET.Element:
    attrs = {
        "name": name,
        "toName": TEXT_NAME,
        "choice": "multiple" if field.kind == "multi" else "single-radio",
        "showInline": "true",
    }
    if field.required:
        attrs["required"] = "true"
        attrs["requiredMessage"] = _static(f"请回答：{field.title or field.name}")
    el = ET.SubElement(parent, "Choices", attrs)
    for value in field.values:
        cattrs = {"value": _static(field.label(value)), "alias": value}
        if with_hotkeys and value in field.hotkeys:
            cattrs["hotkey"] = field.hotkeys[value]
        ET.SubElement(el, "Choice", cattrs)
    return el


_SPAN_COLORS = ("#ffa39e", "#91d5ff", "#b7eb8f", "#ffe58f", "#d3adf7", "#87e8de")


def _check(schema: LabelSchema, targets: Sequence[str]) -> None:
    for f in schema.fields:
        if f.name in RESERVED_NAMES:
            raise SchemaError(
                f"{schema.source or schema.name}: field name {f.name!r} is reserved",
                hint=f"rename the field; {', '.join(sorted(RESERVED_NAMES))} name task data",
            )
    seen: set[str] = set()
    for t in targets:
        if not t.strip():
            raise SchemaError("empty stance target", hint="remove it from --targets")
        if t in seen:
            raise SchemaError(f"duplicate stance target {t!r}", hint="list each target once")
        seen.add(t)


def render_label_config(schema: LabelSchema, targets: Sequence[str | Target] = ()) -> str:
    """The Label Studio XML for ``schema`` with one stance question per target.

    A target's aliases and description are shown with its question; its control is named
    after the target alone, so adding aliases never changes what an answer is stored under.
    """
    details = {t.target.strip(): t for t in targets if isinstance(t, Target)}
    names = [(t.target if isinstance(t, Target) else t).strip() for t in targets]
    _check(schema, names)
    root = ET.Element("View")
    style = ET.SubElement(root, "Style")
    style.text = _CSS

    ET.SubElement(root, "Header", {"value": "$title", "size": "4"})
    before = ET.SubElement(root, "View", {"className": "corpus-ctx"})
    ET.SubElement(before, "Text", {"name": CONTEXT_BEFORE, "value": "$context_before"})

    for f in schema.fields_of_kind("spans"):
        _header(root, f.title or f.name, 6)
        labels = ET.SubElement(root, "Labels", {"name": f.name, "toName": TEXT_NAME})
        for i, value in enumerate(f.values):
            lattrs = {
                "value": _static(f.label(value)),
                "alias": value,
                "background": _SPAN_COLORS[i % len(_SPAN_COLORS)],
            }
            if value in f.hotkeys:
                lattrs["hotkey"] = f.hotkeys[value]
            ET.SubElement(labels, "Label", lattrs)
        _hint(root, f.hint)

    sentence = ET.SubElement(root, "View", {"className": "corpus-sentence"})
    ET.SubElement(sentence, "Text", {"name": TEXT_NAME, "value": "$text"})
    after = ET.SubElement(root, "View", {"className": "corpus-ctx"})
    ET.SubElement(after, "Text", {"name": CONTEXT_AFTER, "value": "$context_after"})

    for f in schema.fields:
        if f.kind == "spans":
            continue
        parent = root
        if f.shown_when is not None:
            parent = ET.SubElement(root, "View", {
                "visibleWhen": "choice-selected",
                "whenTagName": f.shown_when[0],
                "whenChoiceValue": f.shown_when[1],
            })
        if f.kind == "stance":
            if not names:
                continue
            _header(parent, f.title or f.name)
            _hint(parent, f.hint)
            for i, target in enumerate(names):
                # Hotkeys must be unique in the config: only the first target gets them.
                detail = details.get(target)
                aka = f" ({' / '.join(detail.aliases)})" if detail and detail.aliases else ""
                _header(parent, f"目标 target：「{target}」{aka}", 6)
                if detail and detail.description:
                    _hint(parent, detail.description)
                _choices(parent, f, stance_control_name(f, target), with_hotkeys=i == 0)
        else:
            _header(parent, f.title or f.name)
            _hint(parent, f.hint)
            _choices(parent, f, f.name)

    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    comment = (
        f"<!-- generated by `corpus schema render` from schema {schema.name!r} "
        f"v{schema.version} (sha256 {schema.sha256[:12]}); do not edit -->\n"
    )
    return comment + body + "\n"


def render_to_file(
    schema: LabelSchema, path: Path, targets: Sequence[str] = ()
) -> str:
    """Render and atomically write the XML to ``path``; returns the XML."""
    from corpus.storage.atomic import write_text

    xml = render_label_config(schema, targets)
    write_text(path, xml)
    return xml


# --------------------------------------------------------------------------- instructions

_INLINE_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    out = _INLINE_CODE.sub(r"<code>\1</code>", out)
    return _BOLD.sub(r"<b>\1</b>", out)


def markdown_to_html(md: str) -> str:
    """Simple Markdown (headings, paragraphs, lists, quotes, bold, code) to safe HTML."""
    lines = md.splitlines()
    out: list[str] = []
    para: list[str] = []
    in_list: str | None = None

    def flush_para() -> None:
        if para:
            out.append("<p>" + "<br/>".join(_inline(p) for p in para) + "</p>")
            para.clear()

    def close_list() -> None:
        nonlocal in_list
        if in_list:
            out.append(f"</{in_list}>")
            in_list = None

    for raw in lines:
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or stripped.startswith("<!--"):
            flush_para()
            close_list()
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        bullet = re.match(r"^[-*]\s+(.*)$", stripped)
        number = re.match(r"^\d+[.)]\s+(.*)$", stripped)
        if heading:
            flush_para()
            close_list()
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif bullet or number:
            flush_para()
            kind = "ul" if bullet else "ol"
            if in_list != kind:
                close_list()
                out.append(f"<{kind}>")
                in_list = kind
            item = (bullet or number)
            assert item is not None
            out.append(f"<li>{_inline(item.group(1))}</li>")
        elif stripped.startswith(">"):
            flush_para()
            close_list()
            out.append(f"<blockquote>{_inline(stripped.lstrip('> '))}</blockquote>")
        elif stripped.startswith("|"):
            flush_para()
            close_list()
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells):
                continue
            out.append("<div>" + " · ".join(_inline(c) for c in cells) + "</div>")
        else:
            close_list()
            para.append(stripped)
    flush_para()
    close_list()
    return "\n".join(out)


def guidelines_path(schema: LabelSchema | None = None) -> Path:
    """The guidelines of ``schema``: ``guidelines.md`` next to a user's own schema file,
    else the shipped ``schema/guidelines.md``."""
    from corpus.resources import GUIDELINES, resource_path

    if schema is not None and schema.source is not None:
        own = schema.source.parent / GUIDELINES
        if own.is_file():
            return own
    return resource_path(GUIDELINES)


def guidelines_html(path: Path | None = None) -> str:
    """Annotator guidelines (Markdown) as HTML for the project's expert instructions."""
    p = path or guidelines_path()
    try:
        return markdown_to_html(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the annotator guidelines ({type(exc).__name__})",
                          hint="restore the file, or save it as UTF-8 Markdown") from None

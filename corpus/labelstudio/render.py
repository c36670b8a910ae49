"""Render the Label Studio labelling config (XML) and instructions from the label schema.

The sentence is shown with ``<Text>`` (Label Studio escapes it), never
``<HyperText>``, boxed, between the muted context; it comes first in the XML so that
Label Studio's task list shows it first (CSS puts the context before it back on top).
Choices show the bilingual label (``value``) but store the English key (``alias``).
Dependent fields sit in a ``<View visibleWhen=...>``.

Stance (schema v2): one block per target, named ``stance__<slug>``, shown when the task
mentions the target or the annotator asks for it. Label Studio 1.23 has no visibility
rule on task data, so the task data says it through ``<Repeater>``: the hidden control
``stance_mentioned`` gets one pre-ticked ``<Choice>`` per target whose list
``$stance_mentioned.<slug>`` is ``[1]`` (empty: none), and the annotator's row
``stance_more`` lists every target; a block is shown when either has its target ticked
(a ``View`` with only ``whenChoiceValue`` looks at every ``Choices``). A field ``of`` the
stance field (the holder) sits in each target's block, shown once that target's answer
is one of its ``shown_when`` values.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from corpus.errors import ConfigError, SchemaError
from corpus.labelschema import (
    Field,
    LabelSchema,
    stance_ask_control_names,
    stance_control_name,
    target_slug,
)
from corpus.labelstudio.targets import Target

TEXT_NAME = "text"
CONTEXT_BEFORE = "context_before"
CONTEXT_AFTER = "context_after"
#: Keys of every task's ``data`` (see tasks.py; ``stance_mentioned`` when the schema has
#: a stance field).
TASK_DATA_KEYS = ("text", "title", "context_before", "context_after", "sentence_id", "article_id")
RESERVED_NAMES = frozenset({TEXT_NAME, CONTEXT_BEFORE, CONTEXT_AFTER, "title"})

#: The task data key whose per-target lists say which targets a task mentions.
MENTIONED_KEY = "stance_mentioned"

# Label Studio fixes <Text> at 16 px and nests elements, so sizes are absolute (em compounds).
_CSS = (
    ".corpus-read { display: flex; flex-direction: column; gap: 4px; margin-bottom: 8px; }\n"
    ".corpus-title { order: -2; }\n"
    ".corpus-title, .corpus-title * { color: #8c8c8c !important; font-size: 13px !important;"
    " font-weight: normal !important; margin: 0 !important; line-height: 1.4 !important; }\n"
    ".corpus-before { order: -1; }\n"
    ".corpus-ctx, .corpus-ctx * { color: #8c8c8c !important; font-size: inherit !important; }\n"
    ".corpus-ctx .lsf-richtext__container { font-size: 14px !important; }\n"
    ".corpus-sentence { border: 2px solid #1d4ed8; border-radius: 6px; background: #f5f8ff;"
    " padding: 8px 12px; }\n"
    ".corpus-sentence .lsf-richtext__container { font-size: 20px !important; line-height: 1.7;"
    " color: #111 !important; font-weight: 500; }\n"
    ".corpus-hint, .corpus-hint * { color: #777 !important; font-weight: normal !important; }\n"
    ".corpus-hint h4 { font-size: 13px !important; line-height: 1.4 !important;"
    " margin: 0 0 6px !important; }\n"
    ".corpus-hidden { display: none !important; }\n"
    ".corpus-target { border-left: 3px solid #d0d7e5; padding-left: 8px; margin: 4px 0; }"
)
#: Inline style of a question's header (Label Studio's default: margin 10px 0, 18-20 px):
#: smaller than the sentence, which stays the most prominent text.
_HEADER_STYLE = {5: "margin: 8px 0 2px; font-size: 15px", 6: "margin: 4px 0 2px; font-size: 14px"}


def _static(text: str) -> str:
    """Static text for an attribute: Label Studio would substitute ``$name`` variables."""
    return text.replace("$", "＄")


def _header(parent: ET.Element, text: str, size: int = 5) -> None:
    ET.SubElement(parent, "Header", {"value": _static(text), "size": str(size),
                                     "style": _HEADER_STYLE.get(size, _HEADER_STYLE[5])})


def _hint(parent: ET.Element, text: str) -> None:
    if text:
        view = ET.SubElement(parent, "View", {"className": "corpus-hint"})
        ET.SubElement(view, "Header", {"value": _static(text), "size": "6"})


def _choices(
    parent: ET.Element, field: Field, name: str, *, with_hotkeys: bool = True,
    layer: str = "",
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
            cattrs["hotkey"] = layer + field.hotkeys[value]
        ET.SubElement(el, "Choice", cattrs)
    return el


_SPAN_COLORS = ("#ffa39e", "#91d5ff", "#b7eb8f", "#ffe58f", "#d3adf7", "#87e8de")


#: Key layers of the 1st, 2nd and 3rd target's stance and holder keys (guidelines, "Keys").
TARGET_KEY_LAYERS = ("", "shift+", "alt+")
#: The 1st-3rd target's "ask it too" key is the digit ``TARGET_KEY_DIGIT0 + k``.
TARGET_KEY_DIGIT0 = 4


def target_keys(schema: LabelSchema, index: int) -> tuple[str, str | None]:
    """(key layer of the stance choices, key of the "ask it too" tick) of the target at
    ``index`` (0-based, in the project's order); from the 4th target on there are none
    (Label Studio then gives such choices spare keys of its own)."""
    if index >= len(TARGET_KEY_LAYERS):
        return "", None
    digit = str(TARGET_KEY_DIGIT0 + index)
    used = {k for f in schema.fields for k in f.hotkeys.values()}
    return TARGET_KEY_LAYERS[index], (None if digit in used else digit)


def _check(schema: LabelSchema, targets: Sequence[str]) -> None:
    values = {v for f in schema.fields if f.kind != "stance" for v in f.values} | {
        v for f in schema.fields if f.kind == "stance" for v in f.values}
    for t in targets:
        if t.strip() in values:
            raise SchemaError(f"stance target {t!r} is also a label value of the schema",
                              hint="rename the target (e.g. add a word): the screen shows a "
                              "target's question when a choice named like it is ticked")
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


def _stance(parent: ET.Element, schema: LabelSchema, f: Field, names: Sequence[str],
            details: dict[str, Target]) -> None:
    """The stance questions: a block per target, shown when mentioned or asked for."""
    mentioned, more = stance_ask_control_names(f)
    holders = [h for h in schema.fields if h.of == f.name]
    _header(parent, f.title or f.name)
    _hint(parent, f.hint)
    hidden = ET.SubElement(parent, "View", {"className": "corpus-hidden"})
    pre = ET.SubElement(hidden, "Choices", {"name": mentioned, "toName": TEXT_NAME,
                                            "choice": "multiple"})
    # a <Choices> must hold a <Choice> or a <View> for Label Studio's config check
    pre_view = ET.SubElement(pre, "View")
    for i, target in enumerate(names):
        rep = ET.SubElement(pre_view, "Repeater", {
            "on": f"${MENTIONED_KEY}.{target_slug(target)}", "indexFlag": "{{mentioned}}"})
        cattrs = {"value": _static(target), "alias": target, "selected": "true"}
        if i < 9:  # an unlabelled key nobody presses, so Label Studio assigns it none
            cattrs["hotkey"] = f"ctrl+alt+{i + 1}"
        ET.SubElement(rep, "Choice", cattrs)
    for i, target in enumerate(names):
        layer, _ = target_keys(schema, i)
        block = ET.SubElement(parent, "View", {"whenChoiceValue": target,
                                               "className": "corpus-target"})
        detail = details.get(target)
        aka = f" ({' / '.join(detail.aliases)})" if detail and detail.aliases else ""
        _header(block, f"目标 target：「{target}」{aka}", 6)
        if detail and detail.description:
            _hint(block, detail.description)
        control = stance_control_name(f, target)
        _choices(block, f, control, with_hotkeys=i < len(TARGET_KEY_LAYERS), layer=layer)
        for h in holders:
            view = ET.SubElement(block, "View", {
                "visibleWhen": "choice-selected", "whenTagName": control,
                "whenChoiceValue": ",".join(h.shown_values or f.values)})
            _choices(view, h, stance_control_name(h, target),
                     with_hotkeys=i < len(TARGET_KEY_LAYERS), layer=layer)
    row = ET.SubElement(parent, "View", {"className": "corpus-more"})
    _header(row, "其他目标 Ask another target", 6)
    ask = ET.SubElement(row, "Choices", {"name": more, "toName": TEXT_NAME,
                                         "choice": "multiple", "showInline": "true"})
    for i, target in enumerate(names):
        cattrs = {"value": _static(target), "alias": target}
        _, key = target_keys(schema, i)
        if key is not None:
            cattrs["hotkey"] = key
        ET.SubElement(ask, "Choice", cattrs)


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

    read = ET.SubElement(root, "View", {"className": "corpus-read"})
    sentence = ET.SubElement(read, "View", {"className": "corpus-sentence"})
    ET.SubElement(sentence, "Text", {"name": TEXT_NAME, "value": "$text"})
    title = ET.SubElement(read, "View", {"className": "corpus-title"})
    ET.SubElement(title, "Header", {"value": "$title", "size": "4"})
    before = ET.SubElement(read, "View", {"className": "corpus-ctx corpus-before"})
    ET.SubElement(before, "Text", {"name": CONTEXT_BEFORE, "value": "$context_before"})
    after = ET.SubElement(read, "View", {"className": "corpus-ctx corpus-after"})
    ET.SubElement(after, "Text", {"name": CONTEXT_AFTER, "value": "$context_after"})

    for f in schema.fields_of_kind("spans"):
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
        _hint(root, f"{f.title or f.name} · {f.hint}" if f.hint else (f.title or f.name))

    for f in schema.fields:
        if f.kind == "spans" or f.of is not None:
            continue
        parent = root
        if f.shown_when is not None:
            parent = ET.SubElement(root, "View", {
                "visibleWhen": "choice-selected",
                "whenTagName": f.shown_when[0],
                "whenChoiceValue": f.shown_when[1],
            })
        if f.kind == "stance":
            if names:
                _stance(parent, schema, f, names, details)
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

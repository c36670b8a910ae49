"""The label schema: one YAML file drives the Label Studio XML, the Arrow schema of
annotations and the validation of pulled results (docs/design.md, "Label schema").

>>> schema = load_schema()                       # the shipped schema/claims_stance.yaml
>>> schema.field("claim").values
('claim', 'no_claim', 'unsure')
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast, get_args

import pyarrow as pa
import yaml

from corpus.errors import SchemaError
from corpus.storage.tables import SENTENCE_TABLE_SCHEMA

FieldKind = Literal["single", "multi", "stance", "spans"]
FIELD_KINDS: tuple[str, ...] = get_args(FieldKind)

ENV_SCHEMA = "CORPUS_SCHEMA"
STANCE_PREFIX = "stance__"

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_HOTKEY_RE = re.compile(r"^[a-z0-9]$|^(ctrl|shift|alt)\+[a-z0-9]$")
_SCHEMA_KEYS = {"name", "version", "description", "fields"}
_FIELD_KEYS = {"name", "kind", "title", "hint", "required", "shown_when", "values", "of"}
_VALUE_KEYS = {"value", "label", "hotkey"}
VOTES_SUFFIX = "_votes"
"""A release stores field ``X``'s vote counts (soft labels) in column ``X_votes``."""
#: Single-key shortcuts of the Label Studio 1.23 editor that a schema must not reuse.
RESERVED_HOTKEYS = {"u": "unselect region", "h": "pan image"}


@dataclasses.dataclass(frozen=True)
class Field:
    """One labelled field: its stored values and how annotators see them."""

    name: str
    kind: FieldKind
    values: tuple[str, ...]
    labels: Mapping[str, str]  # value -> annotator-facing (bilingual) label
    required: bool = False
    shown_when: tuple[str, str] | None = None  # (field name, value[,value...])
    hotkeys: Mapping[str, str] = dataclasses.field(default_factory=dict)  # value -> key
    title: str = ""
    hint: str = ""
    of: str | None = None  # a stance field asked once per answer of this stance field

    @property
    def shown_values(self) -> tuple[str, ...]:
        """The values of ``shown_when``'s field that show this field (any of them)."""
        return tuple(self.shown_when[1].split(",")) if self.shown_when else ()

    def label(self, value: str) -> str:
        """Annotator-facing label of ``value`` (the value itself when none is set)."""
        return self.labels.get(value, value)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready form (the canonical form hashed by ``LabelSchema.sha256``)."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "title": self.title,
            "hint": self.hint,
            "required": self.required,
            "values": [
                {"value": v, "label": self.label(v), "hotkey": self.hotkeys.get(v)}
                for v in self.values
            ],
        }
        if self.shown_when is not None:
            out["shown_when"] = {"field": self.shown_when[0], "value": self.shown_when[1]}
        if self.of is not None:
            out["of"] = self.of
        return out


@dataclasses.dataclass(frozen=True)
class LabelSchema:
    """A parsed, validated label schema."""

    name: str
    version: int
    fields: tuple[Field, ...]
    source: Path | None = None
    description: str = ""

    def field(self, name: str) -> Field:
        """The field called ``name``; SchemaError naming the known fields otherwise."""
        for f in self.fields:
            if f.name == name:
                return f
        known = ", ".join(f.name for f in self.fields)
        raise SchemaError(
            f"schema {self.name!r} v{self.version} has no field {name!r}",
            hint=f"use one of: {known}",
        )

    def fields_of_kind(self, kind: FieldKind) -> tuple[Field, ...]:
        """All fields of one kind, in schema order."""
        return tuple(f for f in self.fields if f.kind == kind)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready form of the schema."""
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "fields": [f.to_dict() for f in self.fields],
        }

    @property
    def sha256(self) -> str:
        """Hash of the canonical (parsed, key-sorted JSON) schema, for manifests."""
        canonical = json.dumps(
            self.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- loading


def default_schema_path() -> Path:
    """``$CORPUS_SCHEMA`` or the shipped ``schema/claims_stance.yaml`` (``corpus.resources``)."""
    env = os.environ.get(ENV_SCHEMA)
    if env:
        return Path(env).expanduser()
    from corpus.resources import SCHEMA_YAML, resource_path

    return resource_path(SCHEMA_YAML)


class _Ctx:
    """Builds SchemaErrors that name the file and the key path."""

    def __init__(self, path: Path | None) -> None:
        self.where = str(path) if path is not None else "<schema>"

    def error(self, keypath: str, problem: str, fix: str) -> SchemaError:
        loc = f"{self.where}: {keypath}" if keypath else self.where
        return SchemaError(f"{loc}: {problem}", hint=fix)


def _type_name(obj: object) -> str:
    return "null" if obj is None else type(obj).__name__


def _check_keys(ctx: _Ctx, keypath: str, obj: Mapping[str, Any], allowed: set[str]) -> None:
    for key in obj:
        if key not in allowed:
            label = f"{keypath}.{key}" if keypath else str(key)
            raise ctx.error(
                label,
                f"unknown key {key!r}",
                f"remove it or use one of: {', '.join(sorted(allowed))}",
            )


def _str(ctx: _Ctx, keypath: str, obj: object, *, hint: str = "") -> str:
    if not isinstance(obj, str) or not obj.strip():
        extra = f" {hint}" if hint else ""
        raise ctx.error(
            keypath,
            f"expected a non-empty string, got {_type_name(obj)} {obj!r}",
            f"write a quoted string{extra}",
        )
    return obj


def _parse_field(ctx: _Ctx, kp: str, raw: object) -> Field:
    if not isinstance(raw, Mapping):
        raise ctx.error(kp, f"expected a mapping, got {_type_name(raw)}",
                        "write the field as `- {name: ..., kind: ..., values: [...]}`")
    _check_keys(ctx, kp, raw, _FIELD_KEYS)
    for key in ("name", "kind", "values"):
        if key not in raw:
            raise ctx.error(kp, f"missing key {key!r}", f"add `{key}:` to the field")
    name = _str(ctx, f"{kp}.name", raw["name"])
    if not _NAME_RE.match(name):
        raise ctx.error(f"{kp}.name", f"bad field name {name!r}",
                        "use lower_snake_case ASCII (a-z, 0-9, _), starting with a letter")
    kind = raw["kind"]
    if kind not in FIELD_KINDS:
        raise ctx.error(f"{kp}.kind", f"unknown kind {kind!r}",
                        f"use one of: {', '.join(FIELD_KINDS)}")
    title = raw.get("title", "") or ""
    hint = raw.get("hint", "") or ""
    if not isinstance(title, str) or not isinstance(hint, str):
        raise ctx.error(kp, "title and hint must be strings", "quote them")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise ctx.error(f"{kp}.required", f"expected true or false, got {required!r}",
                        "write `required: true` or `required: false`")

    raw_values = raw["values"]
    if not isinstance(raw_values, list) or not raw_values:
        raise ctx.error(f"{kp}.values", "expected a non-empty list",
                        "list the values as `- {value: key, label: \"中文 english\"}`")
    values: list[str] = []
    labels: dict[str, str] = {}
    hotkeys: dict[str, str] = {}
    for j, rv in enumerate(raw_values):
        vkp = f"{kp}.values[{j}]"
        if isinstance(rv, str):
            rv = {"value": rv}
        if not isinstance(rv, Mapping):
            raise ctx.error(vkp, f"expected a mapping, got {_type_name(rv)}",
                            "write `{value: key, label: \"中文 english\", hotkey: \"1\"}`")
        _check_keys(ctx, vkp, rv, _VALUE_KEYS)
        if "value" not in rv:
            raise ctx.error(vkp, "missing key 'value'", "add `value: <english_key>`")
        value = _str(ctx, f"{vkp}.value", rv["value"],
                     hint='(YAML reads bare yes/no/on/off as booleans: write "yes")')
        if value in labels:
            raise ctx.error(f"{vkp}.value", f"duplicate value {value!r}",
                            "every value of a field must be unique")
        values.append(value)
        labels[value] = _str(ctx, f"{vkp}.label", rv.get("label", value))
        if rv.get("hotkey") is not None:
            key = rv["hotkey"]
            key = str(key) if isinstance(key, int) and not isinstance(key, bool) else key
            if not isinstance(key, str) or not _HOTKEY_RE.match(key):
                raise ctx.error(f"{vkp}.hotkey", f"bad hotkey {rv['hotkey']!r}",
                                'use one lowercase letter or digit, quoted, e.g. "1"')
            hotkeys[value] = key

    shown_when: tuple[str, str] | None = None
    if raw.get("shown_when") is not None:
        sw = raw["shown_when"]
        skp = f"{kp}.shown_when"
        if not isinstance(sw, Mapping):
            raise ctx.error(skp, f"expected a mapping, got {_type_name(sw)}",
                            "write `shown_when: {field: claim, value: claim}`")
        _check_keys(ctx, skp, sw, {"field", "value"})
        raw_value = sw.get("value")
        listed = raw_value if isinstance(raw_value, list) and raw_value else [raw_value]
        shown_when = (_str(ctx, f"{skp}.field", sw.get("field")),
                      ",".join(_str(ctx, f"{skp}.value", v) for v in listed))
    of = raw.get("of")
    if of is not None:
        of = _str(ctx, f"{kp}.of", of)
    return Field(
        name=name,
        kind=cast(FieldKind, kind),
        values=tuple(values),
        labels=MappingProxyType(labels),
        required=required,
        shown_when=shown_when,
        hotkeys=MappingProxyType(hotkeys),
        title=title.strip(),
        hint=hint.strip(),
        of=of,
    )


def schema_from_dict(doc: object, source: Path | None = None) -> LabelSchema:
    """Validate an already-parsed schema document (strict: unknown keys are errors)."""
    ctx = _Ctx(source)
    if not isinstance(doc, Mapping):
        raise ctx.error("", f"expected a mapping at the top level, got {_type_name(doc)}",
                        "start the file with `name:`, `version:` and `fields:`")
    _check_keys(ctx, "", doc, _SCHEMA_KEYS)
    for key in ("name", "version", "fields"):
        if key not in doc:
            raise ctx.error(key, "missing", f"add a top-level `{key}:`")
    name = _str(ctx, "name", doc["name"])
    version = doc["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ctx.error("version", f"expected a positive integer, got {version!r}",
                        "write e.g. `version: 1` (bump it when values change)")
    description = doc.get("description", "") or ""
    if not isinstance(description, str):
        raise ctx.error("description", "expected a string", "quote it")
    raw_fields = doc["fields"]
    if not isinstance(raw_fields, list) or not raw_fields:
        raise ctx.error("fields", "expected a non-empty list of fields",
                        "list the fields as `- {name: ..., kind: ..., values: [...]}`")
    fields = tuple(_parse_field(ctx, f"fields[{i}]", rf) for i, rf in enumerate(raw_fields))

    seen: dict[str, int] = {}
    for i, f in enumerate(fields):
        if f.name in seen:
            raise ctx.error(f"fields[{i}].name", f"duplicate field name {f.name!r}",
                            f"rename it; fields[{seen[f.name]}] already uses it")
        seen[f.name] = i
        if f.name in RESERVED_COLUMNS:
            raise ctx.error(f"fields[{i}].name", f"field name {f.name!r} is a column of the "
                            f"{RESERVED_COLUMNS[f.name]} table",
                            "rename the field (e.g. add a prefix); reserved: "
                            + ", ".join(sorted(RESERVED_COLUMNS)))
    for i, f in enumerate(fields):
        if f.name.endswith(VOTES_SUFFIX) and f.name[: -len(VOTES_SUFFIX)] in seen:
            raise ctx.error(f"fields[{i}].name", f"field name {f.name!r} is the vote-count "
                            f"column of field {f.name[: -len(VOTES_SUFFIX)]!r} in releases",
                            "rename the field")
    keys_seen: dict[str, str] = {}
    for i, f in enumerate(fields):
        for j, value in enumerate(f.values):
            hk = f.hotkeys.get(value)
            if hk is None:
                continue
            key = hk
            kp = f"fields[{i}].values[{j}].hotkey"
            if key in RESERVED_HOTKEYS:
                raise ctx.error(kp, f"hotkey {key!r} is taken by Label Studio "
                                f"({RESERVED_HOTKEYS[key]})", "pick another key")
            if key in keys_seen:
                raise ctx.error(kp, f"hotkey {key!r} is already used by {keys_seen[key]}",
                                "every hotkey must be unique across the schema")
            keys_seen[key] = f"{f.name}={value}"
    by_name = {f.name: f for f in fields}
    for i, f in enumerate(fields):
        if f.shown_when is None:
            continue
        dep = f.shown_when[0]
        kp = f"fields[{i}].shown_when"
        if dep not in by_name or dep == f.name:
            raise ctx.error(f"{kp}.field", f"unknown field {dep!r}",
                            f"name another field: {', '.join(n for n in by_name if n != f.name)}")
        if f.of is not None and by_name[dep].kind == "stance" and dep == f.of:
            pass  # per target: shown when that target's answer of `of` is one of the values
        elif by_name[dep].kind not in ("single", "multi"):
            raise ctx.error(f"{kp}.field", f"field {dep!r} is of kind {by_name[dep].kind}",
                            "shown_when must name a single or multi choice field (or the "
                            "field's `of`)")
        for v in f.shown_values:
            if v not in by_name[dep].values:
                raise ctx.error(f"{kp}.value", f"{v!r} is not a value of {dep!r}",
                                f"use one of: {', '.join(by_name[dep].values)}")
    for i, f in enumerate(fields):
        if f.of is None:
            continue
        kp = f"fields[{i}].of"
        parent = by_name.get(f.of)
        if f.kind != "stance" or parent is None or parent.kind != "stance" or parent.of:
            raise ctx.error(kp, f"field {f.name!r} (kind {f.kind}) cannot be `of` {f.of!r}",
                            "`of` makes a stance field asked per answer of another stance "
                            "field (e.g. stance_holder of stance); both must be kind stance")
    for i, f in enumerate(fields):
        if f.kind == "stance" and f.of is None:
            for extra in stance_ask_control_names(f):
                if extra in by_name:
                    raise ctx.error(f"fields[{i}].name", f"field name {extra!r} is the "
                                    f"control that asks {f.name!r} for more targets",
                                    "rename that field")
    return LabelSchema(name=name, version=version, fields=fields, source=source,
                       description=description.strip())


def load_schema(path: Path | str | None = None) -> LabelSchema:
    """Load and strictly validate a schema YAML (default: ``default_schema_path()``)."""
    p = Path(path) if path is not None else default_schema_path()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SchemaError(f"{p}: schema file not found",
                          hint=f"create it, or point ${ENV_SCHEMA} at an existing schema") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{p}: cannot read schema ({exc})",
                          hint="save it as UTF-8 text") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "?"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SchemaError(f"{p}: malformed YAML at {where}: {problem}",
                          hint="fix the YAML syntax there (indentation, quotes, colons)") from None
    return schema_from_dict(doc, source=p)


# --------------------------------------------------------------------------- Arrow

PREDICTION_FIELDS: tuple[pa.Field, ...] = (
    pa.field("parent_prediction", pa.int64()),
    pa.field("prediction_model_version", pa.string()),
    pa.field("prediction_accepted", pa.bool_()),
    pa.field("last_action", pa.string()),
)
ANNOTATION_BASE_FIELDS: tuple[pa.Field, ...] = (
    pa.field("sentence_id", pa.string()),
    pa.field("annotation_id", pa.int64()),
    pa.field("ls_task_id", pa.int64()),
    pa.field("ls_project_id", pa.int64()),
    pa.field("annotator", pa.string()),
    pa.field("created_at", pa.timestamp("us", tz="UTC")),
    pa.field("updated_at", pa.timestamp("us", tz="UTC")),
    pa.field("lead_time", pa.float64()),
    pa.field("was_cancelled", pa.bool_()),
    pa.field("ground_truth", pa.bool_()),
    pa.field("schema_version", pa.int32()),
    *PREDICTION_FIELDS,
)
"""Every annotation row's columns before the schema's fields. The last four (``PREDICTION_FIELDS``)
say whether the annotation started from a prediction: Label Studio's ``parent_prediction``
id, that prediction's ``model_version``, ``prediction_accepted`` (the submitted answers
equal the prediction's, field by field; null when it did not start from one or was
skipped) and Label Studio's ``last_action`` as it is."""

#: Columns next to the schema's fields in the annotation, sentence and release tables: no
#: field may be named like one of them (name -> the table it belongs to).
RESERVED_COLUMNS: Mapping[str, str] = MappingProxyType({
    **{n: "sentences" for n in SENTENCE_TABLE_SCHEMA.names},
    **{f.name: "annotations" for f in ANNOTATION_BASE_FIELDS},
    **dict.fromkeys(("n_annotators", "agreement", "split", "label_source", "propagated_from"),
                    "release"),
})

STANCE_TYPE = pa.list_(pa.struct([("target", pa.string()), ("label", pa.string())]))
SPANS_TYPE = pa.list_(
    pa.struct([("start", pa.int32()), ("end", pa.int32()), ("label", pa.string()),
               ("text", pa.string())])
)


def arrow_type(kind: FieldKind) -> pa.DataType:
    """Arrow type of one field kind's column."""
    if kind == "single":
        return pa.string()
    if kind == "multi":
        return pa.list_(pa.string())
    if kind == "stance":
        return STANCE_TYPE
    return SPANS_TYPE


def annotation_arrow_schema(schema: LabelSchema) -> pa.Schema:
    """Arrow schema of workspace/annotations.parquet for ``schema``."""
    cols = list(ANNOTATION_BASE_FIELDS)
    cols += [pa.field(f.name, arrow_type(f.kind)) for f in schema.fields]
    return pa.schema(cols)


# --------------------------------------------------------------------------- stance names


def target_slug(target: str) -> str:
    """Reversible ASCII slug of a stance target (a-z, A-Z, 0-9 kept; others ``_hex_``)."""
    return "".join(
        ch if ch.isascii() and ch.isalnum() else f"_{ord(ch):x}_" for ch in target
    )


_SLUG_ESC = re.compile(r"_([0-9a-f]+)_")


def target_from_slug(slug: str) -> str:
    """Inverse of ``target_slug``."""
    return _SLUG_ESC.sub(lambda m: chr(int(m.group(1), 16)), slug)


def stance_control_name(field: Field | str, target: str) -> str:
    """Label Studio control name of one stance target, e.g. ``stance__Nvidia``."""
    name = field.name if isinstance(field, Field) else field
    prefix = STANCE_PREFIX if name == "stance" else f"{name}__"
    return f"{prefix}{target_slug(target)}"


def stance_ask_control_names(field: Field | str) -> tuple[str, str]:
    """The two controls that say which targets a task asks a stance for (schema v2).

    ``(mentioned, more)``: ``<field>_mentioned`` is hidden and pre-ticks, per task, the
    targets its sentence or context mentions (task data, see ``corpus.labelstudio.tasks``);
    ``<field>_more`` is the annotator's row of every target, to ask one more. Both store the
    target names. A stance field's per-target controls are ``stance_control_name``; a field
    ``of`` it (the holder) uses ``stance_control_name(holder_field, target)`` too, e.g.
    ``stance_holder__<slug>``.
    """
    name = field.name if isinstance(field, Field) else field
    return f"{name}_mentioned", f"{name}_more"


def mentioned_result(field: Field | str, targets: Sequence[str]) -> dict[str, Any]:
    """The result item that ticks ``targets`` in the hidden ``<field>_mentioned`` control.

    Label Studio pre-selects those choices only in an annotation it starts empty; one that
    starts from a prediction (or any given result) gets exactly that result, so a
    prediction must carry this item (with the task's mentioned targets) for their
    questions to show.
    """
    return {"from_name": stance_ask_control_names(field)[0], "to_name": "text",
            "type": "choices", "value": {"choices": list(targets)}}


# --------------------------------------------------------------------------- results


def _utf16_to_index(text: str, offset: int) -> int:
    """Python index of a JavaScript (UTF-16 code unit) offset into ``text``."""
    units = 0
    for i, ch in enumerate(text):
        if units >= offset:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


def _span_offsets(item: Mapping[str, Any], value: Mapping[str, Any], text: str) -> tuple[int, int]:
    start, end, span_text = value.get("start"), value.get("end"), value.get("text")
    if not isinstance(start, int) or not isinstance(end, int):
        raise SchemaError(
            f"span of {item.get('from_name')!r} has no integer start/end: {dict(value)!r}",
            hint="only text spans on the sentence are supported",
        )
    if 0 <= start < end <= len(text) and (span_text is None or text[start:end] == span_text):
        return start, end
    # Label Studio counts UTF-16 code units (JavaScript); convert for astral characters.
    s16, e16 = _utf16_to_index(text, start), _utf16_to_index(text, end)
    if 0 <= s16 < e16 <= len(text) and span_text is not None and text[s16:e16] == span_text:
        return s16, e16
    raise SchemaError(
        f"span [{start}:{end}] {span_text!r} of {item.get('from_name')!r} does not match the "
        f"sentence text ({text[max(0, start):max(0, end)]!r} at those offsets)",
        hint="the task text changed after labelling; re-push the sentence to a new project",
    )


def parse_result(
    schema: LabelSchema,
    result: Sequence[Mapping[str, Any]],
    sentence_text: str,
    *,
    targets: Sequence[str] | None = None,
    asks_every_target: bool = False,
    mentioned: Sequence[str] | None = None,
) -> dict[str, object]:
    """Turn a Label Studio annotation ``result`` list into one value per schema field.

    Unanswered fields are ``None`` (single, multi) or ``[]`` (stance, spans).
    Dependent fields whose ``shown_when`` choice is not selected are reset to
    their empty value (the annotator could not see them). Raises SchemaError
    naming the reason for an unknown control, an unknown label value, a
    malformed item, or a span whose offsets do not match ``sentence_text``.
    When ``targets`` is given, stance answers for other targets are errors.

    A stance field lists every target the annotator was *asked*: answered ones with their
    label, asked but unanswered ones with label ``None``; a target not in the list was not
    asked. Asked = pre-ticked as mentioned, ticked by the annotator, or answered; with
    ``asks_every_target`` (schema v1 layout: every target on every task) every one of
    ``targets``. ``mentioned`` (the task's own list, schema v2) makes asked = mentioned or
    ticked, and drops answers to other targets: Label Studio's hotkeys answer a hidden
    question too, which the annotator never saw. A field ``of`` a stance field (the
    holder) keeps answers only for targets whose stance is one of its ``shown_when``
    values; a v1 sentence-level answer (control named like the field) is copied to each
    such target.
    """
    by_name = {f.name: f for f in schema.fields}
    stance_fields = {f.name: f for f in schema.fields if f.kind == "stance"}
    ask_controls = {n: f for f in stance_fields.values() if f.of is None
                    for n in stance_ask_control_names(f)}
    asked: dict[str, set[str]] = {f: set() for f in stance_fields}
    legacy: dict[str, str] = {}
    out: dict[str, object] = {}
    for f in schema.fields:
        out[f.name] = [] if f.kind in ("stance", "spans") else None

    for item in result:
        if not isinstance(item, Mapping):
            raise SchemaError(f"result item is not an object: {item!r}",
                              hint="pull from a Label Studio project pushed with this schema")
        from_name = item.get("from_name")
        value = item.get("value")
        if not isinstance(from_name, str) or not isinstance(value, Mapping):
            raise SchemaError(f"result item without from_name/value: {dict(item)!r}",
                              hint="only choices and labels results are supported")
        if from_name in ask_controls:
            named = value.get("choices")
            if not isinstance(named, list) or not all(isinstance(x, str) for x in named):
                raise SchemaError(f"{from_name!r}: expected value.choices as a list of target "
                                  f"names, got {dict(value)!r}", hint="push with this schema")
            for t in named:
                if targets is not None and t not in targets:
                    raise SchemaError(f"{from_name!r}: unknown stance target {t!r}",
                                      hint=f"project targets are: {', '.join(targets)}")
            asked[ask_controls[from_name].name].update(named)
            continue
        field: Field | None = by_name.get(from_name)
        target: str | None = None
        is_legacy = field is not None and field.kind == "stance" and field.of is not None
        if (field is None or field.kind == "stance") and not is_legacy:
            field = None
            for sname, sf in stance_fields.items():
                prefix = STANCE_PREFIX if sname == "stance" else f"{sname}__"
                if from_name.startswith(prefix) and len(from_name) > len(prefix):
                    field, target = sf, target_from_slug(from_name[len(prefix):])
                    break
        if field is None:
            raise SchemaError(
                f"unknown control {from_name!r} (not in schema {schema.name!r} "
                f"v{schema.version})",
                hint="the project's label config differs from the schema; pull with the "
                "schema the project was pushed with",
            )
        if field.kind == "spans":
            labels = value.get("labels")
            key = "labels"
        else:
            labels = value.get("choices")
            key = "choices"
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise SchemaError(
                f"{from_name!r}: expected value.{key} as a list of strings, got {dict(value)!r}",
                hint=f"field {field.name!r} is of kind {field.kind}",
            )
        for lab in labels:
            if lab not in field.values:
                raise SchemaError(
                    f"{from_name!r}: unknown label {lab!r}",
                    hint=f"schema {schema.name!r} v{schema.version} allows: "
                    f"{', '.join(field.values)}",
                )

        if is_legacy:
            if len(labels) != 1 or field.name in legacy:
                raise SchemaError(f"{from_name!r}: single choice field got {labels!r}",
                                  hint="set choice=\"single\" on the Choices tag")
            legacy[field.name] = labels[0]
        elif field.kind == "single":
            if len(labels) != 1 or out[field.name] is not None:
                raise SchemaError(f"{from_name!r}: single choice field got {labels!r}",
                                  hint="set choice=\"single\" on the Choices tag")
            out[field.name] = labels[0]
        elif field.kind == "multi":
            prev = cast("list[str] | None", out[field.name]) or []
            out[field.name] = prev + [lab for lab in labels if lab not in prev]
        elif field.kind == "stance":
            assert target is not None
            if targets is not None and target not in targets:
                raise SchemaError(f"{from_name!r}: unknown stance target {target!r}",
                                  hint=f"project targets are: {', '.join(targets)}")
            stances = cast("list[dict[str, str | None]]", out[field.name])
            if len(labels) != 1 or any(s["target"] == target for s in stances):
                raise SchemaError(f"{from_name!r}: one stance per target expected, got {labels!r}",
                                  hint="set choice=\"single\" on the stance Choices tag")
            stances.append({"target": target, "label": labels[0]})
        else:
            start, end = _span_offsets(item, value, sentence_text)
            spans = cast("list[dict[str, object]]", out[field.name])
            for lab in labels:
                spans.append({"start": start, "end": end, "label": lab,
                              "text": sentence_text[start:end]})

    for f in schema.fields:
        if f.shown_when is None or f.of is not None:
            continue
        dep = f.shown_when[0]
        dep_value = out.get(dep)
        shown = dep_value in f.shown_values or (
            isinstance(dep_value, list) and any(v in dep_value for v in f.shown_values))
        if not shown:
            out[f.name] = [] if f.kind in ("stance", "spans") else None
    for f in stance_fields.values():
        stances = cast("list[dict[str, str | None]]", out[f.name])
        if f.of is None:
            wanted = set(asked[f.name])
            if asks_every_target and targets is not None:
                wanted.update(targets)
            if mentioned is not None and not asks_every_target:
                wanted.update(mentioned)
                stances = [s for s in stances if s["target"] in wanted]
                out[f.name] = stances
            have = {s["target"] for s in stances}
            stances.extend({"target": t, "label": None} for t in sorted(wanted - have))
            continue
        parent = {s["target"]: s["label"]
                  for s in cast("list[dict[str, str | None]]", out[f.of])}
        showing = set(f.shown_values) or set(by_name[f.of].values)
        if f.name in legacy:
            have = {s["target"] for s in stances}
            stances.extend({"target": t, "label": legacy[f.name]}
                           for t, lab in sorted(parent.items())
                           if lab in showing and t not in have)
        out[f.name] = [s for s in stances if parent.get(cast(str, s["target"])) in showing]
    for f in schema.fields:
        if f.kind == "spans":
            cast("list[dict[str, Any]]", out[f.name]).sort(
                key=lambda s: (s["start"], s["end"], s["label"]))
        elif f.kind == "stance":
            cast("list[dict[str, str]]", out[f.name]).sort(key=lambda s: s["target"])
    return out

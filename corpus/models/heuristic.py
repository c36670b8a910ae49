"""The ``heuristic`` model: transparent claim cues for a cold start (no training, no data).

Each cue is a pattern a lead can check by reading the sentence (Chinese and English):

- ``number``, ``percent``, ``money``, ``date``: digits and Chinese numerals with a magnitude
  (3.5亿, 两万, 30 million), 30%, 百分之五, 5 个百分点, ¥, 美元, dollars, 2024年, 3月5日, 去年,
  last week;
- ``comparative``, ``superlative``: 比…更, 超过, 高于, 增长, 下降; more than, higher, rose;
  最大, 首次, 创新高; largest, record;
- ``reporting verb``: 表示, 称, 指出, 说, 认为, 据…报道; said, told, according to;
- ``causal``: 因为, 由于, 导致, 因此; because, due to, led to;
- ``prediction``: 预计, 有望, 将会, 将在; will, expects, forecast;
- ``policy``: 政策, 关税, 制裁, 监管; policy, tariffs, sanctions.

A sentence with any cue is suggested as a ``claim`` whose ``claim_type`` follows the cues
(numbers -> statistic, comparatives -> comparison, reporting verbs -> quote, causal ->
causal, prediction -> prediction, policy -> policy, a date -> event); one without any
(a date alone does not count) is ``no_claim``. Confidence grows with the number of distinct
cue kinds; a question is less likely a claim. Under label schema v1, a stance target that the
sentence never names (nor its aliases) is ``not_about`` and a named target is left for the
annotator; v2 asks stance only for named targets, so the heuristic answers no stance there.
``Suggestion.cues`` lists every cue found (``"percent: 30%"``, ``"reporting verb: 表示"``)
so a lead can see why.

Answers use the label schema's field names and values; a field or value the schema does
not have is not answered (a project's own schema may drop some).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from corpus.labelschema import LabelSchema, load_schema, stance_control_name
from corpus.models.suggestions import Answer, SentenceInput, Suggestion

VERSION = "heuristic-1"
"""Stored with every prediction; bump it whenever a rule or a confidence changes."""

_I = re.IGNORECASE
_CN_DIGIT = "零〇一二三四五六七八九十两百千"

# (kind, pattern): the first kinds win where matches overlap (a percent is not also a number).
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("percent", re.compile(
        r"\d+(?:[.,]\d+)?\s*(?:%|％|个百分点|percentage points?|per ?cent)"
        rf"|百分之[{_CN_DIGIT}点\d.]+"
        rf"|(?<![{_CN_DIGIT}])[一二三四五六七八九]成(?![为功立员本果])", _I)),
    ("money", re.compile(
        r"(?:US\$|HK\$|[$¥￥€£])\s*\d[\d.,]*(?:\s*(?:million|billion|trillion|[万亿]))?"
        rf"|[\d.,{_CN_DIGIT}]+\s*[万亿]?\s*(?:美元|人民币|欧元|英镑|日元|港元|港币|元|块钱)"
        r"|\d[\d.,]*\s*(?:million|billion|trillion)?\s*(?:dollars?|yuan|euros?|pounds|USD|RMB|CNY)\b",
        _I)),
    ("date", re.compile(
        r"\d{4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?)?|\d{1,2}\s*月\s*\d{1,2}\s*[日号]"
        r"|(?:今|去|明|前|后)年|上个?月|下个?月|本月|上周|本周|下周|昨天|今天|明天|昨日|今日|近日"
        r"|周[一二三四五六日]|星期[一二三四五六日天]|第[一二三四]季度|[上下]半年"
        r"|\b(?:19|20)\d{2}\b"
        r"|\b(?:January|February|March|April|June|July|August|September|October|November"
        r"|December)\b|\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
        r"|yesterday|today|tomorrow)\b|\b(?:last|next|this) (?:week|month|year|quarter)\b"
        r"|\bQ[1-4]\b", _I)),
    ("number", re.compile(  # not a model name such as H20 or GPT4
        r"(?<![A-Za-z\d.,])\d+(?:[.,]\d+)*(?:\s*(?:[万亿千百]|million|billion|trillion|thousand))?"
        rf"|[{_CN_DIGIT}]+[万亿倍]|[{_CN_DIGIT}]+(?=[多余]?[万亿])|一半|半数|过半|大多数"
        r"|\b(?:million|billion|trillion|thousands|dozens|hundreds)\b", _I)),
    ("superlative", re.compile(
        r"最(?:大|高|低|多|少|好|差|快|慢|强|弱|新|早|晚|重要|主要|严重|大的)|首次|首个|首家|之最"
        r"|创(?:下)?(?:历史)?(?:新高|新低|纪录|记录)|历史(?:最|新)[高低]"
        r"|\b(?:largest|biggest|highest|lowest|greatest|smallest|fastest|slowest|strongest"
        r"|weakest|best|worst|most|least|record|first-ever)\b", _I)),
    ("comparative", re.compile(
        r"比.{1,12}?(?:更|还|多|少|高|低|大|小|快|慢|强|弱)|更(?:加)?(?=[\u4e00-\u9fff])"
        r"|超过|高于|低于|多于|少于|不如|增长|增加|上涨|上升|下降|下跌|下滑|减少|翻[一两]?番|增幅|跌幅"
        r"|\b(?:more|less|fewer|higher|lower|greater|smaller|bigger|larger|faster|slower"
        r"|better|worse)\b(?:\s+than\b)?|\b(?:rose|rise[sn]?|fell|falls?|increased?|increases"
        r"|decreased?|decreases|grew|grows?|dropped|drops?|jumped|surged|declined|declines?)\b",
        _I)),
    ("reporting verb", re.compile(
        r"表示|指出|认为|强调|透露|宣布|声称|宣称|证实|承认|否认|坦言|提到|据悉|援引|告诉|回应|警告"
        r"|据.{1,12}?(?:报道|消息|称|介绍|统计|数据|显示)"
        r"|(?<![名对简职昵堪俗统人声宣号])称(?![为号作之呼赞])|(?<![小传游听])说(?![明服法])"
        r"|\b(?:said|says|told|tells|stated|announced|claimed|claims|argued|argues|noted"
        r"|reported|warned|insisted|admitted|denied|confirmed|revealed|explained"
        r"|according to)\b", _I)),
    ("causal", re.compile(
        r"因为|由于|导致|因此|所以|造成|引发|致使|使得|以致|从而|归因于|得益于|因而"
        r"|受.{1,8}?影响"
        r"|\b(?:because|due to|caused|causes?|causing|led to|leads? to|as a result|therefore"
        r"|thanks to|owing to|result(?:ed|s)? in|driven by)\b", _I)),
    ("prediction", re.compile(
        r"预计|预测|预期|有望|将会|将要|或将|可能会|料将|计划|打算|即将|展望|估计"
        r"|(?<![即必])将(?=[在于会要达超增减继推举成提进实开])"
        r"|\b(?:will|expects?|expected|forecasts?|predicts?|predicted|likely|projected"
        r"|plans? to|(?:is|are) set to|going to|outlook|estimates?|anticipates?)\b", _I)),
    ("policy", re.compile(
        r"政策|法规|规定|法律|条例|关税|制裁|禁令|出口管制|监管|补贴|法案"
        r"|\b(?:policy|policies|regulations?|regulators?|laws?|tariffs?|sanctions?|bans?|banned"
        r"|export controls?|subsid(?:y|ies)|legislation)\b", _I)),
)

#: cue kind -> claim_type value
CLAIM_TYPES: Mapping[str, str] = {
    "number": "statistic", "percent": "statistic", "money": "statistic",
    "comparative": "comparison", "superlative": "comparison",
    "reporting verb": "quote", "causal": "causal", "prediction": "prediction",
    "policy": "policy", "date": "event",
}
#: claim types that make a claim worth checking when they come with another kind of cue
WEAK = frozenset({"date"})
"""Cue kinds that make no claim on their own."""
CHECKABLE = frozenset({"statistic", "comparison", "causal"})
_QUESTION = re.compile(r"[?？]\s*[”\"'」』)）]*\s*$")


@dataclass(frozen=True)
class Cue:
    """One cue found in a sentence: its kind and the text that matched."""

    kind: str
    text: str
    start: int

    def __str__(self) -> str:
        return f"{self.kind}: {self.text}"


def find_cues(text: str) -> list[Cue]:
    """Every cue of ``text`` in reading order (overlapping matches: the earlier kind wins)."""
    taken: list[tuple[int, int]] = []
    cues: list[Cue] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            s, e = m.span()
            if s == e or any(s < te and ts < e for ts, te in taken):
                continue
            taken.append((s, e))
            cues.append(Cue(kind, m.group(0).strip(), s))
    cues.sort(key=lambda c: c.start)
    return cues


def _mentions(text: str, names: Sequence[str]) -> bool:
    folded = text.casefold()
    for name in names:
        n = name.strip().casefold()
        if not n:
            continue
        if n.isascii() and n.replace(" ", "").isalnum():
            if re.search(rf"(?<![a-z0-9]){re.escape(n)}(?![a-z0-9])", folded):
                return True
        elif n in folded:
            return True
    return False


class HeuristicModel:
    """Claim cues -> suggestions (implements ``corpus.models.suggestions.Model``).

    ``aliases`` maps a stance target to the other names it goes by (a project's targets
    file): a sentence naming an alias names the target.
    """

    def __init__(self, schema: LabelSchema | None = None, *,
                 aliases: Mapping[str, Sequence[str]] | None = None) -> None:
        self.schema = schema or load_schema()
        self.aliases = {k: tuple(v) for k, v in (aliases or {}).items()}

    @property
    def version(self) -> str:
        return VERSION

    def _has(self, field: str, value: str | None = None) -> bool:
        f = next((x for x in self.schema.fields if x.name == field), None)
        return f is not None and (value is None or value in f.values)

    def suggest(self, sentences: Sequence[SentenceInput]) -> list[Suggestion]:
        return [self.suggest_one(s) for s in sentences]

    def suggest_one(self, sentence: SentenceInput) -> Suggestion:
        """The suggestion for one sentence."""
        text = sentence.text or ""
        cues = find_cues(text)
        shown = [str(c) for c in cues]
        kinds = {c.kind for c in cues}
        # a date alone does not make a claim ("今天天气很好"): it only adds "event" to one
        types = sorted({CLAIM_TYPES[k] for k in kinds}) if kinds - WEAK else []
        question = bool(_QUESTION.search(text))
        if question:
            shown.append("question: ends with a question mark")
        answers: dict[str, Answer] = {}
        confidence: dict[str, float] = {}

        if types:
            claim, conf = "claim", min(0.95, 0.5 + 0.1 * len(types)
                                       + (0.1 if "statistic" in types else 0.0))
        else:
            # no cue: short sentences are rarely claims, long ones (or dated) may hide one
            claim, conf = "no_claim", 0.75 if len(text) < 40 and not kinds else 0.6
        if question:
            conf = max(0.3, conf - 0.2)
        if self._has("claim", claim):
            answers["claim"] = claim
            confidence["claim"] = round(conf, 3)
        if claim == "claim" and "claim" in answers:
            if types and self._has("claim_type"):
                chosen = tuple(t for t in types if self._has("claim_type", t))
                if chosen:
                    answers["claim_type"] = chosen
                    confidence["claim_type"] = round(min(0.9, 0.45 + 0.1 * len(chosen)), 3)
            checkable = CHECKABLE & set(types)
            worth = "yes" if checkable and len(types) >= 2 else "unsure"
            if self._has("checkworthy", worth):
                answers["checkworthy"] = worth
                confidence["checkworthy"] = 0.65 if worth == "yes" else 0.4

        mentioned = False
        # schema v2 asks stance only for the targets a task mentions, and the holder per
        # answer: an unnamed target is not asked (no not_about to give), and the stance of a
        # named one is the annotator's, so the holder has nothing to follow
        per_answer = any(f.of is not None for f in self.schema.fields_of_kind("stance"))
        for f in self.schema.fields_of_kind("stance"):
            if "not_about" not in f.values or f.of is not None:
                continue
            for target in sentence.targets:
                if _mentions(text, (target, *self.aliases.get(target, ()))):
                    mentioned = True
                    shown.append(f"target named: {target}")
                    continue
                if per_answer:
                    continue
                answers[stance_control_name(f, target)] = "not_about"
                confidence[stance_control_name(f, target)] = 0.9
        if mentioned and not per_answer:
            holder = "quoted_source" if "reporting verb" in kinds else "author"
            if self._has("stance_holder", holder):
                answers["stance_holder"] = holder
                confidence["stance_holder"] = 0.6 if holder == "quoted_source" else 0.5
        score = min(confidence.values()) if confidence else 0.0
        return Suggestion(sentence_id=sentence.sentence_id, answers=answers,
                          score=round(score, 3), cues=tuple(shown))


__all__ = ["CLAIM_TYPES", "VERSION", "Cue", "HeuristicModel", "find_cues"]

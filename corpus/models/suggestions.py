"""What a pre-annotation model returns for one sentence, whatever the model.

A :class:`Suggestion` holds answers keyed like pulled annotations: a field name of the
label schema (``claim``, ``claim_type``, ``checkworthy``, ...) or a stance control name
(``labelschema.stance_control_name(field, target)``, e.g. ``stance__英伟达``). The
Label Studio side (``corpus.labelstudio.predictions``) turns it into a prediction
(``result``, ``model_version``, ``score``); nothing else depends on Label Studio.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Protocol

Answer = str | tuple[str, ...]
"""A single choice (``"claim"``) or, for a multi field, the chosen values."""


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """One model's answers for one sentence.

    ``score`` is the model's confidence in the whole suggestion, in [0, 1] (the lowest
    per-field confidence: "least certain first" orders by it). ``cues`` says why, in
    words a lead can check (``"number: 30%"``, ``"reporting verb: 表示"``); a model with
    no such account leaves it empty.
    """

    sentence_id: str
    answers: Mapping[str, Answer]
    score: float
    cues: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class SentenceInput:
    """What a model may look at: the sentence, its context, and the project's targets."""

    sentence_id: str
    text: str
    context_before: str = ""
    context_after: str = ""
    targets: Sequence[str] = ()


class Model(Protocol):
    """A pre-annotation model: ``version`` is stored with every prediction it makes."""

    @property
    def version(self) -> str: ...

    def suggest(self, sentences: Sequence[SentenceInput]) -> list[Suggestion]: ...

"""Pre-annotations through the annotator's eyes (real Label Studio, real Chromium).

``corpus predict`` attaches the heuristic's predictions and ``push --order uncertain`` sets
the queue; a fresh annotator opens the labelling stream (``/projects/{id}/data?labeling=1``,
which follows the first Data Manager tab, not the project's sampling): the first task
served is one of the least certain, and its editor opens with the prediction's answers
already chosen. The annotator submits it
unchanged, edits the next one, and ``pull`` records which annotation started from which
prediction and whether it was accepted unchanged; ``status`` counts it per model version.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser_helpers import (
    CHROMIUM_ARGS,
    LOAD_TIMEOUT_MS,
    choice,
    controls_after_header,
    login,
    use_patient_timeouts,
)
from playwright.sync_api import Page, expect, sync_playwright
from test_browser import _artifact_dir, _require_browser, chromium, keep_failure  # noqa: F401 (fixture)

from corpus.labelschema import load_schema, stance_control_name
from corpus.labelstudio import users
from corpus.labelstudio.annotations import pull, read_annotations
from corpus.labelstudio.predictions import predict, read_predictions
from corpus.labelstudio.tasks import build_tasks, push, read_ledger
from corpus.labelstudio.team import project_status
from corpus.workspace import Workspace

if TYPE_CHECKING:
    from conftest import LSServer

TARGETS = ["英伟达", "特朗普", "美国"]
SCHEMA = load_schema()


def _sentence_on_screen(page: Page, previous: str | None = None) -> str:
    sentence = page.locator(".corpus-sentence .lsf-richtext__line")
    expect(sentence).to_have_count(1, timeout=LOAD_TIMEOUT_MS)
    if previous is not None:
        expect(sentence).not_to_have_text(previous, timeout=LOAD_TIMEOUT_MS)
    return str(sentence.inner_text())


def _field_choice(page: Page, name: str, value: str) -> Any:
    f = SCHEMA.field(name)
    return choice(controls_after_header(page, f.title), f.label(value),
                  multiple=f.kind == "multi")


def _expect_prefilled(page: Page, answers: dict[str, Any]) -> None:
    """Every choice the prediction made is checked on the screen."""
    for name in ("claim", "checkworthy", "stance_holder"):
        if name in answers:
            expect(_field_choice(page, name, answers[name])).to_be_checked()
    for value in answers.get("claim_type") or []:
        expect(_field_choice(page, "claim_type", value)).to_be_checked()
    stance = SCHEMA.field("stance")
    for target in TARGETS:
        key = stance_control_name(stance, target)
        if key in answers:
            group = controls_after_header(page, f"「{target}」")
            # The stance radios of all targets share one HTML name per value, so the browser
            # keeps the native `checked` of only one of them; what the annotator sees is
            # ant-design's checked class on the radio's label.
            label = choice(group, stance.label(answers[key])).locator("xpath=ancestor::label[1]")
            expect(label).to_have_class(re.compile(r"ant-radio-wrapper-checked"))


@pytest.mark.browser
@pytest.mark.labelstudio
def test_editor_opens_prefilled_least_certain_first_and_pull_records_acceptance(
    chromium: Path, ls_server: LSServer, seed_ws: Workspace,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _require_browser(chromium)
    monkeypatch.setenv("LABEL_STUDIO_URL", ls_server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls_server.token)
    project = f"prefill-{uuid.uuid4().hex[:8]}"
    pushed = push(seed_ws, project, targets=TARGETS, order="uncertain", overlap=1)
    report = predict(seed_ws, project)
    assert report.created == pushed.imported > 0

    ledger = read_ledger(seed_ws, project)
    by_text = {t["text"]: t["sentence_id"] for t in build_tasks(seed_ws)}
    recorded = {r["sentence_id"]: r for r in read_predictions(seed_ws, project).to_pylist()}
    lowest = min(r["score"] for r in recorded.values())

    email = f"annotator-{uuid.uuid4().hex[:8]}@example.com"
    password = uuid.uuid4().hex
    users.add_local_user(ls_server.workspace, email, password)
    served: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                     args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        use_patient_timeouts(page)
        try:
            login(page, ls_server.url, email, password)
            page.goto(f"{ls_server.url}/projects/{pushed.project_id}/data?labeling=1")
            first = _sentence_on_screen(page)
            # the labelling stream opens the project's instructions first: close them
            modal = page.locator(".lsf-modal-ls_visible")
            if modal.count():
                page.keyboard.press("Escape")
                expect(modal).to_have_count(0)
            served.append(by_text[first])
            answers = json.loads(recorded[served[0]]["answers"])
            _expect_prefilled(page, answers)
            page.screenshot(path=str(_artifact_dir() / "prefilled-screen.png"))
            page.get_by_test_id("bottombar-submit-button").click()  # accepted unchanged

            second = _sentence_on_screen(page, previous=first)
            served.append(by_text[second])
            answers = json.loads(recorded[served[1]]["answers"])
            _expect_prefilled(page, answers)
            other = next(v for v in SCHEMA.field("claim").values if v != answers["claim"])
            _field_choice(page, "claim", other).check()
            page.get_by_test_id("bottombar-submit-button").click()  # edited
            _sentence_on_screen(page, previous=second)
        except Exception:
            keep_failure(page, "prefilled-screen-failure")
            raise
        finally:
            browser.close()

    # The stream served the least certain task first (the queue tab's ordering).
    assert recorded[served[0]]["score"] == lowest
    assert recorded[served[1]]["score"] >= lowest

    # What the editor sent: the prediction it started from.
    client = ls_server.client()
    anns = {sid: client.get_task(ledger[sid])["annotations"] for sid in served}
    for sid in served:
        assert [a["parent_prediction"] for a in anns[sid]] == [recorded[sid]["prediction_id"]]

    pulled = pull(seed_ws, project)
    assert pulled.added == 2
    rows = {r["sentence_id"]: r for r in read_annotations(seed_ws, SCHEMA).to_pylist()
            if r["ls_project_id"] == pushed.project_id}
    assert rows[served[0]]["prediction_accepted"] is True
    assert rows[served[1]]["prediction_accepted"] is False
    assert {rows[s]["prediction_model_version"] for s in served} == {"heuristic-1"}
    assert {rows[s]["parent_prediction"] for s in served} == {
        recorded[s]["prediction_id"] for s in served}
    # Label Studio 1.23 Community's editor leaves `last_action` unset (recorded as it is).
    assert [rows[s]["last_action"] for s in served] == [
        a[0].get("last_action") for a in anns.values()]

    status = project_status(seed_ws, project, SCHEMA)
    [acc] = status.predictions
    assert (acc.model_version, acc.predicted, acc.started, acc.accepted) == (
        "heuristic-1", report.created, 2, 1)

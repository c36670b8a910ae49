"""An annotator labels a sentence in the real Label Studio web UI (Playwright + Chromium).

The whole loop an annotation lead relies on, through the annotator's eyes:
ingest the seed article plus one hostile article, ``push`` a project, log in as
a fresh annotator, open the task whose sentence contains ``<script>``, check the
title, the context and the sentence are shown (markup as visible text, no
dialog ever fires), answer claim / claim type / checkworthiness / one stance,
mark two spans (chip click and hotkey), save a screenshot, submit; then
``pull`` and ``release`` (library and CLI) must carry exactly those labels.

Runs Debian's Chromium (``/usr/bin/chromium``), never a downloaded browser.
``CORPUS_SKIP_BROWSER=1`` skips it; a missing Chromium or CJK font fails it.
A second test labels three typical tasks by keyboard and counts the keys and mouse
actions each takes (``test-artifacts/labelling-counts.json``; README quotes them).
``CORPUS_UPDATE_SCREENSHOT=1`` rewrites ``docs/labelling-screen.png`` (the statistic task).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from browser_helpers import (
    CHROMIUM_ARGS,
    choice,
    controls_after_header,
    fit_viewport_to_editor,
    login,
    open_task,
    select_text,
    span_label,
    use_patient_timeouts,
)
from playwright.sync_api import Dialog, Locator, Page, expect, sync_playwright
from typer.testing import CliRunner

from corpus.articles.ingestion import ingest
from corpus.cli.main import app
from corpus.labelstudio import users
from corpus.labelstudio.annotations import pull
from corpus.labelstudio.targets import Target
from corpus.labelstudio.tasks import build_tasks, push, read_ledger
from corpus.releases.build import release
from corpus.releases.reader import load
from corpus.sentences import split
from corpus.workspace import Workspace

if TYPE_CHECKING:
    from conftest import LSServer

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
DOC_SCREENSHOT = REPO / "docs" / "labelling-screen.png"
INSTALL_HINT = "install it with `apt-get install chromium fonts-noto-cjk`"

TARGETS = ["英伟达", "特朗普"]
TITLE = "英伟达<b>芯片</b>安全声明"
SENTENCE = "英伟达发布声明<script>alert(1)</script>称芯片安全。"
BEFORE = "前一句话在这里。"
AFTER = "特朗普<img src=x onerror=alert(3)>未回应。"
HOSTILE_ARTICLE = f"{TITLE}\n\n{BEFORE}{SENTENCE}{AFTER}\n"

# What the annotator clicks (bilingual labels from schema/claims_stance.yaml) ...
CLAIM_TYPE_LABEL, CLAIM_TYPE = "事件 event", "event"
CHECKWORTHY_LABEL, CHECKWORTHY = "值得 yes", "yes"
STANCE_TARGET, STANCE_LABEL, STANCE = "英伟达", "反对 against", "against"
CLAIM_SPAN_TEXT, SOURCE_SPAN_TEXT = "芯片安全", "英伟达"
# ... and what the release must hold (offsets into the sentence, after the escaped markup).
EXPECTED_SPANS = sorted(
    [
        {"start": SENTENCE.index(CLAIM_SPAN_TEXT),
         "end": SENTENCE.index(CLAIM_SPAN_TEXT) + len(CLAIM_SPAN_TEXT),
         "label": "claim", "text": CLAIM_SPAN_TEXT},
        {"start": 0, "end": len(SOURCE_SPAN_TEXT), "label": "source", "text": SOURCE_SPAN_TEXT},
    ],
    key=lambda s: (s["start"], s["end"]),
)


def _skip_if_requested() -> None:
    if os.environ.get("CORPUS_SKIP_BROWSER", "") not in ("", "0"):
        pytest.skip("CORPUS_SKIP_BROWSER is set")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; skipped only on request (before the Label Studio fixture starts)."""
    _skip_if_requested()
    return CHROMIUM


def _require_browser(chromium: Path) -> None:
    if not chromium.is_file() or not os.access(chromium, os.X_OK):
        pytest.fail(f"{chromium} is missing: {INSTALL_HINT} (or set CORPUS_SKIP_BROWSER=1 to "
                    "skip the browser tests)", pytrace=False)
    fc_list = shutil.which("fc-list")
    if fc_list:
        fonts = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True,
                               check=False).stdout
        if not fonts.strip():
            pytest.fail(f"no Chinese font: Chinese would render as boxes; {INSTALL_HINT}",
                        pytrace=False)


def _artifact_dir() -> Path:
    out = Path(os.environ.get("CORPUS_TEST_ARTIFACTS") or REPO / "test-artifacts")
    out.mkdir(parents=True, exist_ok=True)
    return out


def keep_failure(page: Page, name: str) -> None:
    """Keep what the browser showed when a test failed: ``name``.png and .html in the
    artifact folder."""
    failed = _artifact_dir() / name
    page.screenshot(path=f"{failed}.png")
    failed.with_suffix(".html").write_text(page.content(), encoding="utf-8")


def _build_workspace(root: Path) -> Workspace:
    ws = Workspace(root / "ws")
    extra = root / "input"
    extra.mkdir()
    (extra / "hostile.txt").write_text(HOSTILE_ARTICLE, encoding="utf-8")
    report = ingest([REPO / "seeds", extra], ws)
    assert not report.problems, report.problems
    assert len(report.added) == 2
    split(ws)
    return ws


def _sentence_id(ws: Workspace, text: str) -> str:
    table = pq.read_table(ws.sentences, columns=["sentence_id", "text"])
    ids = table.filter(pc.equal(table["text"], text))["sentence_id"].to_pylist()
    assert len(ids) == 1, f"expected one sentence {text!r}, found {len(ids)}"
    return str(ids[0])


def _released_row(release_dir: Path, sentence_id: str) -> dict[str, Any]:
    table = load(release_dir, "latest", split="all")
    rows = table.filter(pc.equal(table["sentence_id"], sentence_id)).to_pylist()
    assert len(rows) == 1, f"sentence {sentence_id} is released {len(rows)} times"
    row: dict[str, Any] = rows[0]
    return row


def _assert_labels(row: dict[str, Any]) -> None:
    assert row["text"] == SENTENCE
    assert row["claim"] == "claim"
    assert row["claim_type"] == [CLAIM_TYPE]
    assert row["checkworthy"] == CHECKWORTHY
    # both targets are mentioned (英伟达 in the sentence, 特朗普 in the context after it), so
    # both were asked; only 英伟达 was answered
    assert row["stance"] == [{"target": "特朗普", "label": None},
                             {"target": STANCE_TARGET, "label": STANCE}]
    assert sorted(row["claim_span"], key=lambda s: (s["start"], s["end"])) == EXPECTED_SPANS
    assert row["stance_holder"] == []
    assert row["seg_quality"] is None
    assert row["n_annotators"] == 1


def _label_in_browser(chromium: Path, base_url: str, project_id: int, task_id: int,
                      email: str, password: str) -> Path:
    """Drive the labelling screen as the annotator; return the screenshot's path."""
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                     args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page.on("dialog", on_dialog)
        use_patient_timeouts(page)
        try:
            login(page, base_url, email, password)
            open_task(page, base_url, project_id, task_id)

            # The task: title, muted context before/after, the sentence; markup is text.
            sentence = page.locator(".corpus-sentence .lsf-richtext__line")
            expect(sentence).to_have_text(SENTENCE)
            expect(page.get_by_role("heading", name=TITLE, exact=True)).to_be_visible()
            context = page.locator(".corpus-ctx .lsf-richtext__line")
            expect(context).to_have_text([BEFORE, AFTER])
            for element in (sentence, context.nth(1)):
                expect(element.locator("script, img")).to_have_count(0)

            # Dependent questions appear only once `claim` is chosen.
            claim_type = choice(page, CLAIM_TYPE_LABEL, multiple=True)
            expect(claim_type).to_be_hidden()
            choice(page, "主张 claim").check()
            claim_type.check()
            choice(page, CHECKWORTHY_LABEL).check()
            stance_group = controls_after_header(page, f"「{STANCE_TARGET}」")
            choice(stance_group, STANCE_LABEL).check()
            for label in ("主张 claim", CLAIM_TYPE_LABEL, CHECKWORTHY_LABEL):
                expect(choice(page, label, multiple=label == CLAIM_TYPE_LABEL)).to_be_checked()
            expect(choice(stance_group, STANCE_LABEL)).to_be_checked()

            # Spans: one by clicking the label chip, one with the label's hotkey.
            span_label(page, "主张 claim").click()
            select_text(page, sentence, CLAIM_SPAN_TEXT)
            highlights = sentence.locator("span.htx-highlight")
            expect(highlights).to_have_text([CLAIM_SPAN_TEXT])
            page.keyboard.press("Escape")  # unselect the new region: a hotkey would relabel it
            page.keyboard.press("k")  # 来源 source
            select_text(page, sentence, SOURCE_SPAN_TEXT)
            expect(highlights).to_have_text([SOURCE_SPAN_TEXT, CLAIM_SPAN_TEXT])
            page.keyboard.press("Escape")

            fit_viewport_to_editor(page, sentence)
            shot = _artifact_dir() / "labelling-screen-hostile.png"
            page.screenshot(path=str(shot))

            page.get_by_role("button", name="Submit").click()
            # Saved: the Submit button became "Update" (its aria-label stays "submit").
            expect(page.get_by_test_id("bottombar-update-button")).to_have_text("Update")
        except Exception:
            keep_failure(page, "labelling-screen-failure")
            raise
        finally:
            browser.close()
    assert dialogs == [], f"the page opened dialogs (markup was executed): {dialogs}"
    return shot


@pytest.mark.browser
@pytest.mark.labelstudio
def test_annotator_labels_hostile_sentence_in_browser(
    chromium: Path, ls_server: LSServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _require_browser(chromium)
    monkeypatch.setenv("LABEL_STUDIO_URL", ls_server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls_server.token)
    ws = _build_workspace(tmp_path)

    project = f"browser-{uuid.uuid4().hex[:8]}"
    pushed = push(ws, project, targets=TARGETS)
    assert pushed.targets == TARGETS
    sentence_id = _sentence_id(ws, SENTENCE)
    task_id = read_ledger(ws, project)[sentence_id]
    task = next(t for t in build_tasks(ws) if t["sentence_id"] == sentence_id)
    assert (task["title"], task["context_before"], task["context_after"]) == (TITLE, BEFORE,
                                                                               AFTER)
    cli_root = tmp_path / "cli-ws"
    shutil.copytree(ws.root, cli_root)

    email = f"annotator-{uuid.uuid4().hex[:8]}@example.com"
    password = uuid.uuid4().hex
    users.add_local_user(ls_server.workspace, email, password)
    shot = _label_in_browser(chromium, ls_server.url, pushed.project_id, task_id, email,
                             password)
    assert shot.stat().st_size > 10_000

    annotations = ls_server.client().get_task(task_id)["annotations"]
    assert [a["completed_by"]["email"] for a in annotations] == [email]

    # Library: pull, release, load.
    pulled = pull(ws, project)
    assert pulled.added == 1
    info = release(ws, "browser")
    _assert_labels(_released_row(info.path.parent, sentence_id))

    # CLI on a copy of the workspace taken right after the push.
    runner = CliRunner()
    result = runner.invoke(app, ["pull", "--project", project, "--workspace", str(cli_root)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["release", "browser", "--workspace", str(cli_root)])
    assert result.exit_code == 0, result.output
    _assert_labels(_released_row(Workspace(cli_root).releases_dir / "browser", sentence_id))


# --------------------------------------------------------------------------- speed

#: Three typical tasks, one article each (so no context mentions a target): the sentence,
#: what the annotator presses and drags, and the most keys / mouse actions allowed.
TYPICAL = {
    "no_claim": "今天的天气很好，大家都出门散步了。",
    "statistic": "Nvidia去年的营收增长了百分之六十。",   # 英伟达 by its alias
    "quote": "外媒报道称，多家企业已经接到了通知。",
}
CONTEXT = ("市场研究机构周一公布了最新数据。", "分析人士认为这一趋势还会持续。")
TYPICAL_TARGETS = [Target("英伟达", ("Nvidia", "NVIDIA", "老黄")), Target("特朗普")]
MAX_KEYS = {"no_claim": 2, "statistic": 6, "quote": 5}
MAX_MOUSE = {"no_claim": 0, "statistic": 0, "quote": 1}


class CountedInput:
    """The annotator's keyboard and mouse, counting what they do on one task."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.keys: list[str] = []
        self.mouse = 0

    def press(self, *keys: str) -> None:
        for key in keys:
            self.keys.append(key)
            self.page.keyboard.press(key)

    def drag_over(self, element: Locator, text: str) -> None:
        self.mouse += 1
        select_text(self.page, element, text)

    def submit(self) -> None:
        self.press("Control+Enter")
        expect(self.page.get_by_test_id("bottombar-update-button")).to_have_text("Update")


_READY_JS = """(id) => {
  const store = window.Htx;
  return !!store && String(store.task?.id) === String(id)
    && !!store.annotationStore?.selected?.editable;
}"""
_LAYOUT_JS = """() => {
  const box = (sel) => document.querySelector(sel).getBoundingClientRect();
  const size = (el) => parseFloat(getComputedStyle(el).fontSize);
  const sentence = document.querySelector('.corpus-sentence .lsf-richtext__line');
  const texts = [...document.querySelectorAll('.lsf-main-content h1, .lsf-main-content h2,'
    + '.lsf-main-content h3, .lsf-main-content h4, .lsf-main-content h5,'
    + '.lsf-main-content h6, .lsf-main-content label, .corpus-ctx .lsf-richtext__line')];
  return {
    sentence: size(sentence), others: Math.max(...texts.map(size)),
    border: getComputedStyle(document.querySelector('.corpus-sentence')).borderTopWidth,
    ctx: getComputedStyle(document.querySelector('.corpus-ctx .lsf-richtext__line')).color,
    order: [box('.corpus-before').top, box('.corpus-sentence').top, box('.corpus-after').top,
            box('.lsf-labels').top],
  };
}"""


def _assert_layout(page: Page) -> None:
    """The sentence is boxed and the largest text; the muted context sits above and below
    it, the span labels below it."""
    got: dict[str, Any] = page.evaluate(_LAYOUT_JS)
    assert got["sentence"] > got["others"], got
    assert got["border"] == "2px", got
    assert got["ctx"] == "rgb(140, 140, 140)", got
    assert got["order"] == sorted(got["order"]), got


def _target_block(page: Page, target: str) -> Locator:
    return page.locator(".corpus-target").filter(has_text=f"「{target}」")


def _label_typical(chromium: Path, base_url: str, project_id: int, tasks: dict[str, int],
                   email: str, password: str) -> dict[str, dict[str, Any]]:
    """Label the three typical tasks by keyboard as fast as the screen allows; return the
    keys pressed and mouse actions per task."""
    counts: dict[str, dict[str, Any]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                     args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        use_patient_timeouts(page)
        try:
            login(page, base_url, email, password)
            for name in ("no_claim", "statistic", "quote"):
                open_task(page, base_url, project_id, tasks[name])
                sentence = page.locator(".corpus-sentence .lsf-richtext__line")
                expect(sentence).to_have_text(TYPICAL[name])
                expect(page.locator(".corpus-ctx .lsf-richtext__line")).to_have_text(
                    list(CONTEXT))
                expect(choice(page, "主张 claim")).to_be_visible()
                # Label Studio binds the hotkeys when it selects the task's annotation;
                # the quick view may load the task twice (re-creating the editor): wait
                # until the page is quiet and the editor is the task's
                page.wait_for_load_state("networkidle")
                page.wait_for_function(_READY_JS, arg=tasks[name])
                if name == "no_claim":
                    _assert_layout(page)
                mentioned = ["英伟达"] if name == "statistic" else []
                for t in TYPICAL_TARGETS:  # only the mentioned target's question is shown
                    block = _target_block(page, t.target)
                    if t.target in mentioned:
                        expect(block).to_be_visible()
                    else:
                        expect(block).to_be_hidden()
                user = CountedInput(page)
                if name == "no_claim":
                    user.press("2")
                    expect(choice(page, "非主张 no claim")).to_be_checked()
                elif name == "statistic":
                    user.press("1", "q", "s", "c", "b")
                    block = _target_block(page, "英伟达")
                    expect(choice(block, "中立 neutral")).to_be_checked()
                    expect(choice(block, "作者 author")).to_be_checked()
                    expect(choice(page, "数据统计 statistic", multiple=True)).to_be_checked()
                    fit_viewport_to_editor(page, sentence)
                    shot = _artifact_dir() / "labelling-screen.png"
                    page.screenshot(path=str(shot))
                    if os.environ.get("CORPUS_UPDATE_SCREENSHOT") == "1" or \
                            not DOC_SCREENSHOT.exists():
                        DOC_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(shot, DOC_SCREENSHOT)
                    page.set_viewport_size({"width": 1400, "height": 1000})
                else:
                    user.press("1", "e", "s", "k")
                    # the label is armed (the text re-renders once then: wait for it)
                    expect(page.locator(".lsf-label_selected")).to_have_text(
                        re.compile("来源 source"))
                    expect(sentence).to_have_text(TYPICAL[name])
                    user.drag_over(sentence, "外媒")
                    expect(sentence.locator("span.htx-highlight")).to_have_text(["外媒"])
                user.submit()
                counts[name] = {"keys": user.keys, "mouse": user.mouse}
        except Exception:
            keep_failure(page, "labelling-typical-failure")
            raise
        finally:
            browser.close()
    return counts


@pytest.mark.browser
@pytest.mark.labelstudio
def test_typical_tasks_take_a_few_keys(
    chromium: Path, ls_server: LSServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No claim and no target: two keys with submit; a statistic claim on one target and a
    quoted claim with a span: a handful, no clicks but the span's drag. Stance is asked only
    for the mentioned target, and the release tells "not asked" from not_about."""
    _require_browser(chromium)
    monkeypatch.setenv("LABEL_STUDIO_URL", ls_server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls_server.token)
    ws = Workspace(tmp_path / "ws")
    folder = tmp_path / "input"
    folder.mkdir()
    for name, text in TYPICAL.items():  # context that names no target
        (folder / f"{name}.txt").write_text(
            f"{name}\n\n{CONTEXT[0]}{text}{CONTEXT[1]}\n", encoding="utf-8")
    assert not ingest([folder], ws).problems
    split(ws)
    project = f"speed-{uuid.uuid4().hex[:8]}"
    pushed = push(ws, project, targets=TYPICAL_TARGETS)
    ledger = read_ledger(ws, project)
    tasks = {name: ledger[_sentence_id(ws, text)] for name, text in TYPICAL.items()}

    email = f"annotator-{uuid.uuid4().hex[:8]}@example.com"
    password = uuid.uuid4().hex
    users.add_local_user(ls_server.workspace, email, password)
    counts = _label_typical(chromium, ls_server.url, pushed.project_id, tasks, email,
                            password)
    (_artifact_dir() / "labelling-counts.json").write_text(
        json.dumps(counts, indent=1), encoding="utf-8")
    for name in TYPICAL:
        keys, mouse = counts[name]["keys"], counts[name]["mouse"]
        assert len(keys) <= MAX_KEYS[name], (name, keys)
        assert mouse <= MAX_MOUSE[name], (name, mouse)
        assert keys[-1] == "Control+Enter"
    assert counts["no_claim"]["keys"] == ["2", "Control+Enter"]

    assert pull(ws, project).added == 3
    info = release(ws, project)
    rows = {r["text"]: r for r in load(info.path.parent, "latest", split="all").to_pylist()}
    no_claim, statistic, quote = (rows[TYPICAL[n]] for n in ("no_claim", "statistic", "quote"))
    assert no_claim["claim"] == "no_claim"
    assert no_claim["stance"] == [] and no_claim["stance_holder"] == []  # not asked
    assert statistic["claim"] == "claim" and statistic["claim_type"] == ["statistic"]
    assert statistic["checkworthy"] == "yes"
    assert statistic["stance"] == [{"target": "英伟达", "label": "neutral"}]
    assert statistic["stance_holder"] == [{"target": "英伟达", "label": "author"}]
    assert quote["claim_type"] == ["quote"] and quote["stance"] == []
    assert quote["claim_span"] == [{"start": 0, "end": 2, "label": "source", "text": "外媒"}]


def test_chromium_fixture_skips_only_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """The skip switch is explicit; without it a missing Chromium is a failure, not a skip."""
    monkeypatch.setenv("CORPUS_SKIP_BROWSER", "1")
    with pytest.raises(pytest.skip.Exception, match="CORPUS_SKIP_BROWSER"):
        _skip_if_requested()
    monkeypatch.setenv("CORPUS_SKIP_BROWSER", "0")
    _skip_if_requested()
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium fonts-noto-cjk"):
        _require_browser(Path("/nonexistent/chromium"))


"""Playwright helpers for driving the Label Studio 1.23 labelling screen (sync API).

What works in Label Studio 1.23.2 (found by driving it; keep in sync when upgrading):

- log in at ``/user/login/``: ``input[name=email]``, ``input[name=password]``,
  ``button[type=submit]``; the server then redirects away from ``/user/login/``;
- open one task in the Data Manager's quick view: ``/projects/{id}/data?task={task_id}``
  (Label Studio appends ``&tab=N``); the labelling stream
  (``/projects/{id}/data?labeling=1``) ignores ``task=`` and shows the next task;
- ``<Text>`` renders as ``.lsf-richtext__line`` spans inside the ``<View className>``
  wrappers of the config, marked regions as ``span.htx-highlight``;
- ``<Choices>`` render as ant-design radios/checkboxes whose accessible name is the
  label plus the hotkey hint (``主张 claim[1]``); controls of a ``<Header>`` are the
  next ``div.lsf-choices`` sibling;
- ``<Labels>`` render as ``.lsf-labels .lsf-label`` chips (click, then drag over text);
- the Submit button has ``data-testid="bottombar-submit-button"`` (name "Submit");
  once saved it is replaced by ``data-testid="bottombar-update-button"`` showing
  "Update" (aria-label "submit"); the "Annotation saved successfully" toast is
  transient, so do not wait for it;
- hotkeys work once the editor has selected the task's annotation
  (``window.Htx.task.id`` is the task and ``window.Htx.annotationStore.selected.editable``);
  pressing earlier loses the key. A hotkey answers a control even while it is hidden, and
  every choice without a hotkey gets a spare key (``1234567890qwetasdfgzxcvbyiopjklnm``);
- ``Ctrl+Enter`` submits (Playwright: ``Control+Enter``); ``Escape`` unselects a region.
"""

from __future__ import annotations

import re
from typing import TypedDict

from playwright.sync_api import Locator, Page, expect

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium's background connections are refused by a closed network
    # and slow everything down.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOAD_TIMEOUT_MS = 60_000
"""First load of the labelling app (big JS bundle, cold server caches)."""
UI_TIMEOUT_MS = 30_000
"""Any other wait (actions, assertions): generous, the suite may share a busy machine."""


class _Segment(TypedDict):
    x0: float
    x1: float
    y: float


def use_patient_timeouts(page: Page) -> None:
    """Auto-wait up to ``UI_TIMEOUT_MS`` in actions and ``expect`` (default 30 s / 5 s)."""
    page.set_default_timeout(UI_TIMEOUT_MS)
    expect.set_options(timeout=UI_TIMEOUT_MS)


def login(page: Page, base_url: str, email: str, password: str) -> None:
    """Log in through the Label Studio login form and wait until we are let in."""
    page.goto(f"{base_url}/user/login/")
    page.locator('input[name="email"]').fill(email)
    page.locator('input[name="password"]').fill(password)
    page.locator('button[type="submit"]').click()
    page.wait_for_url(lambda url: "/user/login" not in url, timeout=LOAD_TIMEOUT_MS)


def open_task(page: Page, base_url: str, project_id: int, task_id: int) -> Locator:
    """Open one task in the Data Manager quick view; return the labelling editor's root."""
    page.goto(f"{base_url}/projects/{project_id}/data?task={task_id}")
    editor = page.locator(".lsf-main-view, .lsf-main-content").first
    expect(editor).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    return editor


def controls_after_header(page: Page, header_text: str) -> Locator:
    """The ``<Choices>`` rendered right after the ``<Header>`` showing ``header_text``."""
    header = page.locator("h1, h2, h3, h4, h5, h6").filter(has_text=header_text)
    expect(header).to_have_count(1)
    return header.locator("xpath=following-sibling::div[contains(@class,'lsf-choices')][1]")


def choice(scope: Page | Locator, label: str, *, multiple: bool = False) -> Locator:
    """The radio (or checkbox) whose label starts with ``label`` (hotkey hint may follow)."""
    name = re.compile(rf"^{re.escape(label)}(\[.+\])?$")
    return scope.get_by_role("checkbox" if multiple else "radio", name=name)


def span_label(page: Page, label: str) -> Locator:
    """The span-label chip of ``<Labels>`` showing ``label``."""
    return page.locator(".lsf-labels .lsf-label").filter(
        has=page.locator(".lsf-label__text", has_text=re.compile(rf"^{re.escape(label)}$")))


_TEXT_SEGMENT_JS = """
(el, sub) => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const nodes = [];
  let full = "";
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    nodes.push([n, full.length]);
    full += n.textContent;
  }
  const at = full.indexOf(sub);
  if (at < 0) return null;
  const locate = (offset) => {
    for (const [n, base] of nodes) {
      if (offset <= base + n.textContent.length) return [n, offset - base];
    }
    return null;
  };
  const range = document.createRange();
  range.setStart(...locate(at));
  range.setEnd(...locate(at + sub.length));
  const rects = Array.from(range.getClientRects()).filter(r => r.width > 0);
  if (rects.length !== 1) return null;  // wrapped over two lines: pick a shorter span
  const r = rects[0];
  return {x0: r.left + 1, x1: r.right - 1, y: (r.top + r.bottom) / 2};
}
"""


def select_text(page: Page, element: Locator, substring: str) -> None:
    """Select ``substring`` of ``element``'s text with a mouse drag, like an annotator."""
    element.scroll_into_view_if_needed()
    seg: _Segment | None = element.evaluate(_TEXT_SEGMENT_JS, substring)
    if seg is None:
        raise AssertionError(f"{substring!r} is not on one line of {element.inner_text()!r}")
    page.mouse.move(seg["x0"], seg["y"])
    page.mouse.down()
    page.mouse.move(seg["x1"], seg["y"], steps=8)
    page.mouse.up()


def fit_viewport_to_editor(page: Page, anchor: Locator, *, max_height: int = 2400) -> None:
    """Grow the viewport so the scrolled labelling panel shows everything (for screenshots)."""
    extra: int = anchor.evaluate("""el => {
      let extra = 0;
      for (let p = el.parentElement; p; p = p.parentElement) {
        const style = getComputedStyle(p);
        if (/(auto|scroll)/.test(style.overflowY) && p.scrollHeight > p.clientHeight) {
          extra = Math.max(extra, p.scrollHeight - p.clientHeight);
        }
      }
      return Math.ceil(extra);
    }""")
    size = page.viewport_size or {"width": 1400, "height": 1000}
    if extra > 0:
        page.set_viewport_size({"width": size["width"],
                                "height": min(max_height, size["height"] + extra + 16)})

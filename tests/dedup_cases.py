"""Sentences and articles with repeats, shared by the near-duplicate tests."""

from __future__ import annotations

import json
from pathlib import Path

# ~45 characters of news; the variants change a few characters of it
BASE = "英伟达首席执行官黄仁勋周三在台北表示，公司将在明年第二季度向中国客户交付新款芯片并扩大产能。"
NEAR = "英伟达首席执行官黄仁勋周四在台北表示，公司将在明年第二季度向中国客户交付新款芯片并扩大产能。"
NOT_NEAR = "英伟达首席执行官黄仁勋否认了有关芯片存在后门的报道，并称美国的出口管制伤害了本国企业。"
EN = "Nvidia's chief executive said on Wednesday the company would ship the new chips next year."
EN_NEAR = "NVIDIA’s chief executive said on Wednesday the company would ship the new chip next year."

ARTICLES = {
    "d0": f"{BASE}\n\n今天的天气非常好，适合出门散步。\n\n{EN}",
    "d1": f"别的开头，讲体育比赛的结果。\n\n{NEAR}\n\n{EN_NEAR}",
    "d2": f"{BASE.replace('，', ',')}\n\n这篇文章讲的是农业和农村的变化。",
}
"""Two clusters: BASE (d0), NEAR (d1) and BASE with a half-width comma (d2); EN and
EN_NEAR. The other three sentences are singletons."""


def write_jsonl(path: Path, articles: dict[str, str]) -> Path:
    """Articles as a JSONL file (``id``, ``title``, ``text``)."""
    with path.open("w", encoding="utf-8") as fh:
        for aid, text in articles.items():
            fh.write(json.dumps({"id": aid, "title": f"标题 {aid}", "text": text},
                                ensure_ascii=False) + "\n")
    return path

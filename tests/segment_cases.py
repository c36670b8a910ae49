"""Golden cases for ``corpus.segment``: (id, text, expected, max_len).

``expected`` lists the sentence texts in order; an item written as
``(text, "heading")`` also checks the kind (plain strings mean "sentence").
Written by hand from the conventions in docs/design.md, not from the segmenter's output.
"""

from __future__ import annotations

H = "heading"
Expected = list[str | tuple[str, str]]

CASES: list[tuple[str, str, Expected, int]] = [
    # --- Chinese basics -----------------------------------------------------------
    ("zh-two-sentences", "今天天气很好。我们去公园吧！", ["今天天气很好。", "我们去公园吧！"], 300),
    (
        "zh-halfwidth-question",
        "这到底是怎么一回事呢?其实很简单。",
        ["这到底是怎么一回事呢?", "其实很简单。"],
        300,
    ),
    ("zh-repeated-bang-question", "真的吗？！！太好了！！", ["真的吗？！！", "太好了！！"], 300),
    ("mixed-halfwidth-run", "What?!? 真的!!", ["What?!?", "真的!!"], 300),
    (
        "zh-semicolon-colon-comma-do-not-end",
        "第一，我们要努力；第二：坚持，不放弃。完。",
        ["第一，我们要努力；第二：坚持，不放弃。", "完。"],
        300,
    ),
    (
        "zh-halfwidth-commas-title-line-is-not-heading",
        "中企收到通知,拒绝与英伟达合作,美媒:特朗普败光了美唯一优势",
        ["中企收到通知,拒绝与英伟达合作,美媒:特朗普败光了美唯一优势"],
        300,
    ),
    (
        "zh-fullwidth-stop-as-terminator",
        "这是第一句．这是第二句．",
        ["这是第一句．", "这是第二句．"],
        300,
    ),
    ("zh-halfwidth-ideographic-stop", "第一句｡第二句｡", ["第一句｡", "第二句｡"], 300),
    # --- quotes ------------------------------------------------------------------------
    (
        "zh-quote-closer-follows-terminator",
        "他说：“我们赢了。”大家都笑了。",
        ["他说：“我们赢了。”", "大家都笑了。"],
        300,
    ),
    (
        "zh-quote-inner-terminator-not-at-end",
        "他说：“我们赢了。明天再战”，然后离开了。",
        ["他说：“我们赢了。明天再战”，然后离开了。"],
        300,
    ),
    (
        "zh-quote-two-inner-sentences-one-unit",
        "“你好。我很好。”他说。",
        ["“你好。我很好。”", "他说。"],
        300,
    ),
    (
        "zh-quote-without-terminator",
        "所谓“阉割版”H20芯片。下一句。",
        ["所谓“阉割版”H20芯片。", "下一句。"],
        300,
    ),
    ("zh-quote-then-stop", "他只说了“好的”。然后走了。", ["他只说了“好的”。", "然后走了。"], 300),
    (
        "zh-quote-closer-then-stop",
        "他喊：“快跑！”。大家都跑了。",
        ["他喊：“快跑！”。", "大家都跑了。"],
        300,
    ),
    ("zh-curly-single-closer", "他说‘好。’然后走了。", ["他说‘好。’", "然后走了。"], 300),
    (
        "zh-corner-brackets",
        "她问：「你去哪？」我没回答。",
        ["她问：「你去哪？」", "我没回答。"],
        300,
    ),
    (
        "zh-nested-corner-brackets",
        "他说：「她说『走吧。』就走了。」然后呢？",
        ["他说：「她说『走吧。』就走了。」", "然后呢？"],
        300,
    ),
    (
        "zh-white-corner-brackets",
        "书中写道『天下大势，分久必合。』这是开头。",
        ["书中写道『天下大势，分久必合。』", "这是开头。"],
        300,
    ),
    (
        "zh-unclosed-quote-is-plain-text",
        "他说“好。我们走。大家都走了。",
        ["他说“好。", "我们走。", "大家都走了。"],
        300,
    ),
    (
        "zh-unclosed-quote-does-not-cross-paragraph",
        "他说“好。我们走。\n\n新段落”结束。",
        ["他说“好。", "我们走。", "新段落”结束。"],
        300,
    ),
    (
        "quote-longer-than-cap-is-plain-text",
        "“一二三。四五六七八九十。”",
        ["“一二三。", "四五六七八九十。”"],
        10,
    ),
    (
        "en-double-quotes",
        'She said, "Go home." Then she left.',
        ['She said, "Go home."', "Then she left."],
        300,
    ),
    (
        "en-straight-quote-pair-holds-inner-stop",
        'He said "Stop. Now" and left. Bye.',
        ['He said "Stop. Now" and left.', "Bye."],
        300,
    ),
    (
        "en-straight-quote-closer-follows-stop",
        'He said "Stop. Now." and left.',
        ['He said "Stop. Now."', "and left."],
        300,
    ),
    ("en-single-quote-closer", "He said 'go.' Then left.", ["He said 'go.'", "Then left."], 300),
    (
        "en-apostrophes",
        "It's Tom's book. Don't touch it.",
        ["It's Tom's book.", "Don't touch it."],
        300,
    ),
    (
        "zh-halfwidth-straight-quotes",
        '他说:"芯片不存在后门。"然后离开了。',
        ['他说:"芯片不存在后门。"', "然后离开了。"],
        300,
    ),
    (
        "zh-straight-single-quote-opening-after-stop",
        "他说完了。'你好'是问候语。",
        ["他说完了。", "'你好'是问候语。"],
        300,
    ),
    # --- brackets -----------------------------------------------------------------------
    (
        "zh-fullwidth-paren-closer-follows",
        "（注：数据来自官方。）以下是正文。",
        ["（注：数据来自官方。）", "以下是正文。"],
        300,
    ),
    (
        "zh-fullwidth-paren-inner-not-at-end",
        "他（据说已经离职。不过没确认）昨天来了。",
        ["他（据说已经离职。不过没确认）昨天来了。"],
        300,
    ),
    (
        "en-paren-inner-not-at-end",
        "Prices rose (see Table 2. Note the dip) last year. Then fell.",
        ["Prices rose (see Table 2. Note the dip) last year.", "Then fell."],
        300,
    ),
    (
        "en-paren-closer-follows",
        "He left (finally.) Then we ate.",
        ["He left (finally.)", "Then we ate."],
        300,
    ),
    (
        "zh-lenticular-no-terminator",
        "【快讯】股市今天大涨。【完】",
        ["【快讯】股市今天大涨。", "【完】"],
        300,
    ),
    ("zh-lenticular-closer-follows", "【注意！】今天停电。", ["【注意！】", "今天停电。"], 300),
    ("zh-unclosed-paren", "（未闭合。后面的句子。", ["（未闭合。", "后面的句子。"], 300),
    ("zh-stray-closer", "好的）。下一句。", ["好的）。", "下一句。"], 300),
    # --- titles -------------------------------------------------------------------------
    (
        "zh-title-with-bang-inside",
        "我最喜欢《你好！李焕英》这部电影。",
        ["我最喜欢《你好！李焕英》这部电影。"],
        300,
    ),
    (
        "zh-title-bang-right-before-closer",
        "他写了《再见！》。然后搬走了。",
        ["他写了《再见！》。", "然后搬走了。"],
        300,
    ),
    ("zh-title-stop-inside", "读《论语。学而》吧。", ["读《论语。学而》吧。"], 300),
    ("zh-angle-title", "见〈序言。〉一文。下一句。", ["见〈序言。〉一文。", "下一句。"], 300),
    (
        "zh-title-then-stop",
        "我读了《三体》。他读了《活着》。",
        ["我读了《三体》。", "他读了《活着》。"],
        300,
    ),
    # --- numbers, dates, times ---------------------------------------------------------
    (
        "zh-decimal",
        "去年我国GDP是18.77万亿美元。美国是29万亿。",
        ["去年我国GDP是18.77万亿美元。", "美国是29万亿。"],
        300,
    ),
    (
        "en-decimal",
        "The rate was 3.5 percent. It fell.",
        ["The rate was 3.5 percent.", "It fell."],
        300,
    ),
    (
        "en-thousands-and-decimals",
        "It cost $1,299.00 in total. Cheap.",
        ["It cost $1,299.00 in total.", "Cheap."],
        300,
    ),
    ("zh-fullwidth-decimal", "价格为３．５元。次日上涨。", ["价格为３．５元。", "次日上涨。"], 300),
    (
        "zh-dotted-date",
        "会议于2025.09.23召开。议程如下。",
        ["会议于2025.09.23召开。", "议程如下。"],
        300,
    ),
    (
        "en-dotted-date-at-end",
        "It opened on 2025.09.23. We went.",
        ["It opened on 2025.09.23.", "We went."],
        300,
    ),
    ("zh-dashed-date", "更新于2025-09-23。完。", ["更新于2025-09-23。", "完。"], 300),
    ("en-time", "Meet at 10:30. Don't be late.", ["Meet at 10:30.", "Don't be late."], 300),
    (
        "en-pm-mid-sentence",
        "The show starts at 8 p.m. and ends late. Bring snacks.",
        ["The show starts at 8 p.m. and ends late.", "Bring snacks."],
        300,
    ),
    (
        "zh-price-and-version",
        "苹果发布了iPhone 17。售价为$799.99起。",
        ["苹果发布了iPhone 17。", "售价为$799.99起。"],
        300,
    ),
    # --- URLs, e-mail, versions -----------------------------------------------------
    (
        "en-url-with-trailing-stop",
        "See https://example.com/a.b?x=1. Next one.",
        ["See https://example.com/a.b?x=1.", "Next one."],
        300,
    ),
    (
        "zh-url",
        "详情见https://example.com/news/2025.html。谢谢。",
        ["详情见https://example.com/news/2025.html。", "谢谢。"],
        300,
    ),
    (
        "en-url-hashbang",
        "Go to http://x.org/#!/home now. Thanks.",
        ["Go to http://x.org/#!/home now.", "Thanks."],
        300,
    ),
    (
        "en-email",
        "Write to john.doe@example.com. We reply fast.",
        ["Write to john.doe@example.com.", "We reply fast."],
        300,
    ),
    (
        "zh-email",
        "联系邮箱：li.ming@corp.cn。欢迎来信。",
        ["联系邮箱：li.ming@corp.cn。", "欢迎来信。"],
        300,
    ),
    (
        "en-version",
        "Upgrade to v2.0.1 today. It fixes bugs.",
        ["Upgrade to v2.0.1 today.", "It fixes bugs."],
        300,
    ),
    ("zh-version", "新版本v2.0.1已发布。请更新。", ["新版本v2.0.1已发布。", "请更新。"], 300),
    # --- abbreviations -------------------------------------------------------------
    (
        "en-us",
        "The U.S. economy grew. Europe did not.",
        ["The U.S. economy grew.", "Europe did not."],
        300,
    ),
    ("en-dr", "Dr. Smith arrived. He was late.", ["Dr. Smith arrived.", "He was late."], 300),
    ("en-eg", "Use fruit, e.g. apples. Or pears.", ["Use fruit, e.g. apples.", "Or pears."], 300),
    (
        "en-mr-inc",
        "Mr. Li works at Acme Inc. in Boston. He likes it.",
        ["Mr. Li works at Acme Inc. in Boston.", "He likes it."],
        300,
    ),
    (
        "en-etc-mid-sentence",
        "Apples, pears, etc. are fruit. Yes.",
        ["Apples, pears, etc. are fruit.", "Yes."],
        300,
    ),
    (
        "en-abbreviation-never-splits-mid-paragraph",
        "We met at 5 p.m. Tom was late.",
        ["We met at 5 p.m. Tom was late."],
        300,
    ),
    (
        "en-abbreviation-at-paragraph-end-ends-it",
        "He moved to the U.S.\n\nThen he left.",
        ["He moved to the U.S.", "Then he left."],
        300,
    ),
    (
        "en-initials",
        "J. K. Rowling wrote it. Fans loved it.",
        ["J. K. Rowling wrote it.", "Fans loved it."],
        300,
    ),
    ("en-no-number", "No. 5 is here. Done.", ["No. 5 is here.", "Done."], 300),
    (
        "en-title-abbreviation-at-line-end-is-hard-wrap",
        "We spoke with Dr.\nSmith about it. He agreed.",
        ["We spoke with Dr.\nSmith about it.", "He agreed."],
        300,
    ),
    # --- lists ------------------------------------------------------------------------
    ("en-numbered-list", "1. Buy milk\n2. Buy eggs", ["1. Buy milk", "2. Buy eggs"], 300),
    ("zh-numbered-list-paren", "2）优化性能\n3）修复错误", ["2）优化性能", "3）修复错误"], 300),
    (
        "en-numbered-list-parens",
        "(3) Check the logs\n(4) Restart",
        ["(3) Check the logs", "(4) Restart"],
        300,
    ),
    (
        "zh-list-items-with-sentences",
        "1. 第一步。然后等待。\n2. 第二步。",
        ["1. 第一步。", "然后等待。", "2. 第二步。"],
        300,
    ),
    (
        "zh-chinese-list-marker",
        "一、背景\n本项目始于2020年。",
        ["一、背景", "本项目始于2020年。"],
        300,
    ),
    (
        "en-number-not-at-line-start",
        "He scored 9. Then he rested.",
        ["He scored 9.", "Then he rested."],
        300,
    ),
    # --- lines, headings, hard wraps ---------------------------------------------------
    (
        "zh-heading-line",
        "拒绝与英伟达合作\n为了在科技上卡住我国的脖子,特朗普搞出了禁令。",
        [("拒绝与英伟达合作", H), "为了在科技上卡住我国的脖子,特朗普搞出了禁令。"],
        300,
    ),
    (
        "zh-heading-with-quotes",
        "“美芯”离不开中国市场\n\n特朗普是真的想错了。",
        [("“美芯”离不开中国市场", H), "特朗普是真的想错了。"],
        300,
    ),
    (
        "en-heading",
        "Introduction\nThe study began in 2020.",
        [("Introduction", H), "The study began in 2020."],
        300,
    ),
    (
        "zh-line-with-comma-is-hard-wrap",
        "中企收到通知,拒绝合作\n美媒称此事属实。",
        ["中企收到通知,拒绝合作\n美媒称此事属实。"],
        300,
    ),
    (
        "en-hard-wrap",
        "This is a long line of wrapped text that goes on and\non until it finally ends. Then another.",
        [
            "This is a long line of wrapped text that goes on and\non until it finally ends.",
            "Then another.",
        ],
        300,
    ),
    (
        "en-hard-wrap-short-last-line-is-not-heading",
        "This is a long line of wrapped text that goes on and\nstops here",
        ["This is a long line of wrapped text that goes on and\nstops here"],
        300,
    ),
    (
        "zh-newline-after-terminator-ends-paragraph",
        "第一段。\n第二段。",
        ["第一段。", "第二段。"],
        300,
    ),
    (
        "zh-seed-wan-yi",
        "用这种芯片等于在刀尖上跳舞。万一\n\n万一数据被偷或者被远程锁死,这个责任谁来负?",
        ["用这种芯片等于在刀尖上跳舞。", "万一", "万一数据被偷或者被远程锁死,这个责任谁来负?"],
        300,
    ),
    (
        "zh-short-line-alone-is-heading",
        "万一\n\n万一数据被偷了。",
        [("万一", H), "万一数据被偷了。"],
        300,
    ),
    (
        "en-long-line-without-terminator-then-blank",
        "A line without any terminator that is longer than thirty characters\n\nNext.",
        ["A line without any terminator that is longer than thirty characters", "Next."],
        300,
    ),
    ("crlf-lines", "第一句。\r\n第二句。", ["第一句。", "第二句。"], 300),
    (
        "ideographic-space-indent",
        "\u3000\u3000第一段。\n\u3000\u3000第二段。",
        ["第一段。", "第二段。"],
        300,
    ),
    # --- ellipsis -----------------------------------------------------------------------
    ("zh-ellipsis-at-paragraph-end", "他沉默了……", ["他沉默了……"], 300),
    ("zh-ellipsis-mid-paragraph", "他沉默了……然后说话了。", ["他沉默了……然后说话了。"], 300),
    ("zh-ellipsis-at-line-end", "他沉默了……\n然后说话了。", ["他沉默了……", "然后说话了。"], 300),
    ("zh-single-ellipsis-mid", "嗯…好吧。", ["嗯…好吧。"], 300),
    ("zh-ellipsis-then-bang", "天哪……！走吧。", ["天哪……！", "走吧。"], 300),
    (
        "en-three-dots-mid-paragraph",
        "Wait... what happened? Nothing.",
        ["Wait... what happened?", "Nothing."],
        300,
    ),
    ("en-three-dots-at-paragraph-end", "And then...\n\nNothing.", ["And then...", "Nothing."], 300),
    ("zh-ellipsis-in-quote", "“我……”他说不下去了。", ["“我……”他说不下去了。"], 300),
    # --- length cap ---------------------------------------------------------------------
    ("cap-semicolon", "一二三四五；六七八九十一二三。", ["一二三四五；", "六七八九十一二三。"], 10),
    ("cap-comma", "一二三四五六，七八九十一二三。", ["一二三四五六，", "七八九十一二三。"], 10),
    (
        "cap-prefers-semicolon-over-later-comma",
        "一二三四五六七；八九，十一二三四。",
        ["一二三四五六七；", "八九，十一二三四。"],
        12,
    ),
    ("cap-space", "alpha beta gamma delta epsilon.", ["alpha beta gamma", "delta epsilon."], 20),
    ("cap-hard", "x" * 35, ["x" * 10, "x" * 10, "x" * 10, "x" * 5], 10),
    (
        "cap-hard-not-inside-number",
        "一二三四五六七八12345" + "九" * 20,
        ["一二三四五六七八", "12345九九九九九", "九" * 10, "九" * 5],
        10,
    ),
    (
        "cap-skips-thousands-commas",
        "Total 12,345,678,901 units.",
        ["Total 12,345,678,901", "units."],
        20,
    ),
    (
        "cap-applies-to-headings",
        "一二三四五六七八九十一二",
        [("一二三四五六七八九十", H), ("一二", H)],
        10,
    ),
    (
        "cap-does-not-cut-url",
        "See https://x.org/q?a=1,2,3&b=4 and more words here",
        ["See", "https://x.org/q?a=1,2,3&b=4", "and more words here"],
        30,
    ),
    (
        "cap-glued-commas-are-no-break-so-hard-cut",
        "apples,pears,plums,figs, and more fruit here",
        ["apples,pears,plums,f", "igs, and more fruit", "here"],
        20,
    ),
    (
        "cap-hard-cut-keeps-combining-mark-with-its-base",
        "一二三四五\u0301" + "六" * 27,
        ["一二三四", "五\u0301六六六", "六" * 5, "六" * 5, "六" * 5, "六" * 5, "六" * 4],
        5,
    ),
    # --- mixed, seed excerpts, odd input -------------------------------------------------
    (
        "mixed-zh-en",
        "我们用Python写代码。It works well. 你觉得呢？",
        ["我们用Python写代码。", "It works well.", "你觉得呢？"],
        300,
    ),
    ("en-question-exclamation", "Really? Yes! Okay.", ["Really?", "Yes!", "Okay."], 300),
    (
        "seed-two-sentences-halfwidth-question",
        "在国家安全和数据安全高于一切的今天,这种空口白牙的保证谁敢信?咱们自然也不能冤枉英伟达,"
        "检测和评估之后,得出英伟达芯片“不安全、不环保、不先进”的结论。",
        [
            "在国家安全和数据安全高于一切的今天,这种空口白牙的保证谁敢信?",
            "咱们自然也不能冤枉英伟达,检测和评估之后,得出英伟达芯片“不安全、不环保、不先进”的结论。",
        ],
        300,
    ),
    (
        "seed-ppp-parens-and-decimals",
        "但如果换成更能反映真实购买力的购买力平价(PPP)GDP指标来看,去年我国是39.44万亿美元,"
        "而美国只有30.34万亿。",
        [
            "但如果换成更能反映真实购买力的购买力平价(PPP)GDP指标来看,去年我国是39.44万亿美元,而美国只有30.34万亿。"
        ],
        300,
    ),
    (
        "seed-three-sentences",
        "2023年咱们拿下了4.84万亿美元的制造业增加值,占全球比重35%,超过了美日德的总和。"
        "新能源与电动车的产量我国超过了全球一半。特斯拉在美国卖得火是没错,但其核心的大量生产环节都是我们供给的。",
        [
            "2023年咱们拿下了4.84万亿美元的制造业增加值,占全球比重35%,超过了美日德的总和。",
            "新能源与电动车的产量我国超过了全球一半。",
            "特斯拉在美国卖得火是没错,但其核心的大量生产环节都是我们供给的。",
        ],
        300,
    ),
    (
        "seed-references",
        "参考资料:\n\n芯片后门,看不见的“电子间谍”\n\n光明网2025年09月10日",
        ["参考资料:", "芯片后门,看不见的“电子间谍”", ("光明网2025年09月10日", H)],
        300,
    ),
    (
        "seed-question-then-answer",
        "可美国呢?联邦和州政府之间为了口罩、呼吸机吵作一团,应对得一地鸡毛。",
        ["可美国呢?", "联邦和州政府之间为了口罩、呼吸机吵作一团,应对得一地鸡毛。"],
        300,
    ),
    ("empty", "", [], 300),
    ("only-whitespace", " \n\n\t\u3000 \r\n", [], 300),
    ("only-punctuation", "。。！", ["。。！"], 300),
    ("only-closers-and-openers", "”）“（", [("”）“（", H)], 300),
    ("emoji", "太棒了😀！下次见👋。", ["太棒了😀！", "下次见👋。"], 300),
    ("rtl-arabic", "مرحبا. كيف حالك؟", ["مرحبا.", "كيف حالك؟"], 300),
    ("nul-char", "第一句\x00。第二句。", ["第一句\x00。", "第二句。"], 300),
]

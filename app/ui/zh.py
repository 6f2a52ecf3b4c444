"""Chinese for the app's own words, keyed by the English text (see ``app.ui.i18n``).

Terms follow what Chinese hospitals, banks and law firms say: 知识库 (knowledge base), 段落
(passage), 引用 (citation), 适配器 (adapter), 审计日志 (audit log). Placeholders in braces must
match the English key's; a test holds every ``tr("...")`` in ``app/ui`` to an entry here.
"""

from __future__ import annotations

ZH: dict[str, str] = {
    # pages (file names in app/ui/views)
    "Chat": "对话",
    "Documents": "文档",
    "Evaluation": "评测",
    "Adapters": "适配器",
    "Audit": "审计",
    # entry script, sign-in, sidebar
    "Domain pack": "领域包",
    "Every page works on this pack's knowledge base.": "每个页面都使用该领域包的知识库。",
    "{name} holds no role on any pack yet; ask an administrator "
    "(`verirag users grant {name} PACK viewer`).":
        "{name} 尚未获得任何领域包的角色；"
        "请联系管理员（`verirag users grant {name} PACK viewer`）。",
    "Something went wrong ({kind}: {error}); the details are in the server log.":
        "出现错误（{kind}: {error}）；详情见服务器日志。",
    "Sign in": "登录",
    "Grounded, cited answers from your institution's documents.":
        "基于本机构文档、注明出处的回答。",
    "No users yet. Create the first administrator on the server with "
    "`verirag users add NAME --admin`.":
        "尚无用户。请在服务器上用 `verirag users add NAME --admin` 创建第一个管理员。",
    "User name": "用户名",
    "Password": "密码",
    "no role": "无角色",
    "Signed in as **{name}** · {role}": "已登录：**{name}** · {role}",
    "Sign out": "退出登录",
    "Signed out.": "已退出登录。",
    "Your session expired; please sign in again.": "会话已过期，请重新登录。",
    "Your account is no longer active.": "您的账户已停用。",
    "Your password was changed; please sign in again.": "您的密码已更改，请重新登录。",
    # shared: first-run indexing, background jobs
    "Preparing knowledge bases…": "正在准备知识库…",
    "Knowledge bases ready": "知识库已就绪",
    "{label} failed: {error}": "{label}失败：{error}",
    "starting": "正在开始",
    # chat
    "{title} assistant": "{title}助手",
    "New conversation": "新对话",
    "Resume a past conversation": "继续以往的对话",
    "{n} stored": "已保存 {n} 个",
    "none yet": "暂无",
    "session {id}": "会话 {id}",
    "That conversation is not yours.": "该对话不属于您。",
    "Answers come only from this pack's documents; every sentence cites its source [n]. "
    "Ask in English or 中文.":
        "回答只来自该领域包的文档，每句话都以 [n] 注明出处。可用中文或英文提问。",
    "Ask about your documents (English or 中文)": "就文档提问（中文或 English）",
    "Searching the documents…": "正在检索文档…",
    "Loading the model and searching the documents…": "正在加载模型并检索文档…",
    "document **{name}**": "文档 **{name}**",
    "retrieval score {score}": "检索得分 {score}",
    "How this answer was made": "回答是如何得出的",
    "Checked: “{sentence}” — supported by: “{evidence}”":
        "已核对：“{sentence}”——依据原文：“{evidence}”",
    "{n} sentence(s) of the draft removed by the check, because no passage supports them "
    "(reason: sentence):": "核对时从草稿中删除了 {n} 句，因为没有段落支持（原因：句子）：",
    "The model's unchecked draft — not part of the answer:": "模型未经核对的草稿（不属于回答）：",
    "searched for: {query}": "检索语句：{query}",
    "why: {reason}": "原因：{reason}",
    "slots this turn: {slots}": "本轮槽位：{slots}",
    "decision: {decision} · mode: {mode}": "决定：{decision} · 方式：{mode}",
    "Comment (optional)": "评论（可选）",
    "What was wrong or missing? (optional, saved with the turn)":
        "哪里有误或遗漏？（可选，随本轮保存）",
    "Feedback saved with this answer — thank you.": "反馈已随该回答保存，谢谢。",
    "What verirag understood": "verirag 的理解",
    "slot": "槽位",
    "value": "值",
    "set by": "来源",
    "turn {n} · {how}": "第 {n} 轮 · {how}",
    "pack rule": "领域包规则",
    "model, from your words": "模型（取自您的原话）",
    "you": "您",
    "Nothing yet: details you mention (a drug, a company, a contract) appear here, with the "
    "turn that set them.":
        "暂无：您提到的信息（药物、公司、合同）会显示在这里，并注明由哪一轮设定。",
    "Last search query": "最近的检索语句",
    # documents
    "{title} documents": "{title}文档",
    "Passages": "段落",
    "Vectors": "向量",
    "Revision": "版本号",
    "Upload": "上传",
    "Files to index": "要索引的文件",
    "PDF, DOCX, HTML, Markdown, TXT, CSV, XLSX; Chinese and English. Identical content is "
    "indexed once; a file with the same name replaces the older version.":
        "支持 PDF、DOCX、HTML、Markdown、TXT、CSV、XLSX，中英文均可。内容相同的文件只索引一次；"
        "同名文件会替换旧版本。",
    "Tags (optional, comma-separated)": "标签（可选，用逗号分隔）",
    "e.g. policy, 2024": "例如：制度, 2024",
    "Access labels (optional, comma-separated)": "访问标记（可选，用逗号分隔）",
    "e.g. restricted": "例如：restricted",
    "Only users cleared for every label of a document can retrieve or see it.":
        "只有获准访问文档全部标记的用户才能检索或看到它。",
    "Index {n} file(s) into {title}": "将 {n} 个文件索引到{title}",
    "Show it in the document": "在文档中查看",
    "You were signed out (in another tab, or by an administrator); please sign in again.":
        "您已被登出（在其他标签页中，或由管理员操作），请重新登录。",
    "Done. Open the report in the Reports tab.": "完成。请在“报告”标签页中查看报告。",
    "Answered correctly": "回答正确",
    "Answered wrongly": "回答错误",
    "{share} of the questions asked": "占所提问题的 {share}",
    "Rightly said the documents do not say": "正确地指出文档中没有相关内容",
    "Said the documents do not say, though they do": "称文档中没有，但其实有",
    "This run measured search only: no answers were asked for, so it cannot say whether "
    "answers are right. Run it without “Retrieval only”.":
        "本次运行只评估检索，未生成回答，因此无法判断回答是否正确。请取消“仅检索”后重新运行。",
    "Answer given": "给出的回答",
    "Expected": "预期答案",
    "(not answerable from the documents)": "（无法从文档中回答）",
    "cited: {docs}": "引用：{docs}",
    "{questions} questions, answered from {documents} documents":
        "{questions} 个问题，依据 {documents} 份文档回答",
    "Search and answer metrics (recall, MRR, nDCG, F1…)":
        "检索与回答指标（召回率、MRR、nDCG、F1…）",
    "{chunks} passages · embedder `{embedder}`": "{chunks} 个段落 · 嵌入模型 `{embedder}`",
    "loading the dataset and the models": "正在加载数据集和模型",
    "what happened": "发生了什么",
    "Select a row to read it whole: for an answer, the question, the answer and the passages "
    "it cited.": "选择一行查看完整记录：如为回答，显示问题、回答及其引用的段落。",
    "Question": "问题",
    "Answer": "回答",
    "Cited passages": "引用的段落",
    "(no longer in the knowledge base)": "（已不在知识库中）",
    "model {model} · adapter {adapter}": "模型 {model} · 适配器 {adapter}",
    "none": "无",
    "The record as stored": "存储的原始记录",
    "Search your conversations": "搜索您的对话",
    "a word from a title or a question": "标题或问题中的词",
    "{n} found": "找到 {n} 个",
    "none found": "未找到",
    "This conversation": "当前对话",
    "Title": "标题",
    "Rename": "重命名",
    "Renamed.": "已重命名。",
    "Delete this conversation…": "删除此对话…",
    "Delete it and its answers from your list? The audit log keeps what was asked and "
    "answered.": "从您的列表中删除此对话及其回答？审计日志仍保留提问和回答的记录。",
    "Stopped before the answer to “{question}” was finished; nothing of it was recorded.":
        "对“{question}”的回答在完成前已停止；未记录任何内容。",
    "Stop": "停止",
    "Copy": "复制",
    "Ask again": "重新提问",
    "{name}, page {page} of {pages} — the cited passage highlighted":
        "{name}，第 {page} 页（共 {pages} 页），引用的段落已高亮",
    "Cited:": "引用：",
    "Download the original file": "下载原始文件",
    "These files were chosen while {old} was selected. They will be indexed into {new}; remove "
    "them, or switch back, if that is not what you want.":
        "这些文件是在选择{old}时选取的，将被索引到{new}；如果这不是您想要的，请移除它们或切换回去。",
    "reading": "正在读取",
    "Indexing {n} file(s)": "正在索引 {n} 个文件",
    "indexed": "已索引",
    "indexed (new version replaces the old)": "已索引（新版本替换旧版本）",
    "duplicate (not indexed again)": "重复（不再索引）",
    "rejected": "已拒绝",
    "file": "文件",
    "result": "结果",
    "passages": "段落数",
    "reason": "原因",
    "In the knowledge base": "知识库中的文档",
    "{n} more document(s) carry access labels you are not cleared for.":
        "另有 {n} 个文档带有您无权访问的标记。",
    "No documents yet: upload some above (or run `verirag setup` for the samples).":
        "尚无文档：请在上方上传（或运行 `verirag setup` 载入示例）。",
    "name": "名称",
    "status": "状态",
    "size (KB)": "大小（KB）",
    "tags": "标签",
    "labels": "访问标记",
    "uploaded": "上传时间",
    "error": "错误",
    "Deleted {name}: its passages and vectors are gone.": "已删除 {name}：其段落和向量已移除。",
    "Delete a document": "删除文档",
    "choose a document": "选择文档",
    "Delete…": "删除…",
    "Delete **{name}**, its {n} passages and their vectors? Answers will no longer cite it.":
        "删除 **{name}** 及其 {n} 个段落和向量？之后的回答将不再引用它。",
    "Yes, delete": "确认删除",
    "Cancel": "取消",
    "Re-index": "重建索引",
    "Re-embed every passage from the database into fresh indexes (after changing the "
    "embedder, or if search looks wrong).":
        "从数据库重新向量化全部段落并建立新索引（更换嵌入模型后，或检索结果异常时使用）。",
    "Re-index knowledge base": "重建知识库索引",
    "embedding passages": "正在向量化段落",
    "Re-indexing {title}": "正在重建{title}索引",
    "Re-indexed: {n} passages.": "已重建索引：{n} 个段落。",
    "Search the knowledge base": "检索知识库",
    "Query": "检索内容",
    "words or a question, English or 中文": "关键词或问题，中文或 English",
    "Top": "前 N 条",
    "No passage matches.": "没有匹配的段落。",
    "score {score}": "得分 {score}",
    "fused score {score} · cosine {cosine} · query terms covered {covered}":
        "融合得分 {score} · 余弦相似度 {cosine} · 检索词覆盖率 {covered}",
    # evaluation
    "Run an evaluation": "运行评测",
    "Reports": "报告",
    "Scores the **{title}** pack's settings (change the pack in the sidebar): retrieval recall, "
    "answer quality, citations, refusals and speed.":
        "评测**{title}**领域包的设置（可在侧栏切换领域包）："
        "检索召回、回答质量、引用、拒答和速度。",
    "Dataset": "数据集",
    "Bundled": "内置",
    "**{label}**, answered from the pack's sample documents.":
        "**{label}**，以该领域包的示例文档作答。",
    "The {title} pack has no eval/questions.jsonl; upload a dataset.":
        "{title}领域包没有 eval/questions.jsonl，请上传数据集。",
    "`questions.jsonl` with `corpus.jsonl` (the evaluation format), or pack-style questions "
    "alone, answered from the pack's documents.":
        "`questions.jsonl` 加 `corpus.jsonl`（评测格式），"
        "或只上传领域包格式的问题，以该领域包的文档作答。",
    "corpus.jsonl (optional)": "corpus.jsonl（可选）",
    "Headline recall@k": "主要指标 recall@k",
    "Sample of N questions (0 = all)": "抽样 N 个问题（0 = 全部）",
    "Retrieval only (fast: no answers)": "只评测检索（较快：不生成回答）",
    "Configurations side by side (empty = the pack as configured)":
        "并列比较的配置（留空 = 领域包当前配置）",
    "The same questions under each setting, one column each.": "同一批问题在每种设置下各占一列。",
    "Run evaluation": "开始评测",
    "Evaluating {title}": "正在评测{title}",
    "No reports yet: run an evaluation here or with `verirag eval`.":
        "尚无报告：请在此处或用 `verirag eval` 运行评测。",
    "Report": "报告",
    "Download summary.md": "下载 summary.md",
    # adapters
    "{title} adapters": "{title}适配器",
    "pack.toml pins the adapter '{name}': it is served whatever is activated here.":
        "pack.toml 固定使用适配器“{name}”：无论此处启用哪个，都使用它。",
    "This pack answers extractively (quoted sentences), so no adapter is used for its answers; "
    "adapters still serve evaluations that compare generation.":
        "该领域包以摘录方式作答（引用原句），回答不使用适配器；比较生成方式的评测仍会用到适配器。",
    "No adapters yet: the pack serves the base model. Train one below.":
        "尚无适配器：当前使用基础模型。可在下方训练。",
    "adapter": "适配器",
    "served": "使用中",
    "yes": "是",
    "created": "创建时间",
    "eval loss before": "训练前验证损失",
    "eval loss after": "训练后验证损失",
    "base": "基础模型",
    "Adapter": "适配器",
    "{op}: done": "{op}：完成",
    "Serve this adapter": "使用该适配器",
    "Roll back": "回滚",
    "Serve the previously served adapter.": "改用上一个使用的适配器。",
    "Serve the base model": "使用基础模型",
    "Delete": "删除",
    "Not the one being served.": "不能删除正在使用的适配器。",
    "Train on the pack's bundled data": "用领域包内置数据训练",
    "This pack has no {file}; use `verirag finetune {pack} --data FILE` or "
    "`verirag finetune make-data {pack}`.":
        "该领域包没有 {file}；请使用 `verirag finetune {pack} --data FILE` 或 "
        "`verirag finetune make-data {pack}`。",
    "Epochs": "训练轮数",
    "Stop after N updates (0: all)": "N 次更新后停止（0：全部）",
    "Serve it when done": "训练完成后启用",
    "Start training": "开始训练",
    "Learn from users' ratings": "从用户评分中学习",
    "{up} answers rated up and {down} rated down so far. Training on them makes a new adapter "
    "(answers rated up as examples, answers rated down as preference pairs against the "
    "refusal), compares it with what is served on the pack's evaluation questions, and serves "
    "it only if it does no worse.":
        "目前已有 {up} 个回答被点赞、{down} 个被点踩。用它们训练会生成一个新适配器（点赞的回答作为"
        "示例，点踩的回答与拒答组成偏好对），在本领域包的评测问题上与当前使用的版本比较，只有不更差"
        "时才会启用。",
    "Train on the ratings": "用评分训练",
    "Training a {title} adapter on users' ratings": "正在用用户评分训练{title}适配器",
    "Saved adapter {name} — it did no worse, so it is now served.":
        "已保存适配器 {name}：表现不差于当前版本，现已启用。",
    "Saved adapter {name} — not served, for the reason below.":
        "已保存适配器 {name}：未启用，原因如下。",
    "Training a {title} adapter": "正在训练{title}适配器",
    "training loss per update ({n} so far)": "每次更新的训练损失（已有 {n} 次）",
    "Saved adapter {name} — now served.": "已保存适配器 {name}，并已启用。",
    "Saved adapter {name}; serve it above when you are satisfied.":
        "已保存适配器 {name}；确认满意后可在上方启用。",
    # audit
    "Audit log": "审计日志",
    "Every answer (question, retrieved passages, answer, model, adapter), upload, delete, "
    "relabel, re-index, role change and sign-in. Nothing here can be edited.":
        "记录每次回答（问题、检索到的段落、回答、模型、适配器）、上传、删除、修改标记、重建索引、"
        "角色变更和登录。此处内容不可编辑。",
    "This pack only": "仅限本领域包",
    "User": "用户",
    "Action": "操作",
    "(any)": "（全部）",
    "Since": "起始日期",
    "Contains": "包含",
    "words from a question, a document name, a chunk id…": "问题中的词、文档名、段落 ID…",
    "{n} record(s)": "{n} 条记录",
    "; the newest {n} shown": "；显示最新的 {n} 条",
    "time (UTC)": "时间（UTC）",
    "user": "用户",
    "action": "操作",
    "pack": "领域包",
    "Download {n} as {format}": "下载 {n} 条（{format}）",
}

"""Chinese phrasebook: the twin of ``en`` (read that docstring), for questions written in Chinese.

The same names mean the same roles where both languages have them; Chinese marks a follow-up
with a final 呢 and refers back with 该/此/其, where English has openers and pronouns, so a few
names exist in one language only.
"""

from __future__ import annotations

# --- follow-ups (``rewrite``) ----------------------------------------------------------------

# 那(么) opens a follow-up, but not 那个/那些/那样 (a demonstrative: "那个药").
FOLLOW_UP_OPENER = r"^\W*(?:还有|那么|另外|再问一?下|同样|如果是|换成|那(?![个些样种份]))\W*"
# A final 呢 asks "and what about ...?".
FOLLOW_UP_TAIL = r"呢(?=\W*$)"
# References back, unless the question is long; not the words that merely contain the
# characters (尤其, 其他, 应该, 因此, 此外...).
STRONG_REFERENCE = (r"它|(?<![尤极])其(?![他它中余实次])|(?<!应)该|这个|那个|这些|那些|上述"
                    r"|(?<![因如彼])此(?![外时后前次])")
# "该药", "这个合同": ``{nouns}`` becomes the pack's entity nouns; 它的 is "its".
NOUN_REFERENCE = r"(?:该|此|这个|那个|这种|那种)(?:{nouns})|它的"
REPLACEABLE = r"{noun_reference}|它|(?<![尤极])其(?![他它中余实次])"
REPLACEABLE_NOUN = r"{noun_reference}"
FILLER_WORDS = frozenset({
    "还有", "那么", "另外", "同样", "情况", "的话", "如果", "如果是", "换成", "不是", "不对",
    "错了", "我是说", "其实", "应该", "那个",
})

# --- slot values (``slots``) ------------------------------------------------------------------

# Not 应该是 alone: "剂量应该是多少？" is an ordinary question.
CORRECTION = r"^\W*(?:不是|不对|错了|更正|纠正|应该是|其实是)|我是说|我的意思是|更正为"
NEGATION = r"不是|并非|而非|而不是"
# "不考虑年龄", "年龄先不管": ``pre`` and ``ref`` around the verb name what to forget.
CLEAR_COMMAND = (
    r"(?P<pre>[^，。；！？,.;!?]*)"
    # Not 取消/删除/撤销: in contracts and data law they are the topic ("取消合同的条件").
    r"(?:不考虑|不用考虑|不必考虑|不再考虑|先不管|别管|不用管|忽略|清除|去掉|不再服用|停用了|停了)"
    r"(?P<ref>[^，。；！？,.;!?]*)")
EVERYTHING = r"全部|所有|一切"
EXAMPLES = r"[，,]?\s*(?:例如|比如|如)"

# --- small talk (``smalltalk``) ---------------------------------------------------------------

SMALL_TALK: dict[str, str] = {
    "thanks": r"谢谢(?:你|您)?|多谢|感谢(?:你|您)?|非常感谢|谢了",
    "greeting": r"你好|您好|嗨|早上好|下午好|晚上好",
    "goodbye": r"再见|拜拜",
    "ack": r"好的|好|明白了|知道了|收到|懂了",
}
SMALL_TALK_REPLIES: dict[str, str] = {
    "thanks": "不客气。如还有关于文档的问题，请继续提问。",
    "greeting": "您好！请提出关于文档的问题，每个回答都会注明出处。",
    "goodbye": "再见。",
    "ack": "如还有关于文档的问题，请继续提问。",
}

# --- clarifying questions (``intents``) -------------------------------------------------------

CLARIFY = "{why}我还需要知道：{needs}。能告诉我吗？"
CLARIFY_WHY = "要回答{reasons}的问题，"
CLARIFY_WHY_UNKNOWN = "要回答这个问题，"
CLARIFY_REASONS_JOIN = "、"
CLARIFY_NEEDS_JOIN = "；"
# Chinese names a detail without an article.
ARTICLE = ""
DEFINITE_ARTICLE = ""

# --- scope and conditions (``scope``, ``conditions``) ----------------------------------------

SCOPE_HEADING = r"适用范围|适用对象|范围"
SCOPE_CUE = r"适用于|适用范围|适用对象|本(?:制度|规定|办法|规范|指南|指引|流程)用于"
# "另按《儿科住院患者跌倒预防规范》执行": a group sent to another document is left out.
SCOPE_EXCLUSION = r"除外|不包括|不适用|另按|另行|另有规定|参照[^。；]{0,30}执行"
SCOPE_REFUSAL = "检索到的文件只适用于{covered}，没有关于{asked}的规定。"
SCOPE_REFUSAL_EXCLUDED = "检索到的文件不适用于{asked}，没有关于{asked}的规定。"
SCOPE_JOIN = "、"
SCOPE_LAST_JOIN = "和"
CONDITION_NOTE = "以上是文件针对{condition}的规定；文件未按{slot}给出其他数值。"

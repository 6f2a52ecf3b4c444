"""Chinese corruptions: a quantity, a unit or magnitude (万/亿, 元/美元, 岁/个月), a year, a
negation (不/未/没有) or a party, place or organisation changed.

Persons are the judgments' pseudonyms ("王x0", "张1", "刘1某", "李一某"): jieba's person tag
is wrong too often to trust ("查明" is nr). Organisations are "...有限公司"-style names cut at a
function word, plus jieba's nt words; places are jieba's ns words with a 市/县/区 ending.
"""

from __future__ import annotations

import functools
import logging
import random
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from benchmarks.claims.edits import (
    Corruption,
    absent,
    changed_number,
    number_values,
    splice,
    window,
)

if TYPE_CHECKING:
    from jieba.posseg import POSTokenizer

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余"
            "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶"
            "黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹"
            "申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管"
            "柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏"
            "席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩佘池麻苑迟邝")
_UNIT_CHARS = "年月日元万亿千百岁周个天小时分次亩平米公斤克吨%％人件份辆间台股倍号条项层楼室"
# The judgments' pseudonyms: 王x0, 张1, 刘1某, 王某某, 张某乙, 张某1, 李一某.
_PSEUDONYM = re.compile(
    rf"(?<![)）])[{SURNAMES}](?:[xX×]\d{{1,3}}|\d{{1,3}}某|\d{{1,3}}(?![\d.,{_UNIT_CHARS}])|某某"
    rf"|某[甲乙丙丁戊\d]|[一二三四五]某)")
_ORG_SUFFIX = re.compile(
    r"(?:股份有限公司|有限责任公司|有限公司|公司|银行|医院|分行|支行|学校|大学)")
_ORG_BOUNDARY = ("被告", "原告", "第三人", "现在", "在", "于", "与", "向", "由", "经", "和", "及",
                 "为", "系", "是", "的", "到", "给", "从", "对", "被", "将", "把", "、", "至")
_GENERIC_ORGS = frozenset(("人民法院", "人民政府", "人民检察院", "上市公司", "交易中心", "商业银行",
                           "中心医院", "有限公司", "保险公司", "担保公司", "房地产公司"))
_PLACE_SUFFIX = "市县区省镇乡村州"

# A quantity: digits followed by the unit they count (dates are qualifiers, not quantities).
_QUANTITY = re.compile(r"(?<![\d.,xX×])(\d+(?:\.\d+)?)"
                       r"(?=万|亿|千|元|周岁|岁|个月|天|小时|分钟|次|亩|平方米|公斤|千克|吨|%|％|人|件|份|"
                       r"辆|间|台|股|倍|年(?![\d月]))")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?=年)")
_UNIT_SWAPS = (("万", "亿"), ("亿", "万"), ("千元", "万元"), ("美元", "元"), ("元", "美元"),
               ("周岁", "个月"), ("岁", "个月"), ("小时", "天"), ("天", "小时"), ("个月", "年"),
               ("年", "个月"), ("亩", "平方米"), ("平方米", "亩"), ("公斤", "吨"), ("千克", "克"),
               ("吨", "公斤"), ("公里", "米"))
_RATE_SWAPS = (("每月", "每年"), ("每年", "每月"), ("每日", "每月"), ("每天", "每月"),
               ("月利率", "年利率"), ("年利率", "月利率"), ("月息", "年息"))
_WORD_QUALIFIERS = (("以上", "以下"), ("以下", "以上"), ("之前", "之后"), ("之后", "之前"),
                    ("以前", "以后"), ("以后", "以前"), ("增加", "减少"), ("减少", "增加"),
                    ("本金", "利息"), ("利息", "本金"), ("一审", "二审"), ("二审", "一审"),
                    ("最高", "最低"), ("首付", "尾款"))
_NEGATIONS = frozenset(("不", "未", "没有", "没", "无"))
_NEGATED_VERBS = frozenset(("未能", "不能", "不得", "不予", "未经", "不再", "未予", "不愿"))
# Verbs to jieba that read as nouns in the judgments ("的行为", "工作"), or carry no event.
_NOT_VERBS = frozenset(("是", "有", "为", "系", "经", "在", "将", "要", "行为", "工作", "生活",
                        "管理", "活动", "情况", "经营", "处理"))


@functools.cache
def _tagger() -> POSTokenizer:
    """jieba's default tagger: importing ``jieba.posseg`` already builds it (reading the tag
    dictionary takes seconds), so a private one would pay that twice."""
    import jieba
    import jieba.posseg

    logging.getLogger("jieba").setLevel(logging.WARNING)
    jieba.dt.initialize()
    return jieba.posseg.dt


def is_word(text: str) -> bool:
    """In jieba's dictionary (with a frequency: prefixes of longer words are listed at 0)."""
    return bool(_tagger().tokenizer.FREQ.get(text))


def tag(text: str) -> list[tuple[str, str]]:
    """Words and part-of-speech tags from jieba's dictionary only: its HMM for unknown words
    costs ten times as much and mostly invents names from pseudonyms and numbers."""
    return [(p.word, p.flag) for p in _tagger().cut(text, HMM=False)]


def names(text: str) -> dict[str, set[str]]:
    """Persons, places and organisations named in ``text``."""
    out: dict[str, set[str]] = {"person": set(), "place": set(), "org": set()}
    out["person"].update(m.group() for m in _PSEUDONYM.finditer(text))
    for m in _ORG_SUFFIX.finditer(text):
        prefix = text[max(0, m.start() - 10):m.start()]
        prefix = re.split(r"[^\u4e00-\u9fff]", prefix)[-1]
        cut = max((prefix.rfind(b) + len(b) for b in _ORG_BOUNDARY if b in prefix), default=0)
        name = prefix[cut:] + m.group()
        if len(prefix) - cut >= 2 and name not in _GENERIC_ORGS:
            out["org"].add(name)
    # Persons come from the pseudonyms only: jieba's nr tag is wrong too often ("查明").
    for word, flag in tag(text):
        if flag == "ns" and len(word) >= 3 and word[-1] in _PLACE_SUFFIX:
            out["place"].add(word)
        elif flag == "nt" and len(word) >= 4 and word not in _GENERIC_ORGS:
            out["org"].add(word)
    return out


def _core(name: str) -> str:
    """The distinctive part of a name: without its suffix (公司, 市) or pseudonym digits."""
    core = _ORG_SUFFIX.sub("", name)
    core = core[:-1] if core[-1:] and core[-1] in _PLACE_SUFFIX else core
    return re.sub(r"[某xX×\d]", "", core)


def corrupt_entity(claim: str, passage: str, pool: dict[str, Sequence[str]],
                   rng: random.Random) -> Corruption | None:
    found = [(kind, name) for kind, found in names(claim).items() for name in sorted(found)
             if name in claim]
    rng.shuffle(found)
    for kind, name in found:
        candidates = [n for n in pool.get(kind, ()) if n != name]
        for new in rng.sample(candidates, min(len(candidates), 40)):
            if (new[0] == name[0] or set(_core(new)) & set(_core(name))
                    or not absent(new, passage) or new in claim or name in new):
                continue
            return Corruption(claim.replace(name, new), name, new)
    return None


def corrupt_number(claim: str, passage: str, rng: random.Random) -> Corruption | None:
    spots = [m for m in _QUANTITY.finditer(claim) if not _YEAR.match(claim, m.start())]
    rng.shuffle(spots)
    taken = number_values(passage)
    for m in spots:
        new = changed_number(m.group(1), passage, rng)
        if new is None or float(new) in taken:
            continue
        out = splice(claim, m.start(1), m.end(1), new)
        return Corruption(out, m.group(1), new)
    return None


def corrupt_unit(claim: str, passage: str, rng: random.Random) -> Corruption | None:
    """A quantity's unit or magnitude swapped (80万元 -> 80亿元), or a rate (每月 -> 每年)."""
    options: list[tuple[int, int, str, str]] = []
    for old, new in _UNIT_SWAPS:
        for m in re.finditer(rf"(?<=\d){re.escape(old)}", claim):
            if old == "元" and claim[m.start() - 1:m.start()] in ("美", "港"):
                continue
            if old == "年" and _YEAR.search(claim[max(0, m.start() - 4):m.end()]):
                continue
            options.append((m.start(), m.end(), old, new))
    if re.search(r"\d", claim):
        for old, new in _RATE_SWAPS:
            options.extend((m.start(), m.end(), old, new) for m in re.finditer(old, claim))
    rng.shuffle(options)
    for start, end, old, new in options:
        out = splice(claim, start, end, new)
        if absent(window(out, start, start + len(new), 4), passage):
            return Corruption(out, old, new)
    return None


def corrupt_qualifier(claim: str, passage: str, rng: random.Random) -> Corruption | None:
    """A year swapped (2016年 -> 2015年, or another year of the passage), or, in a claim with a
    number, a qualifier word swapped for its opposite (以上/以下, 本金/利息)."""
    passage_years = {m.group(1) for m in _YEAR.finditer(passage)}
    years = list(_YEAR.finditer(claim))
    rng.shuffle(years)
    for m in years:
        y = m.group(1)
        candidates = [*sorted(passage_years - {y}), str(int(y) - 1), str(int(y) + 1)]
        for new in rng.sample(candidates, len(candidates)):
            out = splice(claim, m.start(1), m.end(1), new)
            if new not in claim and absent(window(out, m.start(1), m.end(1), 6), passage):
                return Corruption(out, y, new)
    if not re.search(r"\d", claim):
        return None
    for old, new in rng.sample(_WORD_QUALIFIERS, len(_WORD_QUALIFIERS)):
        pos = claim.find(old)
        if pos >= 0:
            out = splice(claim, pos, pos + len(old), new)
            if absent(window(out, pos, pos + len(new), 4), passage):
                return Corruption(out, old, new)
    return None


def corrupt_negation(claim: str, passage: str, rng: random.Random) -> Corruption | None:
    """Drop a 不/未/没有 that negates a verb (未能 -> 能), else, in a claim with no negation at
    all, put 未 before its first verb (a second negation would only make double negatives)."""
    tokens = tag(claim)
    starts = [0]
    for word, _ in tokens:
        starts.append(starts[-1] + len(word))
    negated = [i for i, (w, _) in enumerate(tokens)
               if (w in _NEGATIONS and any(f.startswith("v") for _, f in tokens[i + 1:i + 4]))
               or w in _NEGATED_VERBS]
    if negated:
        i = rng.choice(negated)
        word = tokens[i][0]
        new = word[1:] if word in _NEGATED_VERBS else ""
        out = splice(claim, starts[i], starts[i + 1], new)
        return Corruption(out, word, new) if absent(out, passage) else None
    if re.search("[不未没无非否]", claim):
        return None
    for i, (word, flag) in enumerate(tokens):
        if any(w in ("将", "把") for w, _ in tokens[:i]):
            return None  # 未 would belong before 将/把, far from the verb: leave these alone
        if flag == "v" and len(word) == 2 and word not in _NOT_VERBS:
            at = i - 1 if i and tokens[i - 1][0] == "被" else i  # 未被送到, not 被未送到
            out = splice(claim, starts[at], starts[at], "未")
            if absent(window(out, starts[at], starts[i + 1] + 1, 4), passage):
                return Corruption(out, claim[starts[at]:starts[i + 1]],
                                  "未" + claim[starts[at]:starts[i + 1]])
            return None
    return None

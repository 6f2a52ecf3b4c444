"""Questions of several kinds from one passage, each with the sentence that answers it.

``make-data`` teaches the behaviour the answerer needs (find the passage, quote what it says,
cite it), so each question here is paired with a reply that quotes, or barely rewords, one
sentence or table row of the passage — never more than the passage says:

- **heading**: what the passage's section says (its opening sentences);
- **table**: one cell, asked by its row and column ("the dose for CrCl 15-29"), answered with
  the row's label, the column and the value;
- **number**: "What is the monthly fee?" from "The monthly fee is EUR 4.50.";
- **definition**: "What is X?" / "What does X mean?" from "X is a ..." / "X means ...";
- **yes/no**: a stated rule turned into a question ("Must staff ...?"), answered "Yes, staff
  must ..." or, for a prohibition, "No, staff may not ...".

English and Chinese each have their own patterns, picked by the passage's language. The
patterns are deliberately narrow (a subject that is not a pronoun, one clause): a question
that misreads its sentence would teach the model to answer what the passage does not say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from finetune.formats import language

SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")
PRONOUNS = {"it", "they", "this", "these", "that", "those", "he", "she", "we", "you", "there"}
NEGATIVE = {"no", "none", "nothing", "neither", "nobody", "never"}
# Clause numbers a sentence opens with ("6.1 A PEP is ...", "(a) ...", "第三条　..."): not
# part of what it says, and in the way of the patterns.
CLAUSE_NUMBER = re.compile(r"^(?:\d+(?:\.\d+)*\.?|\([a-z0-9]{1,3}\)"
                           r"|第[一二三四五六七八九十百零\d]+条)[\s\u3000]+")
# A subject holding one of these is a clause ("If there is", "Restart warfarin when the INR"),
# not the thing the sentence is about.
NOT_A_SUBJECT = {"if", "when", "where", "unless", "that", "which", "who", "whom", "whose",
                 "while", "because", "until", "after", "before", "than", "whether", "do",
                 "don't", "following", "although", "since", "once"}
PREPOSITIONS = {"in", "on", "at", "for", "from", "by", "with", "under", "during", "within",
                "to", "of", "upon", "except", "subject", "after", "before"}

EN_TEMPLATES = ("What does the {title} say about {topic}?",
                "What is the rule on {topic}?",
                "According to the {title}, what applies to {topic}?")
ZH_TEMPLATES = ("《{title}》关于“{topic}”有什么规定？",
                "关于{topic}，文件是怎么规定的？",
                "根据{title}，{topic}有哪些要求？")

# The value must open the predicate ("is EUR 4.50", "are at least 2"): "The fee is waived
# for customers under 25" holds a number but does not say what the fee is.
_EN_NUMBER = re.compile(r"^(?P<subj>[A-Z][^,;:()]{3,70}?) (?P<verb>is|are|was|were) "
                        r"(?P<rest>(?:about |approximately |around |at least |at most |up to "
                        r"|less than |more than |over |under |below |above |[A-Z]{3} |[$€£¥])?"
                        r"\d[^;]*)[.!]$")
_EN_DEFINITION = re.compile(r"^(?P<term>[A-Z][\w\- ()/]{1,50}?) (?P<verb>is|are|means|refers to)"
                            r" (?P<rest>(?:a|an|the|any) [^;]{8,})[.]$")
_EN_RULE = re.compile(r"^(?P<subj>[A-Z][^,;:()]{2,60}?) (?P<modal>must|should|shall|may|can|"
                      r"will)(?P<neg> not)? (?P<rest>[a-z][^;?]{4,})[.]$")
_EN_CANNOT = re.compile(r"^(?P<subj>[A-Z][^,;:()]{2,60}?) cannot (?P<rest>[a-z][^;?]{4,})[.]$")
_ZH_NUMBER = re.compile(r"^(?P<subj>[^，。；：\d]{2,30}?)(?:为|是)"
                        r"(?P<rest>(?:约|大约|不少于|至少|不超过|不低于|每)?\d[^。；]*)。?$")
_ZH_DEFINITION = re.compile(r"^(?P<term>[^，。；：]{2,20}?)(?:是指|指的是|系指)"
                            r"(?P<rest>[^。]{4,})。?$")
_ZH_RULE = re.compile(r"^(?P<subj>[^，。；：]{2,20}?)(?P<modal>必须|应当|应该|应|不得|禁止)"
                      r"(?P<rest>[^。？]{2,})。?$")


@dataclass(frozen=True)
class Probe:
    kind: str  # heading / table / number / definition / yesno
    question: str
    answer: tuple[str, ...]  # the reply's sentences, each to be cited to the passage


def title_of(doc_name: str) -> str:
    stem = Path(doc_name).stem
    stem = re.sub(r"[-_](zh|en)$", "", stem)
    return re.sub(r"[-_]+", " ", stem).strip()


def prose(text: str) -> str:
    """The passage without table rows and markdown heading lines."""
    lines = [ln.strip() for ln in text.splitlines()]
    return " ".join(ln for ln in lines if ln and not ln.startswith(("|", "#", "---")))


def sentences(text: str) -> list[str]:
    """The passage's prose sentences, clause numbers taken off."""
    found = (CLAUSE_NUMBER.sub("", s.strip()) for s in SENTENCE.split(prose(text)))
    return [s for s in found if len(s) >= 8]


def opening_sentences(text: str, max_chars: int = 320) -> list[str]:
    """The passage's first one or two sentences, up to ``max_chars``."""
    out: list[str] = []
    for sentence in sentences(text):
        if out and sum(len(s) for s in out) + len(sentence) > max_chars:
            break
        out.append(sentence)
        if len(out) == 2:
            break
    return out


def _lower_first(text: str) -> str:
    """'The fee' -> 'the fee'; acronyms and codes ('INR', 'CrCl', 'CET1') keep their case."""
    first = text.split()[0] if text.split() else ""
    plain = re.fullmatch(r"A|[A-Z][a-z]+(?:-[a-z]+)*", first)
    return text[0].lower() + text[1:] if plain else text


def _subject_ok(subject: str) -> bool:
    """A subject a question can be asked about: not a pronoun ("It is 5 mg": what is?) nor a
    negative quantifier ("No funds may leave": "May no funds leave?" misleads)."""
    words = subject.lower().split()
    return (words[0] not in PRONOUNS | NEGATIVE | PREPOSITIONS and len(words) <= 10
            and not NOT_A_SUBJECT & set(words))


def heading_question(doc_name: str, text: str, heading_path: tuple[str, ...], pick: int) -> str:
    lang = language(text)
    title = title_of(doc_name)
    topic = heading_path[-1] if heading_path else title
    topic = re.sub(r"^\s*[\d.]+\s*", "", topic).strip() or title
    templates = ZH_TEMPLATES if lang == "zh" else EN_TEMPLATES
    if lang == "en":
        topic = _lower_first(topic)
    return templates[pick % len(templates)].format(title=title, topic=topic)


def _one_clause(rest: str) -> bool:
    """"..., and are not recommended in ..." adds a second rule the question would not ask."""
    return not re.search(r", (?:and|but|or|unless|except) |; ", rest)


def _en_probes(sentence: str) -> list[Probe]:
    out = []
    if (m := _EN_DEFINITION.match(sentence)) and _subject_ok(m["term"]):
        verb = m["verb"]
        question = (f"What does {_lower_first(m['term'])} mean?" if verb in ("means", "refers to")
                    else f"What {verb} {_lower_first(m['term'])}?")
        out.append(Probe("definition", question, (sentence,)))
    elif (m := _EN_NUMBER.match(sentence)) and _subject_ok(m["subj"]):
        out.append(Probe("number", f"What {m['verb']} {_lower_first(m['subj'])}?", (sentence,)))
    if (m := _EN_RULE.match(sentence)) and _subject_ok(m["subj"]) and _one_clause(m["rest"]):
        question = f"{m['modal'].capitalize()} {_lower_first(m['subj'])} {m['rest']}?"
        reply = f"{'No' if m['neg'] else 'Yes'}, {_lower_first(sentence)}"
        out.append(Probe("yesno", question, (reply,)))
    elif (m := _EN_CANNOT.match(sentence)) and _subject_ok(m["subj"]):
        question = f"Can {_lower_first(m['subj'])} {m['rest']}?"
        out.append(Probe("yesno", question, (f"No, {_lower_first(sentence)}",)))
    return out


def _zh_probes(sentence: str) -> list[Probe]:
    out = []
    if m := _ZH_DEFINITION.match(sentence):
        out.append(Probe("definition", f"什么是{m['term']}？", (sentence,)))
    elif m := _ZH_NUMBER.match(sentence):
        out.append(Probe("number", f"{m['subj']}是多少？", (sentence,)))
    if m := _ZH_RULE.match(sentence):
        if m["modal"] in ("不得", "禁止"):
            question, reply = f"{m['subj']}是否可以{m['rest']}？", f"不可以，{sentence}"
        else:
            question, reply = f"{m['subj']}是否{m['modal']}{m['rest']}？", f"是的，{sentence}"
        out.append(Probe("yesno", question, (reply,)))
    return out


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def table_probes(doc_name: str, text: str) -> list[Probe]:
    """One probe per table cell: markdown tables with a header row, labels in column one."""
    lines = [ln.strip() for ln in text.splitlines()]
    out: list[Probe] = []
    title = title_of(doc_name)
    for i, line in enumerate(lines):
        if not (line.startswith("|") and i + 1 < len(lines)
                and re.fullmatch(r"\|?[\s:|-]+\|?", lines[i + 1] or "x")):
            continue
        header = _cells(line)
        zh = bool(re.search(r"[\u4e00-\u9fff]", line))  # a header in Chinese: ask in Chinese
        rows = []
        for row_line in lines[i + 2:]:
            if not row_line.startswith("|"):
                break
            rows.append(_cells(row_line))
        if len(header) == 2 and len(header[1]) >= 15:  # no header: key/value rows
            out += [_key_value(title, key, value, zh) for key, value in [header, *rows]
                    if key and value not in ("", "-", "—")]
            continue
        for row in rows:
            if len(row) != len(header) or not row[0]:
                continue
            for col, value in zip(header[1:], row[1:], strict=True):
                if value and col and value not in ("-", "—"):
                    out.append(_cell(title, row[0], col, value, zh))
    return out


def _key_value(title: str, key: str, value: str, zh: bool) -> Probe:
    if zh:
        return Probe("table", f"《{title}》中{key}是什么？", (f"{key}：{value}。",))
    return Probe("table", f"In the {title}, what is given for {key}?", (f"{key}: {value}.",))


def _cell(title: str, row: str, col: str, value: str, zh: bool) -> Probe:
    if zh:
        what = "是多少" if re.search(r"\d", value) else "是什么"
        return Probe("table", f"《{title}》中{row}（{col}）{what}？",
                     (f"{row}（{col}）为{value}。",))
    col = _lower_first(col)
    return Probe("table", f"In the {title}, what is the {col} for {row}?",
                 (f"The {col} for {row} is {value}.",))


def probes(doc_name: str, text: str, heading_path: tuple[str, ...], pick: int) -> list[Probe]:
    """Every question this passage supports, the heading question first."""
    opening = opening_sentences(text)
    found = [Probe("heading", heading_question(doc_name, text, heading_path, pick),
                   tuple(opening))] if opening else []
    per_sentence = _zh_probes if language(text) == "zh" else _en_probes
    for sentence in sentences(text):
        found += per_sentence(sentence)
    return found + table_probes(doc_name, text)

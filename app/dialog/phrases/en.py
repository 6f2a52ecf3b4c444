"""English phrasebook: the words by which the dialog reads a conversation, and the words it says.

Every English word list and phrase pattern of the dialog is here (a Chinese twin in ``zh``), so
tuning how English users are understood is one file. Patterns are regex sources, matched
case-insensitively by the modules that use them; what a domain adds (the nouns that mean "the
drug" or "the contract", slot values) is in its pack, not here. Left out: grammar beyond word
lists (no parser, no lemmatiser).
"""

from __future__ import annotations

# --- follow-ups (``rewrite``) ----------------------------------------------------------------

# How a follow-up opens: "and for rivaroxaban?", "what about its side effects?".
FOLLOW_UP_OPENER = (
    r"^\W*(?:(?:and|but|so|ok(?:ay)?|then|also|well)\W+)*"
    r"(?:(?:what|how)\s+about|what\s+of|same\s+(?:for|with|in|question)|and|also)\b\W*")
# "the drug", "that same contract": ``{nouns}`` becomes the pack's entity nouns.
NOUN_REFERENCE = r"\b(?:the|this|that)\s+(?:same\s+)?(?:{nouns})\b"
# References that point back unless the question is long ("its", "the same", "that one").
STRONG_REFERENCE = (
    r"\b(?:its|their)\b|{noun_reference}|\bthe same\b"
    r"|\b(?:this|that|these|those)\b(?=\s*(?:[?.!,;]|$|one\b|ones\b|case\b))")
# Pronouns that point back only in a short question ("is it given IV?").
WEAK_REFERENCE = r"\b(?:it|they|them|this|that|these|those)\b"
# Pronouns that stand for one thing and can be replaced by it ("they" often means people).
REPLACEABLE = r"{noun_reference}|\bits\b|\bit\b(?!['’]s)"
REPLACEABLE_NOUN = r"{noun_reference}|\bits\b"
# Words that finish a reference ("the same drug", "that one") and so bring no new aspect.
REFERENCE_WORDS = frozenset({"same", "one", "ones", "case"})
# Words that carry no topic in a follow-up, a correction or the turn before: conversation
# ("no, she is 45", "sorry, I'm in the US, give me a rate here": "I'm" leaves an "m").
FILLER_WORDS = frozenset({
    "also", "then", "else", "instead", "again", "ok", "okay", "please",
    "nope", "actually", "meant", "mean", "sorry", "wrong",
    "correction", "said", "she", "he", "her", "him", "his", "still", "yes", "yeah", "under",
    "regarding", "per", "m", "re", "ve", "ll", "d", "s", "t", "just", "really", "course",
    "here", "give", "tell", "know", "knew", "think", "wonder", "thanks", "thank", "great",
})

# --- slot values (``slots``) ------------------------------------------------------------------

# Strong cues only: "should be" and "instead of" also open ordinary questions ("what dose
# should be given?"), and a false correction lets loose value parts in.
CORRECTION = (
    r"^\W*(?:(?:oh|sorry|wait)\W+)?(?:no|nope|not quite|wrong|oops|correction|actually|i meant"
    r"|i mean)\b(?!\s+(?:longer|more|one)\b)"
    r"|\b(?:i meant|i said|correction:)"
    r"|\bnot\b[^,.;!?]{1,40}\bbut\b")
# Negation right before a value, and the little words that may sit between ("not the NDA").
NEGATION = r"\bnot|\bisn't|\bwasn't|\baren't|\bno longer"
AFTER_NEGATION = r"the\s+|a\s+|an\s+|on\s+"
# "forget the age", "no longer on warfarin": ``ref`` / ``ref2`` is what to forget.
CLEAR_COMMAND = (
    r"(?:^|[,.;!?]\s*)(?:(?:please|pls|ok|okay|and|now|also|then|so|let's|let us|you can"
    r"|can you|could you)\W+)*"
    r"(?:forget(?:\s+about)?|clear|drop|ignore|disregard|remove|reset|never\s*mind"
    r"|stop\s+considering|don't\s+consider|do\s+not\s+consider)\b(?P<ref>[^,.;!?]*)"
    r"|\bno\s+longer\s+(?:on|taking|takes|has|have|considering|consider)\b(?P<ref2>[^,.;!?]*)")
# The whole reference, so "forget all the allergies" clears the allergies only.
EVERYTHING = r"everything|all|all of (?:it|that|them)|all slots"
# Where a description's examples start: "fiscal year or period, e.g. 2023".
EXAMPLES = r",?\s*(?:e\.g\.|for example|such as)"

# --- small talk (``smalltalk``) ---------------------------------------------------------------

SMALL_TALK: dict[str, str] = {
    "thanks": r"thanks?(?:\s+(?:you|u))?(?:\s+(?:so|very)\s+much)?(?:\s+a\s+lot)?|many\s+thanks"
              r"|thx|ty|cheers|much\s+appreciated|appreciate\s+it",
    "greeting": r"(?:hi|hello|hey|good\s+(?:morning|afternoon|evening))(?:\s+there)?",
    "goodbye": r"bye|goodbye|see\s+you(?:\s+later)?|have\s+a\s+(?:good|nice)\s+day",
    "ack": r"ok(?:ay)?|great|perfect|awesome|cool|nice|got\s+it|understood|that\s+helps"
           r"|(?:that\s+is|that's)\s+(?:helpful|great|clear)",
}
SMALL_TALK_FILLERS = r"so|very|really|oh|ah|well|and"
SMALL_TALK_REPLIES: dict[str, str] = {
    "thanks": "You're welcome. Ask another question about the documents whenever you like.",
    "greeting": "Hello. Ask me a question about the documents; every answer cites the passages "
                "it comes from.",
    "goodbye": "Goodbye.",
    "ack": "Ask another question about the documents whenever you like.",
}

# --- clarifying questions (``intents``) -------------------------------------------------------

CLARIFY = "{why}I need to know {needs}. Could you tell me?"
CLARIFY_WHY = "To answer about {reasons}, "
CLARIFY_WHY_UNKNOWN = "To answer this, "
CLARIFY_REASONS_JOIN = " and "
CLARIFY_NEEDS_JOIN = "; "
# A slot named by its description reads "the patient age in years" unless it has an article.
ARTICLE = r"(?:the|a|an|your|their)\b"
DEFINITE_ARTICLE = "the "

# --- scope and conditions (``scope``, ``conditions``) ----------------------------------------

# A heading whose section says what a document covers ("1. Purpose and scope").
SCOPE_HEADING = r"\b(?:scope|applicability|who (?:this|it) applies to|applies to)\b"
# A sentence or table row that says what a document covers ("| Applies to | Adults ... |").
SCOPE_CUE = (r"\b(?:appl(?:y|ies|icable) to|scope|intended for|for use (?:in|with|by)"
             r"|this (?:guideline|policy|protocol|procedure|document) (?:covers|is for))\b")
# A clause of such a sentence that leaves a group out: "(excluding maternity)", "paediatric
# discharges follow their own policies". Not a bare "do not": "do not use in children" names
# children, and a passage saying so is about them.
SCOPE_EXCLUSION = (r"\b(?:exclud(?:es?|ing)|except(?:ing)?|other than"
                   r"|not (?:covered|applicable|intended|suitable)|(?:does|do) not (?:apply|cover)"
                   r"|follows? (?:its|their) own|separate (?:policy|guideline|protocol|pathway"
                   r"|procedure))\b")
SCOPE_REFUSAL = "The documents found cover {covered} only; they do not say for {asked}."
SCOPE_REFUSAL_EXCLUDED = ("The documents found exclude {asked}; they do not say what applies to "
                          "{asked}.")
SCOPE_JOIN = ", "
SCOPE_LAST_JOIN = " and "
# Shown with the rewritten query (CLI --verbose, the UI detail panel).
SCOPE_REASON = "scope: {description} = {values}"
SCOPE_REMOVED = "{n} passage(s) out of scope left out"
# After an answer that holds under one condition on a detail the question did not give.
CONDITION_NOTE = ("This is what the documents give for {condition}; they give no different "
                  "value depending on {slot}.")

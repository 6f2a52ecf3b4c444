"""Metric functions: pure, model-free, each checked in the tests against hand-computed values.

``retrieval`` (recall/hit@k, MRR, nDCG over document ids), ``text`` (SQuAD normalisation with
character tokens for Chinese), ``answers`` (EM, token F1, ROUGE-L, BLEU), ``labels`` (yes/no/
maybe mapping), ``grounding`` (citation validity and support, refusal precision/recall),
``correctness`` (each question correct, refused or confidently wrong) and ``speed``
(percentiles).
"""

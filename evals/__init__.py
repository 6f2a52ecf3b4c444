"""Domain evaluation (datasets, metrics, runners, reports).

Not built yet: see the open issue "Domain evaluation CLI". The dataset format is the one in
DESIGN.md, also used by the packs' ``eval/questions.jsonl`` companions.
"""

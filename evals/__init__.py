"""Domain evaluation: datasets, metrics, a runner and reports behind ``verirag eval``.

A dataset (DESIGN.md, "Evaluation data format", or a pack's own ``eval/questions.jsonl``) is
indexed into a throw-away knowledge base cached by content hash, then run through one or more
configurations (retrieval mode, answer mode, adapter, a TOML override, or the no-retrieval
baseline). Every question becomes one record; records become a JSON file, a Markdown table, PNG
plots and a terminal summary.

Modules: ``datasets`` (parsing, sampling), ``corpus`` (the cached eval knowledge base),
``configs`` (the named presets of ``--compare``), ``answerers`` (the ``TurnAnswerer`` boundary
a multi-turn dialog manager plugs into), ``metrics`` (pure functions, no models), ``runner``,
``summary``, ``report`` and ``plots``. Left out: LLM-as-judge scoring (the answers here are
short and the judge would be the same small model) and significance tests between configs.
"""

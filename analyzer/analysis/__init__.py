"""The analysis: lowering to SymPy, composition, evaluation, the confirmation engine (probe), the
classifier, the report and its explanation, the rule codes, and the entry points (api)."""

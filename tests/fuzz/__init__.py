"""Fuzzing kinks: generators of valid and broken `.loss` text, the properties every input must keep,
and a numeric oracle for the verdicts.

`strategies` builds Hypothesis strategies from the atom table (so every function of the language is
covered as rows are added), `properties` checks one input, `oracle` checks one verdict against the
numbers. The short runs are tests in this folder and in tests/test_oracle.py; `run_long.py` is the
long run (many thousand cases, pathological inputs with their peak memory, the soak).
"""

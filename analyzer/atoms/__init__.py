"""One place per function of the language: its SymPy class (functions) and its row of the atom table
(table)."""

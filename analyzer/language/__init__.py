"""The loss language: its grammar, syntax tree, parser and printer back to text (LANGUAGE.md §2)."""

"""docs/language.md's function table is the atom table: regenerate with
`python -m analyzer.atoms.reference --write` when this fails."""

from analyzer.atoms import reference
from analyzer.atoms import table as atoms


def test_the_function_table_in_docs_is_generated_from_the_atom_table() -> None:
    text = reference.DOC.read_text(encoding="utf-8")
    assert reference.render_doc(text) == text, (
        "docs/language.md is out of date: python -m analyzer.atoms.reference --write"
    )


def test_every_row_and_alias_is_in_the_doc() -> None:
    text = reference.DOC.read_text(encoding="utf-8")
    for row in (*atoms.ATOMS, *atoms.TORCH_ROWS, *atoms.KERAS_ROWS):
        for spelling in atoms.spellings_of(row):
            assert f"`{spelling}" in text, spelling
            assert atoms.lookup(spelling) is row, spelling

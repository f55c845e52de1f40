"""What the program shows is drawn by every font: no combining marks in its strings."""

from __future__ import annotations

import ast
import unicodedata
from pathlib import Path

import gdplayground

SOURCES = sorted(Path(gdplayground.__file__).parent.rglob("*.py"))


def shown_strings(path: Path):
    """Every string literal of a module but its docstrings (read by people, never shown)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_string_the_program_shows_has_a_combining_mark():
    """The hat of m̂ (m and U+0302) landed on the letters beside it in the Optimizers tab
    ("wheȓe"): a combining mark is placed by the font, and many place it badly."""
    found = [f"{path.name}:{line}: {text!r}" for path in SOURCES for line, text in shown_strings(path)
             if any(unicodedata.combining(char) for char in text)]
    assert found == []

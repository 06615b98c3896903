"""List the functions longer than a screen, longest first (issue 15: one screen each).

Usage: python .ci/function_lengths.py [MAX_LINES] [PATH ...]   (default: 60 orfi)

A function's length runs from its first decorator to its last line, docstring
included. Complexity is ruff's job (C901 in make lint); this only measures.
"""

import ast
import sys
from pathlib import Path


def long_functions(paths: list[str], max_lines: int) -> list[tuple[int, str, str]]:
    """Return (length, file:line, name) of every function over ``max_lines``."""
    found = []
    for root in paths:
        for path in sorted(Path(root).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    start = min([d.lineno for d in node.decorator_list] + [node.lineno])
                    length = node.end_lineno - start + 1
                    if length > max_lines:
                        found.append((length, f"{path}:{node.lineno}", node.name))
    return sorted(found, reverse=True)


def main() -> None:
    """Print the long functions and their number."""
    max_lines = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    rows = long_functions(sys.argv[2:] or ["orfi"], max_lines)
    for length, where, name in rows:
        print(f"{length:4d}  {where}  {name}")
    print(f"{len(rows)} function(s) over {max_lines} lines")


if __name__ == "__main__":
    main()

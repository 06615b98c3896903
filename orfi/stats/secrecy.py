"""The small-count rule (secret statistique) for what a federation reads.

No figure a federation can reach counts 1 to k-1 facts in a cell located in space
(agence, quartier, QPV, commune), in time (a month) or by nature (family, category,
reason of a notable fact): such cells are hidden and pooled in a row that names none
of them. Totals stay exact. The federation's published rows follow the same rule
(orfi.federation.rollup); these helpers apply it to the tables built straight from
the facts (daily synthesis, bilan).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

from flask import current_app

#: Threshold k when ORFI_FEDERATION_MIN_COUNT is not set.
DEFAULT_MIN_COUNT = 5

_Key = TypeVar("_Key", bound=Hashable)


def min_count() -> int:
    """Return the threshold k of the small-count rule on this instance (2 to 100)."""
    configured = (
        current_app.config.get("ORFI_FEDERATION_MIN_COUNT") or DEFAULT_MIN_COUNT
    )
    return min(100, max(2, int(configured)))


def is_secret(count: int | None, k: int) -> bool:
    """Whether a located cell of ``count`` facts may not be published (1 to k-1)."""
    return count is not None and 0 < count < k


def suppress(
    cells: Sequence[tuple[_Key, int]], k: int
) -> tuple[list[tuple[_Key, int | None]], int]:
    """Hide the cells of 1 to k-1 facts (None); return the cells and the hidden sum.

    The hidden sum is what a reader gets anyway from the exact total: when a single
    cell would be hidden, the smallest published one is hidden with it, so that the
    sum never gives a hidden cell back.
    """
    hidden = {index for index, (_, n) in enumerate(cells) if is_secret(n, k)}
    if len(hidden) == 1:
        shown = [(n, index) for index, (_, n) in enumerate(cells) if n >= k]
        if shown:
            hidden.add(min(shown)[1])
    result = [
        (key, None if index in hidden else n) for index, (key, n) in enumerate(cells)
    ]
    return result, sum(cells[index][1] for index in hidden)

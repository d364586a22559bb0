"""Small-cell suppression for everything that leaves the staff pages.

Any count under 5 is shown as "<5": in a small group, a count can point to
a person (the only Nepali-speaking TITP worker in a prefecture who reported
a passport taken). Where the values of a dimension add up to a total that
is shown too, hiding one cell is not enough, since subtraction would give
it back; the next smallest cell is hidden as well ("complementary
suppression").
"""

from __future__ import annotations

THRESHOLD = 5
HIDDEN = "<5"


def cell(n: int) -> str:
    """One count as published."""
    return HIDDEN if n < THRESHOLD else str(n)


def suppress(
    counts: dict[str, int], *, partition: bool, total: int | None = None
) -> dict[str, str]:
    """Publishable cells of one dimension (for one period).

    `partition`: the values add up to `total`, which is published as well;
    then a lone hidden cell takes the smallest visible one with it.
    """
    shown = {value: cell(n) for value, n in counts.items()}
    if not partition or total is None or total < THRESHOLD:
        return shown
    hidden = [v for v, n in counts.items() if n < THRESHOLD]
    missing = total - sum(counts.values())
    if len(hidden) == 1 and missing == 0:
        visible = sorted((n, v) for v, n in counts.items() if n >= THRESHOLD)
        if visible:
            shown[visible[0][1]] = HIDDEN
    return shown


def share(numerator: int, denominator: int) -> str | None:
    """A percentage as published, or None when it would give away a small
    group: both the cases counted and the rest must be 5 or more."""
    if numerator < THRESHOLD or denominator - numerator < THRESHOLD:
        return None
    return f"{100.0 * numerator / denominator:.0f}%"

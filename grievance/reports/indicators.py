"""UN Guiding Principle 31, as numbers the database can compute.

Principle 31 lists what makes a non-judicial grievance mechanism effective.
Each indicator below turns one criterion into a number with a stated
definition (shown to staff beside the number), computed from the report's
SQL aggregates only. Criteria the data cannot support yet are listed with
`supported=False` and say what is missing, rather than being left out.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from grievance.cases import settings
from grievance.i18n import lazy_gettext as _l
from grievance.reports.queries import ReportData

# Foreign workers in Japan, MHLW, October 2025 (DOMAIN.md).
FOREIGN_WORKERS = 2_570_000
LANGUAGES_CSV = Path(__file__).resolve().parent.parent / "seed" / "languages.csv"

PRINCIPLES: dict[str, Any] = {
    "legitimate": _l("Legitimate"),
    "accessible": _l("Accessible"),
    "predictable": _l("Predictable"),
    "equitable": _l("Equitable"),
    "transparent": _l("Transparent"),
    "rights": _l("Rights-compatible"),
    "learning": _l("A source of continuous learning"),
    "engagement": _l("Based on engagement and dialogue"),
}


@dataclass(frozen=True)
class Indicator:
    """One number with its definition. `kind`: percent | hours | count | flag."""

    key: str
    principle: str
    name: Any
    definition: Any
    kind: str
    value: float | None = None
    numerator: int | None = None
    denominator: int | None = None
    supported: bool = True

    @property
    def principle_name(self) -> Any:
        return PRINCIPLES[self.principle]


@cache
def workers_by_language() -> dict[str, int]:
    """Approximate worker counts per language code (languages.csv)."""
    counts: dict[str, int] = {}
    with LANGUAGES_CSV.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            raw = (row.get("workers_approx") or "").strip()
            if raw.isdigit():
                counts[row["code"]] = int(raw)
    return counts


def language_coverage(enabled: list[str]) -> tuple[int, float]:
    """Workers whose main language is enabled, and their share of all foreign workers."""
    served = sum(n for code, n in workers_by_language().items() if code in enabled)
    return served, served / FOREIGN_WORKERS


def _share(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else 100.0 * numerator / denominator


def _percent(
    key: str, principle: str, name: Any, definition: Any, numerator: int, denominator: int
) -> Indicator:
    return Indicator(
        key=key,
        principle=principle,
        name=name,
        definition=definition,
        kind="percent",
        value=_share(numerator, denominator),
        numerator=numerator,
        denominator=denominator,
    )


def indicators(data: ReportData) -> list[Indicator]:
    """The Principle 31 panel for one report, in the order of the criteria."""
    conflict = data.counts("conflict_checked")
    deadline = data.counts("ack_deadline")
    legal = data.counts("legal_advice")
    gag = data.counts("gag_clause")
    recommend = data.counts("recommend")
    dialogue = data.counts("dialogue")
    measured = deadline.get("in_time", 0) + deadline.get("late", 0) + deadline.get("missed", 0)
    served, coverage = language_coverage(settings.enabled_languages())
    first = data.durations["first_response_time"]
    snap = data.snapshot
    return [
        _percent(
            "conflict_checked",
            "legitimate",
            _l("Conflict-of-interest check recorded"),
            _l(
                "Share of the cases opened in the period for which a caseworker recorded "
                "that they checked for a conflict of interest."
            ),
            conflict.get("yes", 0),
            conflict.get("yes", 0) + conflict.get("no", 0),
        ),
        Indicator(
            key="language_coverage",
            principle="accessible",
            name=_l("Workforce whose language is served"),
            definition=_l(
                "Foreign workers whose main language is enabled for reporting, as a share "
                "of all foreign workers in Japan (2.57 million, MHLW, October 2025), using "
                "the worker counts per language of the domain brief."
            ),
            kind="percent",
            value=100.0 * coverage,
            numerator=served,
            denominator=FOREIGN_WORKERS,
        ),
        Indicator(
            key="first_response",
            principle="accessible",
            name=_l("Median time to the first human response"),
            definition=_l(
                "Median hours from the report to the first reply written by a person, over "
                "the cases of the period that have had one."
            ),
            kind="hours",
            value=first.median,
            denominator=first.count,
        ),
        _percent(
            "ack_in_time",
            "predictable",
            _l("Acknowledged within the deadline"),
            _l(
                "Share of cases acknowledged by a person within the deadline of their "
                "urgency (P0 1 hour, P1 24 hours, P2 2 working days, P3 5 working days), "
                "among the cases of the period that were acknowledged or whose deadline "
                "has passed."
            ),
            deadline.get("in_time", 0),
            measured,
        ),
        _percent(
            "overdue_actions",
            "predictable",
            _l("Open cases with an overdue next action"),
            _l(
                "Share of the cases open now whose acknowledgement deadline passed without "
                "an acknowledgement, or that have an open deadline (statutory or follow-up) "
                "in the past. Lower is better."
            ),
            snap.overdue,
            snap.open_cases,
        ),
        _percent(
            "legal_advice",
            "equitable",
            _l("Cases with legal advice available"),
            _l(
                "Share of the cases opened in the period that a lawyer or a legal-aid body "
                "accepted on referral."
            ),
            legal.get("yes", 0),
            legal.get("yes", 0) + legal.get("no", 0),
        ),
        Indicator(
            key="interpreter",
            principle="equitable",
            name=_l("Cases with an interpreter available"),
            definition=_l(
                "Not recorded yet: the system does not record whether an interpreter took "
                "part. Cases are handled in the worker's language wherever it is enabled."
            ),
            kind="percent",
            supported=False,
        ),
        _percent(
            "worker_updates",
            "transparent",
            _l("Open cases updated in the last 14 days"),
            _l(
                "Share of the cases open now whose worker received an update from a "
                "caseworker in the last 14 days."
            ),
            snap.updated_recently,
            snap.open_cases,
        ),
        Indicator(
            key="public_stats",
            principle="transparent",
            name=_l("Public statistics published"),
            definition=_l(
                "Whether the quarterly public statistics page, with groups under 5 "
                "suppressed, is switched on (1) or off (0)."
            ),
            kind="flag",
            value=1.0 if settings.public_stats_enabled() else 0.0,
        ),
        Indicator(
            key="gag_clauses",
            principle="rights",
            name=_l("Settlements with gag clauses"),
            definition=_l(
                "Number of cases of the period settled with a clause that silences the "
                "worker. The target is 0."
            ),
            kind="count",
            value=float(gag.get("yes", 0)),
            numerator=gag.get("yes", 0),
        ),
        Indicator(
            key="repeat_employers",
            principle="learning",
            name=_l("Repeat employers and intermediaries"),
            definition=_l(
                "Employers, brokers, sending agencies, supervising or support organisations "
                "and buyers named in two or more cases of the period, matched by a keyed "
                "hash of the normalised name (no name is read)."
            ),
            kind="count",
            value=float(sum(r.names for r in data.repeats.values())),
            numerator=sum(r.names for r in data.repeats.values()),
        ),
        Indicator(
            key="root_causes",
            principle="learning",
            name=_l("Root causes"),
            definition=_l(
                "Not recorded yet: there are no root-cause tags. The categories and ILO "
                "indicators of the cases show what went wrong."
            ),
            kind="count",
            supported=False,
        ),
        _percent(
            "satisfaction",
            "engagement",
            _l("Workers who would recommend the service"),
            _l(
                "Share of the workers who answered the feedback survey who said they "
                "would recommend this service to others."
            ),
            recommend.get("yes", 0),
            recommend.get("yes", 0) + recommend.get("no", 0),
        ),
        _percent(
            "dialogue",
            "engagement",
            _l("Resolved through dialogue"),
            _l(
                "Share of the resolved cases of the period, where it was recorded, that "
                "were resolved through dialogue between the parties."
            ),
            dialogue.get("yes", 0),
            dialogue.get("yes", 0) + dialogue.get("no", 0),
        ),
    ]

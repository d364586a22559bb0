"""How a case counts: the dimensions of the statistics, as SQL expressions.

One definition serves two readers, so their numbers can never drift apart:
the reports (`grievance.reports`) count live cases by these expressions, and
retention (`grievance.cases.retention`) folds a case into `AggregateCount`
rows by the very same expressions just before the case is purged. A report
adds both, so purging a case leaves every count unchanged.

Every value is a code ("vi", "P1", "in_time", a bucket name...), never text a
person wrote. Months are Japan months (staff work in Japan; Japan keeps no
daylight saving time, so a fixed nine-hour offset is exact). Everything runs
in SQL on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, extract, func, or_, select
from sqlalchemy.sql.elements import KeyedColumnElement

from grievance.cases.labels import PARTY_LABELS
from grievance.cases.models import Case, Partner, Referral, ReferralStatus, case_categories
from grievance.cases.workspace_models import CaseParty
from grievance.extensions import db

# The length a name key keeps in `AggregateCount.value` (160 bits of the
# keyed hash: still unique, and fits the column).
EMPLOYER_KEY_CHARS = 40
# Links of the intermediary chain other than the employer (whose key sits
# on the case itself): each is counted as its own dimension "party:<role>".
INTERMEDIARY_ROLES: tuple[str, ...] = tuple(r for r in PARTY_LABELS if r != "employer")

# Partners whose referral means the worker had legal advice available.
LEGAL_PARTNER_KINDS = ("lawyer",)
LEGAL_PARTNER_TYPES = ("LAW", "HOUTERASU")
TAKEN_UP = (ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS, ReferralStatus.COMPLETED)

# Upper edges (hours, exclusive) of the duration buckets, and their codes.
DURATION_BUCKETS: tuple[tuple[float, str], ...] = (
    (1, "lt_1h"),
    (24, "lt_1d"),
    (48, "lt_2d"),
    (120, "lt_5d"),
    (336, "lt_14d"),
    (720, "lt_30d"),
    (2160, "lt_90d"),
)
LAST_BUCKET = "ge_90d"
BUCKET_ORDER: tuple[str, ...] = (*(code for _, code in DURATION_BUCKETS), LAST_BUCKET)


def dialect_name() -> str:
    return db.session.get_bind().dialect.name


def month_of(column: Any) -> ColumnElement[str]:
    """YYYY-MM of a UTC timestamp, in Japan time."""
    if dialect_name() == "postgresql":
        return func.to_char(func.timezone("Asia/Tokyo", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+9 hours")


def hours_between(later: Any, earlier: Any) -> ColumnElement[float]:
    """Hours from `earlier` to `later`, to the second (NULL when either is NULL).

    Whole seconds first, so that both databases agree exactly: SQLite's
    julianday arithmetic would otherwise make one hour 0.9999999 hours and
    put it in the bucket below.
    """
    if dialect_name() == "postgresql":
        return func.round(extract("epoch", later - earlier)) / 3600.0
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0) / 3600.0


def duration_bucket(later: Any, earlier: Any) -> ColumnElement[str | None]:
    hours = hours_between(later, earlier)
    whens = [(hours < limit, code) for limit, code in DURATION_BUCKETS]
    return case((later.is_(None), None), *whens, else_=LAST_BUCKET)


def yes_no(condition: ColumnElement[bool]) -> ColumnElement[str]:
    return case((condition, "yes"), else_="no")


def _optional_yes_no(column: Any) -> ColumnElement[str | None]:
    return case((column.is_(None), None), (column.is_(True), "yes"), else_="no")


def legal_advice() -> ColumnElement[bool]:
    """The case was taken up by a lawyer or a legal-aid body."""
    return exists().where(
        Referral.case_id == Case.id,
        Referral.status.in_(TAKEN_UP),
        Referral.partner_id == Partner.id,
        or_(Partner.kind.in_(LEGAL_PARTNER_KINDS), Partner.type_code.in_(LEGAL_PARTNER_TYPES)),
    )


def ack_deadline(now: datetime) -> ColumnElement[str]:
    """in_time | late | missed (deadline passed, never acknowledged) | pending."""
    return case(
        (
            and_(Case.acknowledged_at.is_not(None), Case.acknowledged_at <= Case.due_at),
            "in_time",
        ),
        (Case.acknowledged_at.is_not(None), "late"),
        (Case.due_at < now, "missed"),
        else_="pending",
    )


def _join_categories(stmt: Select[Any]) -> Select[Any]:
    return stmt.join(case_categories, case_categories.c.case_id == Case.id)


def _join_party(role: str) -> Callable[[Select[Any]], Select[Any]]:
    def join(stmt: Select[Any]) -> Select[Any]:
        return stmt.join(CaseParty, and_(CaseParty.case_id == Case.id, CaseParty.role == role))

    return join


@dataclass(frozen=True)
class Dimension:
    """One way of counting cases.

    `value(now)` is the SQL expression giving a case's code (NULL: the case
    is not counted in this dimension); `join` adds what the expression needs.
    `partition` is True when every case has exactly one value, so that the
    values add up to the total (small-cell suppression must then hide a
    second cell, or the first could be worked out by subtraction).
    """

    name: str
    value: Callable[[datetime], ColumnElement[Any]]
    partition: bool = True
    join: Callable[[Select[Any]], Select[Any]] | None = field(default=None, compare=False)


def _col(column: KeyedColumnElement[Any]) -> Callable[[datetime], ColumnElement[Any]]:
    return lambda _now: func.coalesce(column, "")


DIMENSIONS: tuple[Dimension, ...] = (
    # Every case counts once under "all". Written as a CASE because
    # PostgreSQL refuses a bare constant in GROUP BY.
    Dimension("total", lambda _now: case((Case.id.is_not(None), "all"), else_="all")),
    Dimension(
        "category",
        lambda _now: case_categories.c.category_code,
        partition=False,
        join=_join_categories,
    ),
    Dimension("language", _col(Case.language)),
    Dimension("channel", _col(Case.channel)),
    Dimension("prefecture", _col(Case.prefecture)),
    Dimension("residence", _col(Case.residence_status)),
    Dimension("urgency", _col(Case.urgency)),
    Dimension("outcome", _col(Case.outcome)),
    Dimension("closure", _col(Case.closure_reason)),
    Dimension("ack_deadline", ack_deadline),
    Dimension(
        "ack_time",
        lambda _now: duration_bucket(Case.acknowledged_at, Case.created_at),
        partition=False,
    ),
    Dimension(
        "first_response_time",
        lambda _now: duration_bucket(Case.first_response_at, Case.created_at),
        partition=False,
    ),
    Dimension(
        "resolve_time",
        lambda _now: duration_bucket(Case.resolved_at, Case.created_at),
        partition=False,
    ),
    Dimension("solved", lambda _now: Case.feedback_solved, partition=False),
    Dimension("felt_safe", lambda _now: _optional_yes_no(Case.feedback_felt_safe), False),
    Dimension("recommend", lambda _now: _optional_yes_no(Case.feedback_recommend), False),
    Dimension("dialogue", lambda _now: _optional_yes_no(Case.resolved_by_dialogue), False),
    Dimension("gag_clause", lambda _now: yes_no(Case.gag_clause.is_(True))),
    Dimension("conflict_checked", lambda _now: yes_no(Case.conflict_checked.is_(True))),
    Dimension("legal_advice", lambda _now: yes_no(legal_advice())),
    Dimension(
        "employer",
        lambda _now: func.substr(Case.employer_key, 1, EMPLOYER_KEY_CHARS),
        partition=False,
    ),
    *(
        Dimension(
            f"party:{role}",
            lambda _now: func.substr(CaseParty.name_key, 1, EMPLOYER_KEY_CHARS),
            partition=False,
            join=_join_party(role),
        )
        for role in INTERMEDIARY_ROLES
    ),
)
BY_NAME: dict[str, Dimension] = {d.name: d for d in DIMENSIONS}


def count_statement(
    dimension: Dimension,
    where: Sequence[ColumnElement[bool]],
    now: datetime,
    *,
    by_month: bool = False,
) -> Select[Any]:
    """SELECT [period,] value, n ... GROUP BY [period,] value over cases matching `where`."""
    return joint_statement((dimension,), where, now, by_month=by_month)


def joint_statement(
    dimensions: Sequence[Dimension],
    where: Sequence[ColumnElement[bool]],
    now: datetime,
    *,
    by_month: bool = False,
) -> Select[Any]:
    """One scan counting several dimensions at once: GROUP BY all their values.

    The result holds one row per combination that occurs (bounded by the
    product of the dimensions' few codes, never by the number of cases);
    summing it per dimension gives each dimension's counts. Columns:
    [period,] value0, value1, ..., n. At most one dimension may need a join.
    """
    columns: list[Any] = []
    if by_month:
        columns.append(month_of(Case.created_at).label("period"))
    for i, dimension in enumerate(dimensions):
        columns.append(dimension.value(now).label(f"value{i}" if len(dimensions) > 1 else "value"))
    groups = list(columns)
    stmt = select(*columns, func.count().label("n")).select_from(Case)
    joins = [d.join for d in dimensions if d.join is not None]
    if len(joins) > 1:
        raise ValueError("at most one joined dimension per statement")
    if joins:
        stmt = joins[0](stmt)
    return stmt.where(*where).group_by(*groups)

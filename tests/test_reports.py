"""Reports: SQL aggregates, UNGP 31 indicators, SVG charts, CSV export with
small-cell suppression, the public statistics switch, and who may see them."""

from __future__ import annotations

import csv
import io
import re
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from grievance.cases import settings
from grievance.cases.aggregates import BY_NAME, count_statement
from grievance.cases.models import Case, CaseEvent, Partner, Referral
from grievance.datakeys import utcnow
from grievance.extensions import commit, db
from grievance.reports import export, queries, suppression
from grievance.reports.indicators import indicators
from grievance.reports.period import Period
from tests.conftest import AuthActions, make_case, make_staff


def case_with(**attrs: Any) -> Case:
    """A real case (sealed narrative, audit event), then plain columns set."""
    fields = {k: attrs.pop(k) for k in ("language", "channel", "categories") if k in attrs}
    case, _ = make_case(narrative="Unpaid overtime for three months.", **fields)
    for name, value in attrs.items():
        setattr(case, name, value)
    commit()
    return case


def login(auth: AuthActions, app: Flask, role: str = "caseworker") -> None:
    """Log in through the real pages; staff pages then speak English."""
    auth.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with app.app_context():
        user, secret = make_staff(role, f"{role}@example.org")
        email = user.email
    response = auth.login(email, secret)
    assert response.status_code == 302


# -- the numbers --------------------------------------------------------------------


def test_joint_counts_equal_one_query_per_dimension(app: Flask) -> None:
    """The dashboard counts several dimensions per scan; each must match the
    plain GROUP BY of that dimension alone (the one purge folds with)."""
    now = utcnow()
    with app.app_context():
        for i in range(12):
            case_with(
                language=("vi", "ne", "id")[i % 3],
                channel=("web", "sms")[i % 2],
                categories=[("WAGE_UNPAID", "DOC_RETAIN")[i % 2]],
                prefecture=("13", None)[i % 2],
                acknowledged_at=now - timedelta(hours=30 - i) if i % 4 else None,
                first_response_at=now - timedelta(hours=30 - i) if i % 4 else None,
                resolved_at=now if i % 3 == 0 else None,
                outcome="apology" if i % 3 == 0 else None,
                feedback_solved=("yes", "partly", "no")[i % 3] if i % 3 == 0 else None,
                created_at=now - timedelta(hours=40),
            )
        period = Period.ending(now)
        data = queries.build_report(period, now)
        for name in queries.REPORT_DIMENSIONS:
            plain: dict[str, int] = {}
            for value, n in db.session.execute(
                count_statement(BY_NAME[name], period.case_filter(), now)
            ):
                if value is not None:
                    plain[str(value)] = plain.get(str(value), 0) + int(n)
            assert data.counts(name) == plain, name
        assert data.total == 12
        assert data.counts("language") == {"vi": 4, "ne": 4, "id": 4}
        assert data.counts("category") == {"WAGE_UNPAID": 6, "DOC_RETAIN": 6}
        assert data.counts("prefecture") == {"13": 6, "": 6}


def test_percentiles_match_the_textbook_definition(app: Flask) -> None:
    now = utcnow()
    hours = [0.5, 2, 3, 7, 11, 13, 17, 19, 23, 47, 71, 200]
    with app.app_context():
        for h in hours:
            opened = now - timedelta(days=20)
            case_with(created_at=opened, acknowledged_at=opened + timedelta(hours=h))
        data = queries.build_report(Period.ending(now), now)
    ack = data.durations["ack_time"]
    expected = statistics.quantiles(hours, n=10, method="inclusive")
    assert ack.count == len(hours)
    assert ack.median == pytest.approx(statistics.median(hours), abs=1e-3)
    assert ack.p90 == pytest.approx(expected[8], abs=1e-3)
    # The distribution comes from the same scan and adds up.
    assert data.counts("ack_time") == {
        "lt_1h": 1,
        "lt_1d": 8,
        "lt_2d": 1,
        "lt_5d": 1,
        "lt_14d": 1,
    }


def test_acknowledgement_deadline_indicator(app: Flask) -> None:
    now = utcnow()
    with app.app_context():
        opened = now - timedelta(days=10)
        due = opened + timedelta(hours=24)
        case_with(created_at=opened, due_at=due, acknowledged_at=due - timedelta(hours=1))
        case_with(created_at=opened, due_at=due, acknowledged_at=due - timedelta(hours=2))
        case_with(created_at=opened, due_at=due, acknowledged_at=due + timedelta(hours=5))
        case_with(created_at=opened, due_at=due, acknowledged_at=None)  # missed
        case_with(created_at=now, due_at=now + timedelta(days=2))  # not due yet
        data = queries.build_report(Period.ending(now), now)
        panel = {ind.key: ind for ind in indicators(data)}
    assert data.counts("ack_deadline") == {"in_time": 2, "late": 1, "missed": 1, "pending": 1}
    ack = panel["ack_in_time"]
    assert (ack.numerator, ack.denominator) == (2, 4)
    assert ack.value == pytest.approx(50.0)
    assert panel["interpreter"].supported is False
    assert panel["public_stats"].value == 0.0


def test_legal_advice_counts_referrals_taken_up_by_lawyers(app: Flask) -> None:
    with app.app_context():
        lawyer = db.session.scalar(select(Partner).where(Partner.type_code == "LAW"))
        union = db.session.scalar(select(Partner).where(Partner.type_code == "UNION"))
        assert lawyer is not None and union is not None
        a = case_with()
        b = case_with()
        c = case_with()
        case_with()
        db.session.add_all(
            [
                Referral(case_id=a.id, partner_id=lawyer.id, status="accepted"),
                Referral(case_id=b.id, partner_id=lawyer.id, status="declined"),
                Referral(case_id=c.id, partner_id=union.id, status="completed"),
            ]
        )
        commit()
        now = utcnow()
        data = queries.build_report(Period.ending(now), now)
        plain = dict(
            db.session.execute(
                count_statement(BY_NAME["legal_advice"], Period.ending(now).case_filter(), now)
            ).all()
        )
    assert data.counts("legal_advice") == {"yes": 1, "no": 3} == plain


def test_repeat_employers_are_counted_by_key_only(app: Flask) -> None:
    with app.app_context():
        for name in ("Acme Farm", "ACME  farm", "acme farm", "Other KK"):
            make_case(intermediaries={"employer": name})
        now = utcnow()
        data = queries.build_report(Period.ending(now), now)
    employer = data.repeats["employer"]
    assert (employer.names, employer.cases) == (1, 3)
    key = employer.top[0][0]
    assert re.fullmatch(r"[0-9a-f]{40}", key)


def test_period_parsing_is_strict_and_bounded() -> None:
    now = datetime(2026, 5, 20, tzinfo=UTC)
    default = Period.from_args({}, now)
    assert (default.first_month, default.last_month) == ("2025-06", "2026-05")
    chosen = Period.from_args({"from": "2026-03", "to": "2026-01"}, now)
    assert chosen.months() == ["2026-01", "2026-02", "2026-03"]
    assert Period.from_args({"from": "2026-13", "to": "x"}, now) == default
    wide = Period.from_args({"from": "2001-01", "to": "2026-05"}, now)
    assert len(wide.months()) == 120
    # Japan months: 2026-01 starts at 15:00 UTC on 31 December.
    assert chosen.start == datetime(2025, 12, 31, 15, tzinfo=UTC)


# -- suppression ---------------------------------------------------------------------


def test_small_cells_and_their_complement_are_hidden() -> None:
    assert suppression.cell(0) == suppression.cell(4) == "<5"
    assert suppression.cell(5) == "5"
    shown = suppression.suppress({"vi": 20, "ne": 3, "id": 7}, partition=True, total=30)
    # "ne" alone would be 30 - 20 - 7: the smallest visible cell goes too.
    assert shown == {"vi": "20", "ne": "<5", "id": "<5"}
    assert suppression.suppress({"a": 3, "b": 9}, partition=False, total=12) == {
        "a": "<5",
        "b": "9",
    }
    assert suppression.share(3, 20) is None and suppression.share(10, 12) is None
    assert suppression.share(10, 20) == "50%"


def test_export_prints_a_category_of_three_as_under_five(app: Flask) -> None:
    with app.app_context():
        for _ in range(3):
            make_case(categories=["DOC_RETAIN"])
        for _ in range(9):
            make_case(categories=["WAGE_UNPAID"])
        rows = export.csv_rows(Period.ending(), "period")
    header, *body = rows
    assert header == ["period", "dimension", "value", "count"]
    cells = {(r[1], r[2]): r[3] for r in body}
    assert cells[("category", "DOC_RETAIN")] == "<5"
    assert cells[("category", "WAGE_UNPAID")] == "9"
    assert cells[("total", "all")] == "12"
    text = export.csv_text(rows)
    assert "Unpaid overtime" not in text and "passport" not in text


# -- the pages -------------------------------------------------------------------------


def test_reports_need_a_caseworker_or_admin(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    assert client.get("/staff/reports").status_code == 302
    assert client.get("/staff/reports/export.csv").status_code == 302
    with app.app_context():
        _, secret = make_staff("advisor", "adv@example.org", partner_code="L-DEMO-AOZORA")
    auth.login("adv@example.org", secret)
    assert client.get("/staff/reports").status_code == 403
    assert client.get("/staff/reports/export.csv").status_code == 403


def test_dashboard_draws_svg_charts_with_tables(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        for lang in ("vi", "vi", "ne"):
            make_case(language=lang, categories=["WAGE_UNPAID"])
    login(auth, app)
    page = client.get("/staff/reports")
    assert page.status_code == 200
    html = page.data.decode()
    assert html.count("<svg") >= 10
    assert 'role="img"' in html and "<title id=" in html
    assert "<table" in html and "UN Guiding Principle 31" in html
    # No inline script or style anywhere (the CSP would block them anyway).
    assert "<script" not in html and "style=" not in html and "<style" not in html
    assert "Unpaid overtime" not in html
    # The language table: 2 Vietnamese, 1 Nepali.
    assert re.search(r"Vietnamese</th><td class=\"num\">2</td>", html)
    assert "no-store" in page.headers["Cache-Control"]


def test_dashboard_in_japanese_and_period_filter(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        case = case_with()
        case.created_at = datetime(2024, 2, 10, tzinfo=UTC)
        commit()
    login(auth, app)
    outside = client.get("/staff/reports?from=2025-01&to=2025-03").data.decode()
    inside = client.get("/staff/reports?from=2024-01&to=2024-03").data.decode()
    assert '2024-02</th><td class="num">1</td>' in inside
    assert "2024-02" not in outside
    with client.session_transaction() as session:
        session["staff_lang"] = "ja"
    ja = client.get("/staff/reports?from=2024-01&to=2024-03").data.decode()
    assert 'lang="ja"' in ja and "ベトナム語" in ja


def test_export_download_is_audited(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    with app.app_context():
        for _ in range(3):
            make_case(categories=["DOC_RETAIN"])
    login(auth, app)
    response = client.get("/staff/reports/export.csv?by=quarter")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode())))
    assert ["category", "DOC_RETAIN", "<5"] in [r[1:] for r in rows]
    assert client.get("/staff/reports/export.csv?by=week").status_code == 400
    with app.app_context():
        event = db.session.scalar(select(CaseEvent).where(CaseEvent.kind == "report.exported"))
        assert event is not None and event.detail["by"] == "quarter"


def test_public_statistics_are_off_by_default(app: Flask, client: FlaskClient) -> None:
    assert client.get("/statistics").status_code == 404
    with app.app_context():
        for _ in range(7):
            make_case(categories=["WAGE_UNPAID"], language="vi")
        make_case(categories=["DOC_RETAIN"], language="ne")
        settings.put_value(settings.PUBLIC_STATS, True)
        commit()
    page = client.get("/statistics", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.data.decode()
    assert "Public statistics" in html and "<script" not in html
    assert ">8<" in html  # the quarter's total
    languages = html[html.index("<caption>Language</caption>") :]
    languages = languages[: languages.index("</table>")]
    # One Nepali case: hidden, and Vietnamese with it (8 - 1 would give it away).
    vietnamese = re.search(r"Vietnamese</th>(.*?)</tr>", languages)
    assert vietnamese and ">7<" not in vietnamese.group(1)
    assert vietnamese.group(1).endswith('<td class="num">&lt;5</td>')
    # Categories overlap (a case may have several): no complement needed.
    assert re.search(r"Unpaid wages[^<]*</th>.*?<td class=\"num\">7</td></tr>", html)

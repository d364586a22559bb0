"""Template helpers: the staff pages' dates."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from grievance.templating import datetime_short

JAPAN = ZoneInfo("Asia/Tokyo")


def test_short_dates_are_japan_time_whatever_zone_they_come_in() -> None:
    # Against the zone database: naive times (stored UTC, as SQLite hands
    # them back), UTC times and times in other zones, over a century,
    # across midnight, month and year ends and leap days.
    draw = random.Random(20261204)
    start = datetime(2000, 1, 1, tzinfo=UTC)
    zones = [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=45)), JAPAN]
    for _ in range(2000):
        moment = start + timedelta(seconds=draw.randrange(100 * 366 * 86400))
        expected = moment.astimezone(JAPAN).strftime("%Y-%m-%d %H:%M")
        assert datetime_short(moment.replace(tzinfo=None)) == expected
        assert datetime_short(moment.astimezone(draw.choice(zones))) == expected


def test_a_short_date_crosses_the_day_in_japan() -> None:
    assert datetime_short(datetime(2026, 12, 31, 15, 0)) == "2027-01-01 00:00"
    assert datetime_short(datetime(2028, 2, 28, 20, 59, 59, tzinfo=UTC)) == "2028-02-29 05:59"

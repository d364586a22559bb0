"""The dashboard with 100,000 synthetic cases on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import PG_URL
from tests.test_reports_scale import test_dashboard_with_100000_cases  # noqa: F401


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": PG_URL,
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "REPORTS_CACHE_SECONDS": 0,
        "REPORTS_ROLLUP_SECONDS": 300,
    }

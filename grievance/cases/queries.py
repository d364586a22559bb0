"""Read-side queries for the caseworker and advisor pages."""

from __future__ import annotations

from sqlalchemy import select

from grievance.cases.models import Case
from grievance.extensions import db


def case_by_reference(reference: str) -> Case | None:
    return db.session.scalar(select(Case).where(Case.reference == reference))

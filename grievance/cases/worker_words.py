"""The worker-facing texts the referral services send, provided by intake.

The texts live in `grievance.intake.feedback_text`, so they are extracted
into the worker catalog and translated into every worker language. Cases
sit below intake in the imports, so the services reach them through the
application: `create_app` registers that module here (`register`), and the
services ask for it with `texts()`.
"""

from __future__ import annotations

from typing import Protocol

from flask import Flask, current_app

EXTENSION = "grievance.feedback_texts"


class FeedbackTexts(Protocol):
    """Texts rendered in the case's language (see grievance.intake.feedback_text)."""

    def outcome_notice(self, language: str, outcome: str, amount_yen: int | None) -> str: ...

    def outcome_words(self, language: str, outcome: str, amount_yen: int | None) -> str: ...

    def survey_message(self, language: str) -> str: ...

    def survey_web_notice(self, language: str) -> str: ...

    def consent_question(self, language: str, scope: str, partner_name: str | None) -> str: ...

    def check_in_message(self, language: str) -> str: ...


def register(app: Flask, provider: FeedbackTexts) -> None:
    app.extensions[EXTENSION] = provider


def texts() -> FeedbackTexts:
    provider: FeedbackTexts | None = current_app.extensions.get(EXTENSION)
    if provider is None:
        raise RuntimeError("worker texts are not registered: create_app registers them")
    return provider

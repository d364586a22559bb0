"""What the worker reads about consent, the outcome and the feedback survey.

Every string here is in the worker catalog (`messages`), so it is translated
into every worker language. The functions render a text in the *case's*
language whatever page or job calls them (a caseworker resolving a case
works in Japanese; the worker reads Nepali). Texts are short and neutral:
phones are shared, so no message names the problem or the employer.

The case services that send these texts sit below intake in the imports;
`init_app` registers this module with them (grievance.cases.worker_words).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from babel.core import UnknownLocaleError
from babel.numbers import format_currency
from flask import Flask, g

from grievance import i18n

_ = i18n.worker_domain.gettext
_l = i18n.worker_domain.lazy_gettext

# The coded outcomes (grievance.cases.resolution.OUTCOMES) in plain words.
OUTCOME_WORDS = {
    "wages_recovered": _l("Money owed to you was paid."),
    "documents_returned": _l("Your documents were given back."),
    "transfer_achieved": _l("You could change to a new workplace."),
    "apology": _l("You received an apology."),
    "policy_change": _l("The workplace changed its rules."),
    "referral_completed": _l("The partner who helped you has finished their work."),
    "no_remedy": _l("We could not get a result this time."),
    "worker_withdrew": _l("You asked us to stop."),
}

# Labels for the follow-up page (built by the intake pages).
CONSENT_HEADING = _l("What you allowed us to share")
CONSENT_ACTIVE = _l("You said yes.")
CONSENT_ENDED = _l("You took this back.")
CONSENT_WITHDRAW_BUTTON = _l("Take back")
CONSENT_AGREE_BUTTON = _l("Yes, I agree")
CONSENT_QUESTION_HEADING = _l("We are asking you")
OUTCOME_HEADING = _l("Result")

SURVEY_HEADING = _l("Tell us how it went")
SURVEY_SOLVED = _l("Was your problem solved?")
SURVEY_SOLVED_CHOICES = (
    ("yes", _l("Yes")),
    ("partly", _l("Partly")),
    ("no", _l("No")),
)
SURVEY_SAFE = _l("Did you feel safe using this service?")
SURVEY_RECOMMEND = _l("Would you tell a friend to use this service?")
YES_NO_CHOICES = (("yes", _l("Yes")), ("no", _l("No")))
SURVEY_COMMENT = _l("Anything else you want to tell us? (you can leave this empty)")
SURVEY_SEND = _l("Send answers")
SURVEY_THANKS = _l("Thank you. Your answers help other workers.")
REOPEN_BUTTON = _l("My problem is not solved: open my case again")
REOPEN_DONE = _l("Your case is open again. A caseworker will contact you.")


@contextmanager
def in_language(code: str) -> Iterator[i18n.Language]:
    """Render worker text in `code` for the duration (restores the page's language)."""
    lang = i18n.lookup(code) or i18n.BY_CODE[i18n.DEFAULT_WORKER_LANGUAGE]
    previous = g.get("ui_language")
    g.ui_language = lang
    try:
        yield lang
    finally:
        if previous is None:
            g.pop("ui_language", None)
        else:
            g.ui_language = previous


def format_yen(amount: int, lang: i18n.Language) -> str:
    try:
        return format_currency(amount, "JPY", locale=lang.babel_locale)
    except (UnknownLocaleError, ValueError):
        return f"{amount:,} JPY"


def outcome_words(language: str, outcome: str, amount_yen: int | None = None) -> str:
    """The outcome in the worker's words, with the amount for wages recovered."""
    with in_language(language) as lang:
        words = str(OUTCOME_WORDS.get(outcome, OUTCOME_WORDS["referral_completed"]))
        if amount_yen:
            words += " " + _("Amount: %(amount)s", amount=format_yen(amount_yen, lang))
        return words


def outcome_notice(language: str, outcome: str, amount_yen: int | None = None) -> str:
    """The message that tells the worker their case was resolved."""
    result = outcome_words(language, outcome, amount_yen)
    with in_language(language):
        return " ".join(
            [
                _("Your case is finished."),
                result,
                _("If the problem is not solved, tell us and we will open your case again."),
            ]
        )


def survey_message(language: str) -> str:
    """The survey as one message for SMS or WhatsApp, answered with numbers."""
    with in_language(language):
        return "\n".join(
            [
                _("Three short questions. Reply with three numbers, for example: 1 1 1"),
                _("1) Was your problem solved? 1 = yes, 2 = partly, 3 = no"),
                _("2) Did you feel safe using this service? 1 = yes, 2 = no"),
                _("3) Would you tell a friend to use this service? 1 = yes, 2 = no"),
                _("You can write a comment after the numbers."),
            ]
        )


def survey_web_notice(language: str) -> str:
    """For workers on the web: the survey waits on the follow-up page."""
    with in_language(language):
        return _("Please answer three short questions on the follow-up page.")


def _scope_words(scope: str, partner: str | None) -> str:
    # One literal per case so that every sentence is extracted whole.
    if scope == "share_narrative":
        if partner:
            return _("Tell %(partner)s what happened to you.", partner=partner)
        return _("Tell a partner organisation what happened to you.")
    if scope == "share_identity":
        if partner:
            return _("Give %(partner)s your name and how to contact you.", partner=partner)
        return _("Give a partner organisation your name and how to contact you.")
    if scope == "contact_employer":
        return _("Contact your employer or agency about the problem.")
    return _("Share your case with offices that may tell the immigration office.")


def consent_words(language: str, scope: str, partner_name: str | None) -> str:
    """One consent in the worker's words (for lists on the follow-up page)."""
    with in_language(language):
        return _scope_words(scope, partner_name)


def consent_question(language: str, scope: str, partner_name: str | None) -> str:
    """A consent question that a YES reply answers (and the page shows to tick)."""
    with in_language(language):
        return " ".join(
            [
                _("May we do this?"),
                _scope_words(scope, partner_name),
                _("Reply YES to agree. If you do not agree, you do not need to answer."),
                _("You can change your mind at any time."),
            ]
        )


def check_in_message(language: str) -> str:
    """The regular check-in while a partner works on the case."""
    with in_language(language):
        return _(
            "How are things with your case? Reply to this message or on the follow-up page"
            " if something changed or you need help."
        )


def init_app(app: Flask) -> None:
    """Make these texts the ones the case services send."""
    from grievance.cases import worker_words

    worker_words.register(app, sys.modules[__name__])  # type: ignore[arg-type]

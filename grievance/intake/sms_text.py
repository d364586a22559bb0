"""Every text the SMS/WhatsApp gateway sends, in the worker's language.

All of it goes through gettext in the worker catalog ("messages"), so it is
translated with the web pages. Texts are neutral: a shared or
employer-held phone may show them on the lock screen, so none says
"complaint", "case" or names the employer; the reference is "your
reference".

`render(reply, language)` turns a conversation reply key into texts;
`WorkerTexts` gives the notify layer the few texts it sends on its own
(the WhatsApp invitation to reply, the e-mail subject).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app, g, has_request_context

from grievance import i18n
from grievance.i18n import gettext as _
from grievance.intake.conversation import HOUR_CHOICES, PHONE_CHOICES, Menus, Reply
from grievance.intake.labels import (
    CATEGORY_LABELS,
    OWN_PHONE_CHOICES,
    PREFECTURES,
    SAFE_WINDOW_CHOICES,
    STATUS_WORDS,
)

# The categories offered by SMS, in menu order: the common ones, then
# "something else". Fewer than the web form's, because every line costs
# the worker a screen; caseworkers add the rest at triage.
SMS_CATEGORIES: tuple[str, ...] = (
    "WAGE_UNPAID",
    "WAGE_DEDUCT",
    "DOC_RETAIN",
    "RECRUIT_DEBT",
    "HOURS_EXCESS",
    "OSH_INJURY",
    "VIOLENCE",
    "HARASS_POWER",
    "HARASS_SEXUAL",
    "MOVE_RESTRICT",
    "DISMISSAL_RETURN",
    "HOUSING",
    "VISA_STATUS",
    "BROKER_MISCONDUCT",
    "LIFE_OTHER",
)


def menus() -> Menus:
    """The conversation's choices, from the language registry and the labels."""
    prefectures: dict[str, tuple[str, ...]] = {}
    for code, label in PREFECTURES:
        roman, _sep, kanji = label.partition(" ")
        prefectures[code] = (roman, kanji, kanji.rstrip("県府都")) if kanji else (roman,)
    return Menus(
        languages=tuple(lang.code for lang in i18n.LANGUAGES),
        language_names={
            lang.code: (lang.endonym, lang.english, lang.english.split(" (")[0])
            for lang in i18n.LANGUAGES
        },
        categories=SMS_CATEGORIES,
        prefectures=prefectures,
    )


@contextmanager
def in_language(code: str | None) -> Iterator[None]:
    """gettext in the worker catalog and `code`'s language, then put things back.

    Works in a request (the webhook, a staff page that writes to a worker)
    and outside one (jobs), where a throwaway request context carries the
    language, because the catalog is chosen per request.
    """
    if not has_request_context():
        with current_app.test_request_context():
            with in_language(code):
                yield
        return
    lang = i18n.lookup(code) or i18n.BY_CODE[i18n.DEFAULT_WORKER_LANGUAGE]
    babel_ctx = getattr(g, "_flask_babel", None)
    previous_domain = getattr(babel_ctx, "babel_domain", None) if babel_ctx else None
    previous_language = g.get("ui_language")
    i18n.set_language(lang.code)
    i18n.worker_domain.as_default()
    try:
        yield
    finally:
        if previous_language is not None:
            g.ui_language = previous_language
        else:
            g.pop("ui_language", None)
        babel_ctx = getattr(g, "_flask_babel", None)
        if babel_ctx is not None:
            if previous_domain is not None:
                babel_ctx.babel_domain = previous_domain
            elif hasattr(babel_ctx, "babel_domain"):
                del babel_ctx.babel_domain


def _numbered(items: list[tuple[int, Any]]) -> str:
    return "\n".join(f"{n} {label}" for n, label in items)


def language_menu() -> str:
    lines = [_("Reply with the number of your language:")]
    lines += [f"{n} {lang.endonym}" for n, lang in enumerate(i18n.LANGUAGES, start=1)]
    return "\n".join(lines)


def safety_question() -> str:
    labels = dict(OWN_PHONE_CHOICES)
    options = [(n, labels[value]) for n, value in PHONE_CHOICES.items()]
    return _("Is this phone only yours? Reply with a number:") + "\n" + _numbered(options)


def hours_question() -> str:
    windows = dict(SAFE_WINDOW_CHOICES)
    options: list[tuple[int, Any]] = [(1, _("Any time"))]
    options += [(n, windows[name]) for n, name in HOUR_CHOICES.items()]
    options.append((0, _("Never. I will write to you first.")))
    return (
        _(
            "When is it safe for us to send you messages on this phone? "
            "Reply with one or more numbers:"
        )
        + "\n"
        + _numbered(options)
    )


def consent_question() -> str:
    options = [
        (1, _("I agree that you keep my report safely to help me.")),
        (2, _("No. Do not keep what I write.")),
    ]
    return (
        _(
            "Your report is locked with encryption. Only our caseworkers can read it. "
            "We share it with a lawyer, union or office only if you say yes. "
            "You can ask us to delete it."
        )
        + "\n"
        + _("Reply with a number:")
        + "\n"
        + _numbered(options)
    )


def category_menu() -> str:
    options = [(n, CATEGORY_LABELS[code][1]) for n, code in enumerate(SMS_CATEGORIES, start=1)]
    return _("What is it about? Reply with one or more numbers:") + "\n" + _numbered(options)


def receipt(reference: str, secret: str | None) -> str:
    lines = [
        _("Thank you. We have received your message."),
        _("Your reference: %(ref)s", ref=reference),
    ]
    if secret:
        lines.append(
            _(
                "Your secret code: %(secret)s. Keep it private. With both you can also "
                "read our replies on the website.",
                secret=secret,
            )
        )
    lines.append(_("Write here any time to add more. Send HELP for help, STOP to stop messages."))
    return "\n".join(lines)


def status_text(reference: str | None, status: str | None) -> str:
    if reference is None or status is None:
        return no_case()
    words = STATUS_WORDS.get(status, STATUS_WORDS["new"])
    return _("Reference %(ref)s: %(status)s", ref=reference, status=words)


def no_case() -> str:
    return _("There is no reference yet. Please answer the question below.")


def help_text() -> str:
    return _(
        "Write here any time. STATUS: news. NEW: tell us about something else. "
        "LANG: language. STOP: no more messages. START: messages again. "
        "In danger now? Call 110 (police) or 119 (ambulance)."
    )


_SIMPLE: dict[str, Any] = {
    "narrative_prompt": lambda: _(
        "Please tell us what happened, in your own words. You can send several "
        "messages. When you have finished, send 0."
    ),
    "narrative_more": lambda: _(
        "Thank you. You can send more messages. When you have finished, send 0."
    ),
    "narrative_empty": lambda: _("Please tell us first what happened. Then send 0."),
    "prefecture_question": lambda: _(
        "In which prefecture do you work? Send its name, for example Aichi or 愛知. Send 0 to skip."
    ),
    "reprompt_number": lambda: _("Please reply with one of the numbers in the list."),
    "reprompt_category": lambda: _(
        "Please reply with one or more numbers from the list, for example 1 or 1 3."
    ),
    "reprompt_prefecture": lambda: _(
        "We did not recognise that prefecture. Send its name again, or 0 to skip."
    ),
    "consent_declined": lambda: _(
        "We have not kept what you wrote. Write to us again when you are ready."
    ),
    "received": lambda: _("Thank you. We have received your message."),
    "media_not_kept": lambda: _(
        "We cannot receive photos or files here. To send them, open the follow-up "
        "page on our website with your reference and secret code."
    ),
    "media_held": lambda: _("Thank you. We will add your photos or files to your report."),
    "media_after_consent": lambda: _(
        "We can keep photos or files only after you agree that we keep what you "
        "send. Please send them again after that."
    ),
    "started": lambda: _("Messages are on again."),
    "language_changed": lambda: _("Language changed."),
    "help": help_text,
    "no_case": no_case,
    "language_menu": language_menu,
    "safety_question": safety_question,
    "hours_question": hours_question,
    "consent_question": consent_question,
    "category_menu": category_menu,
}


def render(reply: Reply, language: str | None, **params: Any) -> str:
    """The text of one reply, in `language` (English before a language is chosen).

    `params` fills what only the caller knows: `reference` and `secret` for
    the receipt, `reference` and `status` for STATUS.
    """
    with in_language(language):
        if reply.key == "receipt":
            return receipt(params["reference"], params.get("secret"))
        if reply.key == "status":
            return status_text(params.get("reference"), params.get("status"))
        return str(_SIMPLE[reply.key]())


class WorkerTexts:
    """The texts notify sends on its own, registered in app.extensions."""

    def window_invitation(self, language: str | None) -> str:
        with in_language(language):
            return _("You have a new message. Reply to this message to read it.")

    def mail_subject(self, language: str | None) -> str:
        with in_language(language):
            return _("New message")

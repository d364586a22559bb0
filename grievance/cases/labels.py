"""Translated labels for the codes shown on staff pages.

Codes stay codes in the database and in audit details; these tables turn
them into Japanese or English (the `staff` catalog) at render time. An
unknown code is shown as itself rather than hidden.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations
from flask import current_app

from grievance.i18n import STAFF_LANGUAGES, current_language, gettext
from grievance.i18n import lazy_gettext as _l

STATUS_LABELS = {
    "new": _l("New"),
    "acknowledged": _l("Acknowledged"),
    "in_progress": _l("In progress"),
    "referred": _l("Referred"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
}

URGENCY_LABELS = {
    "P0": _l("P0 emergency"),
    "P1": _l("P1 urgent"),
    "P2": _l("P2 priority"),
    "P3": _l("P3 standard"),
}

CHANNEL_LABELS = {
    "web": _l("Web"),
    "sms": _l("SMS"),
    "whatsapp": _l("WhatsApp"),
    "email": _l("E-mail"),
}

CONTACT_LABELS = {
    "none": _l("Never contact the worker"),
    "web": _l("Only on the follow-up page"),
    "sms": _l("SMS"),
    "whatsapp": _l("WhatsApp"),
    "email": _l("E-mail"),
}

CLOSURE_LABELS = {
    "resolved": _l("Resolved"),
    "no_contact": _l("No contact with the worker"),
    "withdrawn": _l("The worker withdrew"),
    "duplicate": _l("Duplicate case"),
    "out_of_scope": _l("Out of scope"),
}

REVIEW_LABELS = {
    "pending": _l("Closure waiting for an admin's review"),
    "approved": _l("Closure approved by an admin"),
    "rejected": _l("Closure rejected by an admin"),
}

CONSENT_LABELS = {
    "store": _l("Store the case data"),
    "share_narrative": _l("Share the story with a partner"),
    "share_identity": _l("Share identity with a partner"),
    "contact_employer": _l("Contact the employer or an intermediary"),
    "immigration_bodies": _l("Share with bodies that may inform immigration"),
}

PARTY_LABELS = {
    "sending_agency": _l("Sending agency"),
    "supervising_org": _l("Supervising organisation"),
    "support_org": _l("Registered support organisation"),
    "employer": _l("Employer"),
    "buyer": _l("Buyer or client company"),
}

CLOCK_LABELS = {
    "wage_claim": _l("Unpaid-wage claim prescribes (3 years)"),
    "dismissal_notice": _l("Dismissal notice period (30 days)"),
    "pension_lump_sum": _l("Pension lump-sum claim (2 years after leaving Japan)"),
    "affiliation_change": _l("Notify change of affiliated organisation (14 days)"),
    "status_expiry": _l("Residence status expires"),
}

URGENCY_REASON_LABELS = {
    "intake": _l("As reported at intake"),
    "red_flag": _l("Red flag found in the worker's words"),
    "category_default": _l("Default for the categories"),
    "danger_now": _l("Danger now (violence, confinement, self-harm)"),
    "return_imminent": _l("Forced return imminent"),
    "deadline_near": _l("A deadline is near"),
    "health": _l("Health or injury"),
    "lower_risk": _l("Lower risk than first thought"),
    "other": _l("Other (see internal note)"),
}

SIGNAL_LABELS = {
    "violence_ongoing": _l("Ongoing violence"),
    "confinement": _l("Confinement"),
    "suicide_intent": _l("Suicide intent"),
    "forced_return": _l("Being taken to the airport"),
    "passport_taken": _l("Passport or residence card taken"),
    "pregnancy_threat": _l("Threats over pregnancy"),
    "injury": _l("Injury"),
}

EVENT_LABELS = {
    "case.opened": _l("Case opened"),
    "case.viewed": _l("Case viewed"),
    "case.red_flag": _l("Red flag raised the urgency"),
    "case.paged": _l("On-call caseworkers paged"),
    "case.triaged": _l("Triage saved"),
    "case.transition": _l("Status changed"),
    "case.closure_requested": _l("Closure requested (waiting for review)"),
    "case.closure_reviewed": _l("Closure reviewed"),
    "case.assigned": _l("Assigned"),
    "case.note": _l("Internal note added"),
    "case.acknowledged": _l("First human reply: acknowledged"),
    "case.clock_added": _l("Deadline added"),
    "case.clock_done": _l("Deadline done"),
    "case.reminder": _l("Reminder sent"),
    "attachment.downloaded": _l("Attachment downloaded"),
    "case.resolved": _l("Resolved with an outcome"),
    "case.reopen_requested": _l("The worker asked to reopen"),
    "case.feedback": _l("Feedback from the worker"),
    "case.check_in": _l("Check-in with the worker"),
    "case.purged": _l("Case data destroyed (retention)"),
    "consent.asked": _l("Consent asked"),
    "consent.granted": _l("Consent given"),
    "consent.withdrawn": _l("Consent withdrawn"),
    "contact.started": _l("The worker allowed messages again (START)"),
    "contact.stopped": _l("The worker stopped messages (STOP)"),
    "referral.created": _l("Referred to a partner"),
    "referral.answered": _l("Partner answered"),
    "referral.withdrawn": _l("Referral withdrawn"),
    "referral.reminded": _l("Partner reminded"),
    "referral.viewed": _l("Partner viewed the referral"),
    "referral.attachment_viewed": _l("Partner opened an attachment"),
    "escalation.created": _l("Escalation raised"),
    "escalation.status": _l("Escalation updated"),
    "message.received": _l("Message from the worker"),
    "message.sent": _l("Message to the worker"),
    "message.media_not_kept": _l("Photos or files sent by message (not kept)"),
}

WINDOW_LABELS = {
    "morning": _l("Morning (6–12)"),
    "afternoon": _l("Afternoon (12–18)"),
    "evening": _l("Evening (18–22)"),
    "night": _l("Night (22–6)"),
}

PHONE_OWNER_LABELS = {
    "own": _l("The worker's own phone"),
    "shared": _l("A shared phone"),
    "employer": _l("A phone from the employer"),
}

DELIVERY_LABELS = {
    "pending": _l("queued"),
    "sent": _l("sent"),
    "delivered": _l("delivered"),
    "read": _l("read"),
    "failed": _l("failed"),
    "undelivered": _l("not delivered"),
    "cancelled": _l("cancelled"),
    "held": _l("held until the worker writes"),
    "waiting": _l("waiting for the worker's follow-up visit"),
    "stopped": _l("not sent: the worker said STOP"),
}


def _label(table: dict[str, Any], code: str | None) -> str:
    if code is None:
        return ""
    return str(table.get(code, code))


def status_label(code: str) -> str:
    return _label(STATUS_LABELS, code)


def urgency_label(code: str) -> str:
    return _label(URGENCY_LABELS, code)


def channel_label(code: str) -> str:
    return _label(CHANNEL_LABELS, code)


def contact_label(code: str) -> str:
    return _label(CONTACT_LABELS, code)


def closure_label(code: str | None) -> str:
    return _label(CLOSURE_LABELS, code)


def review_label(code: str | None) -> str:
    return _label(REVIEW_LABELS, code)


def consent_label(code: str) -> str:
    return _label(CONSENT_LABELS, code)


def party_label(code: str) -> str:
    return _label(PARTY_LABELS, code)


def clock_label(code: str) -> str:
    return _label(CLOCK_LABELS, code)


def urgency_reason_label(code: str | None) -> str:
    return _label(URGENCY_REASON_LABELS, code)


def signal_label(code: str) -> str:
    return _label(SIGNAL_LABELS, code)


def event_label(code: str) -> str:
    return _label(EVENT_LABELS, code)


def window_label(code: str) -> str:
    return _label(WINDOW_LABELS, code)


def phone_owner_label(code: str | None) -> str:
    return _label(PHONE_OWNER_LABELS, code)


def delivery_label(code: str | None) -> str:
    return _label(DELIVERY_LABELS, code)


# Why a message did not arrive: our codes (grievance.notify) and Twilio's
# error codes as delivery callbacks report them ("twilio-<ErrorCode>").
DELIVERY_ERROR_LABELS = {
    "invalid-number": _l("The number is not valid."),
    "not-mobile": _l("The number cannot receive text messages."),
    "unreachable": _l("The phone could not be reached."),
    "unsubscribed": _l("The number unsubscribed from our messages at the provider."),
    "region-not-enabled": _l("Our account cannot send to this country."),
    "no-template": _l("No WhatsApp template is set up for this language."),
    "stopped": _l("The worker said STOP."),
    "whatsapp-window": _l("WhatsApp allows a reply only after the worker writes."),
    "invalid-address": _l("The e-mail address is not valid."),
    "network": _l("The provider could not be reached."),
    "twilio-error": _l("The provider refused the message."),
    "twilio-30003": _l("The phone was off or out of reach."),
    "twilio-30004": _l("The number blocks our messages."),
    "twilio-30005": _l("The number does not exist."),
    "twilio-30006": _l("The number is a landline, or its carrier cannot be reached."),
    "twilio-30007": _l("The carrier filtered the message."),
    "twilio-30008": _l("The carrier gave no reason."),
    "twilio-63016": _l("WhatsApp allows a reply only after the worker writes."),
}


def delivery_error_label(code: str | None) -> str:
    """A plain sentence for a known code; the code itself for any other."""
    if not code:
        return ""
    known = DELIVERY_ERROR_LABELS.get(code)
    if known is not None:
        return str(known)
    return gettext("Provider code %(code)s.", code=code)


# Prefectures by JIS code. Proper names, not phrases: shown in the staff
# member's language without going through the catalog.
PREFECTURES: tuple[tuple[str, str, str], ...] = (
    ("01", "北海道", "Hokkaido"),
    ("02", "青森県", "Aomori"),
    ("03", "岩手県", "Iwate"),
    ("04", "宮城県", "Miyagi"),
    ("05", "秋田県", "Akita"),
    ("06", "山形県", "Yamagata"),
    ("07", "福島県", "Fukushima"),
    ("08", "茨城県", "Ibaraki"),
    ("09", "栃木県", "Tochigi"),
    ("10", "群馬県", "Gunma"),
    ("11", "埼玉県", "Saitama"),
    ("12", "千葉県", "Chiba"),
    ("13", "東京都", "Tokyo"),
    ("14", "神奈川県", "Kanagawa"),
    ("15", "新潟県", "Niigata"),
    ("16", "富山県", "Toyama"),
    ("17", "石川県", "Ishikawa"),
    ("18", "福井県", "Fukui"),
    ("19", "山梨県", "Yamanashi"),
    ("20", "長野県", "Nagano"),
    ("21", "岐阜県", "Gifu"),
    ("22", "静岡県", "Shizuoka"),
    ("23", "愛知県", "Aichi"),
    ("24", "三重県", "Mie"),
    ("25", "滋賀県", "Shiga"),
    ("26", "京都府", "Kyoto"),
    ("27", "大阪府", "Osaka"),
    ("28", "兵庫県", "Hyogo"),
    ("29", "奈良県", "Nara"),
    ("30", "和歌山県", "Wakayama"),
    ("31", "鳥取県", "Tottori"),
    ("32", "島根県", "Shimane"),
    ("33", "岡山県", "Okayama"),
    ("34", "広島県", "Hiroshima"),
    ("35", "山口県", "Yamaguchi"),
    ("36", "徳島県", "Tokushima"),
    ("37", "香川県", "Kagawa"),
    ("38", "愛媛県", "Ehime"),
    ("39", "高知県", "Kochi"),
    ("40", "福岡県", "Fukuoka"),
    ("41", "佐賀県", "Saga"),
    ("42", "長崎県", "Nagasaki"),
    ("43", "熊本県", "Kumamoto"),
    ("44", "大分県", "Oita"),
    ("45", "宮崎県", "Miyazaki"),
    ("46", "鹿児島県", "Kagoshima"),
    ("47", "沖縄県", "Okinawa"),
)
_PREFECTURE_NAMES = {code: (ja, en) for code, ja, en in PREFECTURES}


def prefecture_label(code: str | None) -> str:
    if not code:
        return ""
    names = _PREFECTURE_NAMES.get(code)
    if names is None:
        return code
    return names[0] if current_language().code == "ja" else names[1]


TEMPLATE_GLOBALS = {
    "status_label": status_label,
    "urgency_label": urgency_label,
    "channel_label": channel_label,
    "contact_label": contact_label,
    "closure_label": closure_label,
    "review_label": review_label,
    "consent_label": consent_label,
    "party_label": party_label,
    "clock_label": clock_label,
    "urgency_reason_label": urgency_reason_label,
    "signal_label": signal_label,
    "event_label": event_label,
    "window_label": window_label,
    "phone_owner_label": phone_owner_label,
    "delivery_label": delivery_label,
    "delivery_error_label": delivery_error_label,
    "prefecture_label": prefecture_label,
}


def N_(message: str) -> str:  # noqa: N802 - the name gettext tools look for
    """Mark `message` for the staff catalog without translating it here."""
    return message


_CATALOGS: dict[tuple[str, str], NullTranslations] = {}


def _staff_catalog(code: str) -> NullTranslations:
    directory = current_app.config["BABEL_TRANSLATION_DIRECTORIES"]
    key = (directory, code)
    if key not in _CATALOGS:
        path = Path(directory) / code / "LC_MESSAGES" / "staff.mo"
        if path.exists():
            with path.open("rb") as fh:
                _CATALOGS[key] = Translations(fp=fh, domain="staff")
        else:
            _CATALOGS[key] = NullTranslations()
    return _CATALOGS[key]


def in_staff_languages(message: str, *, joiner: str = "\n\n", **variables: Any) -> str:
    """`message` in Japanese and English, for texts that leave the site.

    A page or a reminder reaches staff outside any request, so there is no
    chosen language: both staff languages are sent, Japanese first.
    """
    parts = [_staff_catalog(code).gettext(message) % variables for code in STAFF_LANGUAGES]
    unique = list(dict.fromkeys(parts))  # untranslated: say it once
    return joiner.join(unique)

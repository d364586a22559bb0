"""Turning a web report into a case: the service behind the report form.

The view parses and validates; this module decides urgency, seals what is
personal, records consent and links a given phone number to the case (so
the worker can continue by SMS or WhatsApp), all through the cases services.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from grievance import crypto
from grievance.cases import services as case_services
from grievance.cases.contact import ContactWishes
from grievance.cases.models import Attachment, Case, Consent, ConsentScope
from grievance.extensions import db
from grievance.i18n import gettext as _
from grievance.intake import gateway, zawgyi
from grievance.intake.models import Conversation
from grievance.intake.uploads import CleanFile


@dataclass
class WebReport:
    language: str
    narrative: str
    in_danger: bool
    categories: list[str] = field(default_factory=list)
    since: str | None = None
    prefecture: str | None = None
    industry: str | None = None
    residence_status: str | None = None
    employer: str = ""
    organisation: str = ""
    broker: str = ""
    contact_method: str = "web"
    phone: str | None = None  # E.164, already normalised
    email: str | None = None
    safe_windows: list[str] = field(default_factory=list)
    own_phone: str | None = None
    files: list[CleanFile] = field(default_factory=list)


def to_unicode(text: str, language: str) -> str:
    """Burmese typed in the legacy Zawgyi encoding becomes Unicode before storing."""
    if language != "my":
        return text
    return zawgyi.to_unicode(text)


def add_attachments(case: Case, files: list[CleanFile], message_id: int | None = None) -> None:
    for item in files:
        attachment = Attachment(
            data_key=case.data_key,
            case_id=case.id,
            message_id=message_id,
            content_type=item.content_type,
            size=len(item.data),
        )
        attachment.filename = item.filename
        attachment.data = item.data
        db.session.add(attachment)
    db.session.flush()


def link_phone(case: Case, channel: str, phone: str, language: str) -> None:
    """Later SMS or WhatsApp messages from this number continue this case."""
    index = crypto.phone_index(crypto.current_ring(), phone)
    conversation = db.session.scalar(
        select(Conversation).where(
            Conversation.channel == channel, Conversation.sender_index == index
        )
    )
    if conversation is None:
        conversation = Conversation(
            data_key=case.data_key, channel=channel, sender_index=index, language=language
        )
        db.session.add(conversation)
    draft = conversation.draft  # read under the key it was sealed with
    if conversation.data_key_id != case.data_key_id:
        # Re-seal the number (and the state) under this case's key: the old
        # key may be purged.
        conversation.data_key = case.data_key
    conversation.address = phone
    conversation.case_id = case.id
    conversation.step = "open"
    conversation.language = language
    conversation.draft = gateway.join_intake_to(conversation, case, draft)
    db.session.flush()


def submit_report(
    report: WebReport, issued: case_services.IssuedReceipt | None = None
) -> tuple[Case, case_services.Receipt]:
    """Open the case of a web report: in the request for a worker in danger,
    otherwise in the job of a held report (`issued`: its receipt)."""
    narrative = to_unicode(report.narrative, report.language)
    names = {
        "employer": to_unicode(report.employer.strip(), report.language),
        "organisation": to_unicode(report.organisation.strip(), report.language),
        "broker": to_unicode(report.broker.strip(), report.language),
    }
    wishes = ContactWishes(
        phone=report.phone if report.contact_method in ("sms", "whatsapp") else None,
        email=report.email if report.contact_method == "email" else None,
        safe_windows=report.safe_windows,
        own_phone=report.own_phone,
    )
    case, receipt = case_services.open_case(
        case_services.NewCase(
            language=report.language,
            narrative=narrative,
            channel="web",
            categories=report.categories,
            prefecture=report.prefecture,
            industry=report.industry,
            residence_status=report.residence_status,
            since=report.since,
            in_danger=report.in_danger,
            contact_method=report.contact_method,
            # Sealed with the case's first write, not updated after it.
            contact=wishes.to_dict(),
            intermediaries={k: v for k, v in names.items() if v} or None,
            issued=issued,
        )
    )
    db.session.add(Consent(case_id=case.id, scope=ConsentScope.STORE, method="web_tick"))
    if report.files:
        add_attachments(case, report.files)
    if wishes.phone and report.contact_method in ("sms", "whatsapp"):
        link_phone(case, report.contact_method, wishes.phone, report.language)
    db.session.flush()
    if report.contact_method in ("sms", "whatsapp", "email"):
        acknowledge(case)
    return case, receipt


def acknowledge(case: Case) -> None:
    """A neutral automatic acknowledgement on the channel the worker chose.

    It goes through the outbox like every message, so it is sent after the
    commit, only within the worker's safe hours, and never lost.
    """
    from grievance.cases import messaging
    from grievance.intake import sms_text

    with sms_text.in_language(case.language):
        text = _("Thank you. We have received your message.")
    messaging.send_to_worker(case, text, None, purpose="receipt")


def add_worker_message(case: Case, body: str, files: list[CleanFile]) -> None:
    """A message the worker wrote on the follow-up page joins the case thread."""
    from grievance.cases import messaging

    message = messaging.record_inbound(case, channel="web", body=body, provider_id=None)
    if files:
        add_attachments(case, files, message_id=message.id)

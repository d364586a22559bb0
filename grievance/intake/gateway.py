"""The SMS and WhatsApp gateway service: from a provider's message to a case.

Two units of work per inbound message, each committed by the caller:

1. `store_inbound` stores the message (sealed) under its provider id before
   anything else happens. The id is unique, so a redelivery stores nothing.
   The webhook does only this, then queues step 2 as a job
   (`handle_in_order`): the provider's request is answered at once, and a
   burst of messages waits in the queue, not in the web workers.
2. `handle_inbound` claims the stored message (once: an atomic update of
   `processed_at`), runs the conversation, opens or continues the case,
   queues the replies in the outbox and erases the stored body.

If step 2 fails, the message stays stored and unclaimed: the job's retry,
the provider's redelivery or the periodic round (`left_over`) runs step 2
again. Nothing is lost and nothing is done twice. Phone numbers are kept
only sealed and as a keyed blind index; nothing here logs a number or a
text.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Executable, bindparam, insert, null, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from grievance import crypto
from grievance.cases import audit, messaging
from grievance.cases import services as case_services
from grievance.cases.contact import ContactWishes
from grievance.cases.models import Case, Consent, ConsentScope
from grievance.datakeys import DataKey, KeyAtHand, utcnow
from grievance.extensions import bound, commit, db, row_lock
from grievance.intake import conversation as dialog
from grievance.intake import sms_text, zawgyi
from grievance.intake.models import WAITING_SQL, Conversation, InboundMessage
from grievance.notify import outbox
from grievance.notify.jobs import run_woken
from grievance.short_writes import Unit

log = logging.getLogger(__name__)

CHANNELS = ("sms", "whatsapp")
MAX_BODY = 5000  # characters kept of one message; Twilio's limit is 1600


class GatewayError(Exception):
    """Base of the gateway's errors."""


class InvalidSender(GatewayError):  # noqa: N818 - reads as the situation it names
    """The sender is not a phone number we can answer."""


@dataclass(frozen=True)
class Inbound:
    """What we keep of a provider's request: nothing but these four fields."""

    provider_id: str
    channel: str  # sms | whatsapp
    sender: str  # as the provider gave it ("whatsapp:+81...", "+81...")
    body: str
    media: int = 0  # photos or files attached
    media_urls: tuple[str, ...] = ()  # our account's media addresses among them


def _timeout() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("CONVERSATION_TIMEOUT_SECONDS", 7200)))


_KEY_COLUMNS = ("id", "kek_id", "wrapped", "created_at")
_CONVERSATION_COLUMNS = (
    "uid", "channel", "sender_index", "step", "stopped", "created_at", "updated_at", "address_ct",
)  # fmt: skip
_MESSAGE_COLUMNS = (
    "uid", "data_key_id", "provider_id", "channel", "received_at",
    "media_count", "media_discard", "body_ct", "media_ct",
)  # fmt: skip


@functools.cache
def _next_message_statements() -> tuple[Executable, Executable]:
    """A message from a number we know: its conversation's id and data key
    (plain columns, one query), then the message's INSERT; built once (see
    `grievance.extensions.column_rows`), as every inbound message runs them.

    Without the ORM: loading the conversation and flushing a new message
    through the unit of work cost about half of the webhook's request
    (measured in-process), for one SELECT and one INSERT.
    """
    conversations, keys = Conversation.__table__, DataKey.__table__
    messages = InboundMessage.__table__
    look_up = (
        select(conversations.c.id, keys.c.id, keys.c.kek_id, keys.c.wrapped)
        .join(keys, keys.c.id == conversations.c.data_key_id)
        .where(
            conversations.c.channel == bindparam("channel"),
            conversations.c.sender_index == bindparam("sender_index"),
        )
    )
    row = bound(messages, [*_MESSAGE_COLUMNS, "conversation_id"])
    return look_up, insert(messages).values(row).returning(messages.c.id)


# A redelivered message: the id it was stored under.
_STORED_ALREADY = select(InboundMessage.id).where(
    InboundMessage.provider_id == bindparam("provider_id")
)


@functools.cache
def _first_message_statements() -> tuple[Executable, ...]:
    """A first message from a number in three statements, SQLite's way (it
    cannot put an INSERT in a WITH, and its statements cost no round trip):
    the data key, the conversation under it and the message, built once
    (values bound when they run)."""
    keys, conversations = DataKey.__table__, Conversation.__table__
    messages = InboundMessage.__table__
    conversation = bound(conversations, _CONVERSATION_COLUMNS, "conversation_")
    message = bound(messages, _MESSAGE_COLUMNS, "message_")
    conversation["data_key_id"] = message["data_key_id"]
    message.update(bound(messages, ["conversation_id"]))
    return (
        insert(keys).values(bound(keys, _KEY_COLUMNS, "key_")),
        insert(conversations).values(conversation).returning(conversations.c.id),
        insert(messages).values(message).returning(messages.c.id),
    )


@functools.cache
def _look_up_or_store_first() -> Executable:
    """PostgreSQL: a first message from a number stored with its new data
    key and conversation, or (the number is known) its conversation looked
    up, in one statement.

    The conversation is inserted unless the number has one, which the
    conversations' unique (channel, sender_index) index tells (ON CONFLICT
    DO NOTHING); the key and the message only with a conversation inserted
    (the foreign keys are checked when the statement ends). One row comes
    back: the stored message's id, or the known conversation's id and data
    key, for the message's INSERT under that key
    (`_next_message_statements`). No row: the number's first conversation
    was stored by another request a moment ago, after this statement
    began; the caller looks again.

    A first message, as most are in a burst of new reports, so costs one
    round trip instead of two, and never searches the conversations by a
    query: planned while the table was small (a new deployment), such a
    query went on scanning the whole table as the burst filled it (0.7 ms
    at 7,000 conversations). A message from a known number costs what it
    did, plus sealing it under a key that is then not used (tens of
    microseconds).
    """
    keys, conversations = DataKey.__table__, Conversation.__table__
    messages = InboundMessage.__table__
    key = bound(keys, _KEY_COLUMNS, "key_")
    conversation = bound(conversations, _CONVERSATION_COLUMNS, "conversation_")
    message = bound(messages, _MESSAGE_COLUMNS, "message_")
    new_conversation = (
        pg_insert(conversations)
        .values({**conversation, "data_key_id": key["id"]})
        .on_conflict_do_nothing(
            index_elements=[conversations.c.channel, conversations.c.sender_index]
        )
        .returning(conversations.c.id, conversations.c.data_key_id)
        .cte("new_conversation")
    )
    stored_key = insert(keys).from_select(
        list(key),
        select(new_conversation.c.data_key_id, key["kek_id"], key["wrapped"], key["created_at"]),
    )
    stored_message = (
        insert(messages)
        .from_select(
            [*message, "conversation_id"], select(*message.values(), new_conversation.c.id)
        )
        .returning(messages.c.id)
        .cte("stored_message")
    )
    known = (
        select(null(), conversations.c.id, keys.c.id, keys.c.kek_id, keys.c.wrapped)
        .join(keys, keys.c.id == conversations.c.data_key_id)
        .where(
            ~select(new_conversation.c.id).exists(),
            conversations.c.channel == conversation["channel"],
            conversations.c.sender_index == conversation["sender_index"],
        )
    )
    stored = select(stored_message.c.id, null(), null(), null(), null())
    return stored.union_all(known).add_cte(stored_key.cte("stored_key"))


def _sealed_message(key: KeyAtHand, uid: str, message: Inbound) -> tuple[bytes, bytes | None]:
    """The stored message's words and its photos' addresses, sealed."""
    media = json.dumps(list(message.media_urls)) if message.media_urls else None
    body = key.seal(InboundMessage, "body", uid, message.body[:MAX_BODY])
    return body, key.seal(InboundMessage, "media", uid, media) if media is not None else None


def _first_values(message: Inbound, e164: str, index: str, now: datetime) -> dict[str, Any]:
    """A first message's rows (its new data key, its conversation and
    itself), sealed as the ORM reads them, under the rows' uids and the new
    key; values for the first-message statements."""
    key = KeyAtHand.new()
    conversation_uid, message_uid = crypto.new_uid(), crypto.new_uid()
    body, media = _sealed_message(key, message_uid, message)
    return {
        "key_id": key.id,
        "key_kek_id": key.kek_id,
        "key_wrapped": key.wrapped,
        "key_created_at": now,
        "conversation_uid": conversation_uid,
        "conversation_channel": message.channel,
        "conversation_sender_index": index,
        "conversation_step": str(dialog.Step.NEW),
        "conversation_stopped": False,
        "conversation_created_at": now,
        "conversation_updated_at": now,
        "conversation_address_ct": key.seal(Conversation, "address", conversation_uid, e164),
        "message_uid": message_uid,
        "message_data_key_id": key.id,
        "message_provider_id": message.provider_id,
        "message_channel": message.channel,
        "message_received_at": now,
        "message_media_count": message.media,
        "message_media_discard": False,
        "message_body_ct": body,
        "message_media_ct": media,
    }


def _store_first(unit: Unit, values: dict[str, Any]) -> int:
    """Store a first message from a number with its new conversation, in
    three statements (SQLite's way); the message's id."""
    key_insert, conversation_insert, message_insert = _first_message_statements()
    unit.execute(key_insert, values)
    values["conversation_id"] = unit.scalar(conversation_insert, values)
    return int(unit.scalar(message_insert, values))


def store_inbound(message: Inbound, unit: Unit, *, look_first: bool = True) -> int:
    """Store one inbound message in `unit` (a `short_writes.unit`);
    returns its id (the earlier copy's for a message stored already).

    A duplicate (a redelivery, or the same message twice at once) raises
    IntegrityError as its INSERT runs; the caller calls again in a new unit
    and then finds the first one. On SQLite so does the same number's first
    message twice at once (the unique (channel, sender_index)), as at a
    flush; on PostgreSQL the second finds the first's conversation.
    `look_first=False` skips looking for it before storing: nearly every
    message is new, and the unique provider id catches the rest, so the
    webhook's first try saves that query.
    """
    if look_first:
        existing = unit.scalar(_STORED_ALREADY, {"provider_id": message.provider_id})
        if existing is not None:
            return existing
    try:
        e164 = crypto.normalise_phone(message.sender)
    except crypto.InvalidPhoneNumberError:
        raise InvalidSender from None
    index = crypto.blind_index(crypto.current_ring(), e164, "phone")
    look_up, message_insert = _next_message_statements()
    found = None
    if unit.dialect_name == "postgresql":
        values = _first_values(message, e164, index, utcnow())
        rows = unit.rows(_look_up_or_store_first(), values)
        if rows and rows[0][0] is not None:
            return int(rows[0][0])
        # Known: the statement's look-up. No row: the conversation was
        # stored by another request since the statement began; looked up
        # again below.
        found = rows[0][1:] if rows else None
    if found is None:
        rows = unit.rows(look_up, {"channel": message.channel, "sender_index": index})
        if not rows:
            return _store_first(unit, _first_values(message, e164, index, utcnow()))
        found = rows[0]
    conversation_id, key_id, kek_id, wrapped = found
    # Under the conversation's key, as the ORM reads them.
    key = KeyAtHand.stored(key_id, kek_id, wrapped)
    uid = crypto.new_uid()
    body, media = _sealed_message(key, uid, message)
    values = {
        "uid": uid,
        "data_key_id": key_id,
        "provider_id": message.provider_id,
        "channel": message.channel,
        "received_at": utcnow(),
        "media_count": message.media,
        "media_discard": False,
        "body_ct": body,
        "media_ct": media,
        "conversation_id": conversation_id,
    }
    return int(unit.scalar(message_insert, values))


def _load_state(conversation: Conversation) -> dialog.State:
    if conversation.draft:
        state = dialog.State.from_dict(json.loads(conversation.draft))
    else:
        # A conversation linked from the web form has no draft: it is open.
        state = dialog.State(step=conversation.step, language=conversation.language)
        state.has_case = conversation.case_id is not None
    state.stopped = conversation.stopped
    if state.has_case and conversation.case_id is None:
        # The case was purged: start afresh, keeping only the language.
        state = dialog.State(language=state.language, stopped=conversation.stopped)
    return state


def _save_state(conversation: Conversation, state: dialog.State) -> None:
    conversation.step = state.step
    conversation.language = state.language
    conversation.stopped = state.stopped
    if state.own_phone is not None:
        conversation.own_phone = state.own_phone == "own"
    conversation.draft = json.dumps(state.to_dict(), ensure_ascii=False)


def _hours(state: dialog.State) -> list[tuple[int, int]] | None:
    return messaging.allowed_hours(ContactWishes(safe_windows=state.windows))


def _open_case(
    conversation: Conversation, state: dialog.State, e164: str
) -> tuple[Case, case_services.Receipt]:
    may_write = bool(state.may_write)
    case, receipt = case_services.open_case(
        case_services.NewCase(
            language=state.language or "en",
            narrative=state.said,
            channel=conversation.channel,
            categories=state.categories,
            prefecture=state.prefecture,
            # "Never write first": replies wait until the worker writes again.
            contact_method=conversation.channel if may_write else "web",
        )
    )
    case.contact = ContactWishes(
        phone=e164, safe_windows=state.windows, own_phone=state.own_phone
    ).to_json()
    # The conversation now lives under the case's key, so purging the case
    # also makes the number unreadable.
    conversation.data_key = case.data_key
    conversation.address = e164
    conversation.case_id = case.id
    # The "1" to "may we keep what you write?", before the story was told.
    db.session.add(Consent(case_id=case.id, scope=ConsentScope.STORE, method="message_yes"))
    state.early, state.narrative = [], []
    db.session.flush()
    return case, receipt


def _apply(
    conversation: Conversation,
    outcome: dialog.Outcome,
    e164: str,
    row: InboundMessage | None,
    now: datetime,
) -> list[tuple[dialog.Reply, dict[str, str]]]:
    """Carry out the conversation's actions for one stored message (None for
    the sweeper's); the replies with their parameters."""
    state = outcome.state
    index = outbox.address_index(conversation.channel, e164)
    assert index is not None
    case = db.session.get(Case, conversation.case_id) if conversation.case_id else None
    params: dict[str, str] = {}
    provider_id = row.provider_id if row is not None else None
    row_id = row.id if row is not None else None
    for action in outcome.actions:
        if action is dialog.Action.STOP:
            outbox.stop_address(index)
            if case is not None:
                audit.record("contact.stopped", case_id=case.id, detail={"channel": case.channel})
        elif action is dialog.Action.START:
            outbox.start_address(index)
            if case is not None:
                audit.record("contact.started", case_id=case.id, detail={"channel": case.channel})
        elif action is dialog.Action.SET_LANGUAGE:
            if case is not None and state.language:
                case.language = state.language
        elif action is dialog.Action.OPEN_CASE:
            case, receipt = _open_case(conversation, state, e164)
            _fetch_waiting_media(conversation, now, but=row_id)
            outbox.set_allowed_hours(index, _hours(state))
            params["reference"] = receipt.reference
            if state.own_phone == "own":
                # The secret only to a phone the worker says is their own.
                params["secret"] = receipt.secret
        elif action is dialog.Action.FORGET_DRAFT:
            _drop_waiting_media(conversation, but=row_id)
        elif action is dialog.Action.ADD_TO_CASE and case is not None and outcome.text:
            message = messaging.record_inbound(
                case, conversation.channel, outcome.text, provider_id
            )
            _answers_to_questions(case, message, outcome.text, conversation.channel)
            messaging.deliver_waiting(case, conversation.channel, e164)
    if case is not None:
        params.setdefault("reference", case_services.format_code(case.reference))
        params["status"] = case.status
    return [(reply, params) for reply in outcome.replies]


def _waiting_media(conversation: Conversation, but: int | None) -> list[InboundMessage]:
    query = select(InboundMessage).where(
        InboundMessage.conversation_id == conversation.id,
        InboundMessage.media_ct.is_not(None),
        InboundMessage.media_discard.is_(False),
        # Only those handled already: a later message stored but still
        # waiting for its job is handled in its turn, words and photos.
        InboundMessage.processed_at.is_not(None),
    )
    if but is not None:
        query = query.where(InboundMessage.id != but)
    return list(db.session.scalars(query))


def _fetch_waiting_media(conversation: Conversation, now: datetime, but: int | None) -> None:
    """The case is open: fetch the photos sent during the intake into it.

    Their clock starts again now, so the periodic round (which takes rows
    left waiting for RETRY_AFTER) does not fetch them beside this job.
    """
    from grievance.intake import media

    for row in _waiting_media(conversation, but):
        row.processed_at = now
        media.fetch_after_commit(row)


def _drop_waiting_media(conversation: Conversation, but: int | None) -> None:
    """The intake's words were forgotten (NEW, or no agreement to keep them):
    so are the photos that waited for its case."""
    from grievance.intake import media

    for row in _waiting_media(conversation, but):
        media.discard(row)


def _media(
    conversation: Conversation,
    row: InboundMessage,
    state: dialog.State,
    replies: list[tuple[dialog.Reply, dict[str, str]]],
) -> None:
    """Photos or files came with the message. For an open case they are
    fetched into it after the commit (grievance.intake.media). During an
    intake the worker agreed to keep, their (sealed) addresses wait for the
    case it opens. Before that agreement, or without Twilio, they are not
    kept (only deleted at Twilio): say so, and where a case is open let the
    caseworker see that some came."""
    from grievance.intake import media

    fetching = media.fetching()
    # After NEW the conversation still names the last case until the next
    # one opens: photos sent meanwhile belong to the new intake.
    case_id = conversation.case_id if state.step == dialog.Step.OPEN else None
    if row.media and fetching:
        if case_id is not None:
            # The job also counts those beyond the limit, as for photos
            # that waited for their case.
            media.fetch_after_commit(row)
            return
        if dialog.keeps_media(state):
            # Once per story: every text is one more message on a phone
            # others may read.
            if not state.told_media_held:
                state.told_media_held = True
                replies.append((dialog.Reply("media_held"), {}))
            return
    media.discard(row)
    if case_id is not None:
        audit.record(
            "message.media_not_kept",
            case_id=case_id,
            detail={"count": row.media_count},
        )
    elif fetching and state.store_consent is not True:
        # Twilio could bring them, but the worker has not yet agreed that we
        # keep anything: they may send them again once they have.
        replies.append((dialog.Reply("media_after_consent"), {}))
        return
    replies.append((dialog.Reply("media_not_kept"), {}))


def join_intake_to(conversation: Conversation, case: Case, draft: str | None) -> str | None:
    """A web report has just linked this phone to `case` (grievance.intake.web);
    `draft` is the conversation's state as it was. Returns the state to keep.

    An intake the worker had begun here would otherwise go on by itself, and
    their next message (maybe an answer to the web report's acknowledgement)
    would be taken for an answer to its question. What they agreed to let us
    keep joins the case as their message, with the photos that waited for
    it; without that agreement it is forgotten. A finished intake's state
    is kept as it was.
    """
    if not draft:
        return None
    state = dialog.State.from_dict(json.loads(draft))
    if state.step not in dialog.INTAKE_STEPS:
        return draft
    if state.store_consent is True:
        if state.said:
            messaging.record_inbound(case, conversation.channel, state.said)
        _fetch_waiting_media(conversation, utcnow(), but=None)
    else:
        _drop_waiting_media(conversation, but=None)
    return None


def _answers_to_questions(case: Any, message: Any, text: str, channel: str) -> None:
    """A YES to an open consent question, or three numbers to the open survey.

    The message itself stays in the thread either way: it is the evidence.
    """
    from grievance.cases import consent, resolution

    if consent.is_yes(text) and consent.record_message_yes(case, message.id) is not None:
        return
    resolution.record_survey_reply(case, text, via=channel)


def _queue_replies(
    conversation: Conversation,
    replies: list[tuple[dialog.Reply, dict[str, str]]],
    e164: str,
) -> None:
    language = conversation.language
    for reply, params in replies:
        text = sms_text.render(reply, language, **params)
        outbox.queue_text(
            channel=conversation.channel,
            recipient=e164,
            body=text,
            purpose="receipt" if reply.key == "receipt" else "dialog",
            data_key=conversation.data_key,  # type: ignore[arg-type]
            case_id=conversation.case_id,
            language=language,
        )


def _lock(conversation_id: int) -> Conversation | None:
    # Two messages from one sender are handled one after the other.
    return db.session.get(
        Conversation,
        conversation_id,
        with_for_update=row_lock(Conversation),
        populate_existing=True,
    )


def handle_inbound(stored_id: int, now: datetime | None = None) -> bool:
    """Run the conversation for one stored message; False if it was handled before."""
    now = now or utcnow()
    claimed = db.session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == stored_id, InboundMessage.processed_at.is_(None))
        .values(processed_at=now)
    ).rowcount
    if not claimed:
        return False
    row = db.session.get(InboundMessage, stored_id)
    assert row is not None
    conversation = _lock(row.conversation_id)
    assert conversation is not None
    e164 = conversation.address or ""
    text = zawgyi.to_unicode(row.body or "")
    row.body = None  # from here on it lives in the case or the draft
    # Every message from the worker reopens WhatsApp's window and shows
    # they hold the phone now.
    index = outbox.address_index(conversation.channel, e164)
    if index is not None:
        outbox.note_inbound(index, conversation.channel, now)
    conversation.last_inbound_at = now
    state = _load_state(conversation)
    outcome = dialog.receive(state, text, now, sms_text.menus(), _timeout())
    replies = _apply(conversation, outcome, e164, row, now)
    if row.media_count:
        _media(conversation, row, outcome.state, replies)
    _save_state(conversation, outcome.state)
    db.session.flush()
    _queue_replies(conversation, replies, e164)
    return True


def handle_in_order(stored_id: int) -> int:
    """Job: handle a stored message, after any earlier one from the same
    sender still waiting; how many this call handled.

    The webhook only stores and queues this; two jobs for one sender may
    run at once on different workers, so each takes the waiting messages
    oldest first, and a message another job claimed is skipped (its claim
    waits for that job's commit, so order is kept).
    """
    conversation_id = db.session.scalar(
        select(InboundMessage.conversation_id).where(InboundMessage.id == stored_id)
    )
    if conversation_id is None:
        return 0
    waiting = db.session.scalars(
        select(InboundMessage.id)
        .where(InboundMessage.conversation_id == conversation_id)
        .where(InboundMessage.processed_at.is_(None))
        .where(InboundMessage.id <= stored_id)
        .order_by(InboundMessage.id)
    ).all()
    handled = 0
    for waiting_id in waiting:
        if handle_inbound(waiting_id):
            commit()
            handled += 1
        else:
            db.session.rollback()
    return handled


handle_in_order.queue = "urgent"  # type: ignore[attr-defined]

# The webhook wakes this job rather than queueing one a message: one run
# takes the messages waiting, BATCH at a time, for up to RUN_FOR seconds.
WAITING_JOB = "handle_waiting_inbound"
BATCH = 50
RUN_FOR = 5.0


def handle_waiting(now: datetime | None = None) -> str:
    """Job (woken by the webhook): handle the stored messages waiting,
    oldest first, each sender's in order (`handle_in_order`); another run
    if time ran out first.

    A message whose handling fails is rolled back (logged with its id and
    the error's type), left for the periodic round, and the run goes on
    past it. Messages older than LEFT_OVER_FOR are not tried again. The
    count is of the messages whose call handled something (a call may also
    handle an earlier message of the same sender).
    """
    since = (now or utcnow()) - LEFT_OVER_FOR

    def waiting_after(after: int) -> Sequence[int]:
        return db.session.scalars(
            select(InboundMessage.id)
            .where(text(WAITING_SQL), InboundMessage.id > after)
            .where(InboundMessage.received_at > since)
            .order_by(InboundMessage.id)
            .limit(BATCH)
        ).all()

    handled, more = run_woken(
        WAITING_JOB,
        waiting_after,
        lambda stored_id: handle_in_order(stored_id) > 0,
        "stored message",
        batch=BATCH,
        run_for=RUN_FOR,
    )
    return f"handled {handled}" + (", more waiting" if more else "")


handle_waiting.queue = "urgent"  # type: ignore[attr-defined]


# Stored but not handled this long after it came (handling failed, and the
# provider did not come back: Twilio's default is to retry only a failed
# connection, not an error answer): the periodic round handles it, for a day.
LEFT_OVER_AFTER = timedelta(minutes=2)
LEFT_OVER_FOR = timedelta(days=1)


def left_over(now: datetime | None = None, limit: int = 50) -> list[int]:
    """Ids of stored messages nobody handled, oldest first."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(InboundMessage.id)
            .where(InboundMessage.processed_at.is_(None))
            .where(InboundMessage.received_at < now - LEFT_OVER_AFTER)
            .where(InboundMessage.received_at > now - LEFT_OVER_FOR)
            .order_by(InboundMessage.id)
            .limit(limit)
        )
    )


def expire_conversations(now: datetime | None = None) -> int:
    """Open cases for intakes abandoned past the timeout; how many were opened.

    Run by the sweeper; also lazily when the worker writes again.
    """
    now = now or utcnow()
    timeout = _timeout()
    ids = db.session.scalars(
        select(Conversation.id)
        .where(Conversation.step.in_([str(step) for step in dialog.INTAKE_STEPS]))
        .where(Conversation.updated_at < now - timeout)
        .limit(200)
    ).all()
    opened = 0
    for conversation_id in ids:
        conversation = _lock(conversation_id)
        if conversation is None:
            continue
        state = _load_state(conversation)
        outcome = dialog.expire(state, now, timeout)
        if dialog.Action.OPEN_CASE not in outcome.actions:
            # Nothing to keep (nothing said, or no agreement to keep it):
            # save what is left, and do not look at it every minute.
            if dialog.Action.FORGET_DRAFT in outcome.actions:
                _drop_waiting_media(conversation, but=None)
            _save_state(conversation, outcome.state)
            conversation.updated_at = now
            continue
        e164 = conversation.address or ""
        replies = _apply(conversation, outcome, e164, None, now)
        if conversation.stopped:
            replies = []
        _save_state(conversation, outcome.state)
        db.session.flush()
        _queue_replies(conversation, replies, e164)
        opened += 1
    return opened

"""Writing outbound messages to the outbox, in the caller's transaction.

The row is the promise: once the transaction commits, the message will be
sent (by the job enqueued after commit, or by the sweeper if that enqueue
is lost). If the transaction rolls back, nothing is sent.
"""

from __future__ import annotations

from grievance.datakeys import DataKey
from grievance.extensions import after_commit, db
from grievance.notify import dispatch
from grievance.notify.models import OutboundMessage


def queue_message(
    *,
    channel: str,
    recipient: str,
    body: str,
    purpose: str,
    data_key: DataKey,
    case_id: int | None = None,
    message_id: int | None = None,
) -> OutboundMessage:
    """Add an outbound message to the outbox; delivery starts after commit."""
    row = OutboundMessage(
        data_key=data_key,
        channel=channel,
        purpose=purpose,
        case_id=case_id,
        message_id=message_id,
    )
    row.recipient = recipient
    row.body = body
    db.session.add(row)
    db.session.flush()
    row_id = row.id
    after_commit(lambda: dispatch.enqueue("deliver_outbound", row_id))
    return row

"""Every model, imported in one place for Alembic and the CLI."""

from grievance.cases.models import (  # noqa: F401
    AggregateCount,
    Attachment,
    AuditHead,
    CannedResponse,
    Case,
    CaseClock,
    CaseEvent,
    CaseViewCount,
    Category,
    Consent,
    IloIndicator,
    Message,
    Partner,
    Referral,
    ReferralUpdate,
    ResidenceStatus,
    Setting,
    UrgencyLevel,
)
from grievance.cases.referral_models import (  # noqa: F401
    ConsentRequest,
    Escalation,
    PartnerSmsContact,
)
from grievance.cases.workspace_models import CaseParty, CaseReminder  # noqa: F401
from grievance.datakeys import DataKey  # noqa: F401
from grievance.intake.models import Conversation, InboundMessage  # noqa: F401
from grievance.notify.models import ContactRule, OutboundMessage  # noqa: F401
from grievance.reports.models import ReportRollup, ReportRollupRun  # noqa: F401
from grievance.staff.models import StaffUser  # noqa: F401

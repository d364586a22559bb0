"""What admins change: staff accounts, categories, languages, canned
responses, the on-call list, retention and the public statistics switch.

Every change flushes and writes one audit event with ids and codes only
(never an e-mail address, a name or a text); the view commits. Refusals
raise `AdminError` with a message for the admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from grievance.cases import audit, settings
from grievance.cases.models import CannedResponse, Category, Partner
from grievance.extensions import db
from grievance.i18n import BY_CODE
from grievance.i18n import lazy_gettext as _l
from grievance.staff import services
from grievance.staff.models import Role, StaffUser

ON_CALL_ROLES = (Role.ADMIN, Role.CASEWORKER)


class AdminError(Exception):
    """A change the admin asked for was refused; `message` says why."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def _record(kind: str, actor: StaffUser, **detail: Any) -> None:
    audit.record(kind, actor_id=actor.id, detail=detail)


# -- staff accounts ----------------------------------------------------------------


def create_staff_account(
    actor: StaffUser,
    email: str,
    role: str,
    partner_code: str | None = None,
    display_name: str = "",
) -> services.NewAccount:
    """A new account with a one-time password and a TOTP secret, both
    returned once for the admin to hand over; neither is shown again."""
    email = email.strip().lower()
    if role not in {r.value for r in Role}:
        raise AdminError(_l("Choose a role from the list."))
    partner_id = None
    if role == Role.ADVISOR:
        if not partner_code:
            raise AdminError(_l("An advisor belongs to a partner: choose one."))
        partner_id = db.session.scalar(select(Partner.id).where(Partner.code == partner_code))
        if partner_id is None:
            raise AdminError(_l("Choose a partner from the list."))
    if "@" not in email:
        raise AdminError(_l("Enter an e-mail address."))
    if services.find_by_email(email) is not None:
        raise AdminError(_l("An account with this e-mail address exists already."))
    account = services.create_user(email, role, partner_id, display_name=display_name.strip())
    _record(
        "admin.staff_created",
        actor,
        staff_id=account.user.id,
        role=role,
        partner_id=partner_id,
    )
    return account


def _not_self(actor: StaffUser, user: StaffUser) -> None:
    if user.id == actor.id:
        raise AdminError(_l("You cannot do this to your own account."))


def disable_staff_account(actor: StaffUser, user: StaffUser) -> None:
    """Disable the account and end every session it has, on the server."""
    _not_self(actor, user)
    services.set_disabled(user, True)
    user.on_call = False
    _record("admin.staff_disabled", actor, staff_id=user.id)


def enable_staff_account(actor: StaffUser, user: StaffUser) -> None:
    services.set_disabled(user, False)
    _record("admin.staff_enabled", actor, staff_id=user.id)


def reset_staff_two_factor(actor: StaffUser, user: StaffUser) -> None:
    """A new TOTP secret the user enrols at their next login; sessions end."""
    _not_self(actor, user)
    services.reset_two_factor(user)
    _record("admin.two_factor_reset", actor, staff_id=user.id)


def set_on_call(actor: StaffUser, on_call_ids: set[int]) -> int:
    """Exactly these (enabled caseworkers and admins) are on call; returns changes."""
    users = list(
        db.session.scalars(
            select(StaffUser).where(StaffUser.role.in_(ON_CALL_ROLES)).order_by(StaffUser.id)
        )
    )
    eligible = {user.id for user in users if not user.disabled}
    if not on_call_ids <= eligible:
        raise AdminError(_l("Only enabled caseworkers and admins can be on call."))
    changed = 0
    for user in users:
        wanted = user.id in on_call_ids
        if user.on_call != wanted:
            user.on_call = wanted
            changed += 1
            _record("admin.on_call_changed", actor, staff_id=user.id, on_call=wanted)
    db.session.flush()
    return changed


# -- categories, languages, canned responses ----------------------------------------------


@dataclass(frozen=True)
class CategoryChange:
    code: str
    enabled: bool
    position: int


def update_categories(actor: StaffUser, changes: list[CategoryChange]) -> int:
    """Switch categories on or off and set their order; returns how many changed."""
    categories = {c.code: c for c in db.session.scalars(select(Category))}
    if any(change.code not in categories for change in changes):
        raise AdminError(_l("Unknown category."))
    if changes and not any(change.enabled for change in changes):
        raise AdminError(_l("Keep at least one category enabled."))
    changed = 0
    for change in changes:
        category = categories[change.code]
        if category.enabled == change.enabled and category.position == change.position:
            continue
        category.enabled = change.enabled
        category.position = change.position
        changed += 1
        _record(
            "admin.category_changed",
            actor,
            code=change.code,
            enabled=change.enabled,
            position=change.position,
        )
    db.session.flush()
    return changed


def set_enabled_languages(actor: StaffUser, codes: list[str]) -> None:
    if not codes:
        raise AdminError(_l("Keep at least one language enabled."))
    if any(code not in BY_CODE for code in codes):
        raise AdminError(_l("Unknown language."))
    ordered = [code for code in BY_CODE if code in set(codes)]
    settings.put_value(settings.ENABLED_LANGUAGES, ordered)
    _record("admin.languages_changed", actor, enabled=ordered)


@dataclass(frozen=True)
class CannedText:
    language: str
    title: str
    body: str
    position: int = 0
    active: bool = True


def save_canned_response(
    actor: StaffUser, text: CannedText, response: CannedResponse | None = None
) -> CannedResponse:
    """Create a canned response, or change `response`. The audit event names
    its id and language, not its text."""
    if text.language not in BY_CODE:
        raise AdminError(_l("Unknown language."))
    if not text.title.strip() or not text.body.strip():
        raise AdminError(_l("Give the response a title and a text."))
    created = response is None
    if response is None:
        response = CannedResponse(language=text.language, title="", body="")
        db.session.add(response)
    response.language = text.language
    response.title = text.title.strip()
    response.body = text.body.strip()
    response.position = text.position
    response.active = text.active
    db.session.flush()
    _record(
        "admin.canned_created" if created else "admin.canned_changed",
        actor,
        canned_id=response.id,
        language=response.language,
        active=response.active,
    )
    return response


def canned_counts() -> dict[str, int]:
    """Active canned responses per language."""
    rows = db.session.execute(
        select(CannedResponse.language, func.count())
        .where(CannedResponse.active.is_(True))
        .group_by(CannedResponse.language)
    )
    return {language: int(n) for language, n in rows}


# -- retention and publication ---------------------------------------------------------


def set_retention_days(actor: StaffUser, days: int) -> None:
    """Keep closed cases this many days; the daily purge uses it from then on."""
    if not settings.MIN_RETENTION_DAYS <= days <= settings.MAX_RETENTION_DAYS:
        raise AdminError(
            _l(
                "Choose between %(low)s and %(high)s days.",
                low=settings.MIN_RETENTION_DAYS,
                high=settings.MAX_RETENTION_DAYS,
            )
        )
    previous = settings.retention_days()
    if previous == days and settings.get_value(settings.RETENTION_DAYS) == days:
        return
    settings.put_value(settings.RETENTION_DAYS, days)
    _record("admin.retention_changed", actor, days=days, previous=previous)


def set_public_stats(actor: StaffUser, enabled: bool) -> None:
    if settings.public_stats_enabled() == enabled:
        return
    settings.put_value(settings.PUBLIC_STATS, enabled)
    _record("admin.public_stats_changed", actor, enabled=enabled)

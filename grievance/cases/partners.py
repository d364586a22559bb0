"""The partner directory: lawyers, unions, government bodies, NGOs, embassies.

Admins keep it through /admin/partners; it is imported and exported as CSV
in the format of grievance/seed/partners.csv (the domain brief's file):

    org_code,name,sector,type,pref_code,prefecture,scope,languages,
    accepts_categories,anonymous_ok,is_fictional,notes

That format has no columns for eligibility, immigration exposure, the
notification address or whether the entry is active. On import those are
derived as the seed loader derives them (eligibility and exposure from the
type and the notes, e.g. "TITP only", "enforcement-risk flag"); on export
they are written back into the notes with the same words, so an export
imports again to the same directory. A "full" export adds the columns
`kind,eligibility,immigration_exposure,notify_email,active`, which an
import honours when present.

Import is all or nothing: one bad row and nothing changes; the report names
each bad line and column (never its content).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from grievance import crypto, reference_cache
from grievance.cases import audit
from grievance.cases.models import Category, Partner, ResidenceStatus
from grievance.cases.referral_models import PartnerSmsContact
from grievance.cases.routing import MULTILINGUAL, PartnerProfile
from grievance.datakeys import DataKey
from grievance.extensions import db
from grievance.i18n import lazy_gettext as _l
from grievance.staff.models import StaffUser

SEED_COLUMNS = (
    "org_code",
    "name",
    "sector",
    "type",
    "pref_code",
    "prefecture",
    "scope",
    "languages",
    "accepts_categories",
    "anonymous_ok",
    "is_fictional",
    "notes",
)
EXTRA_COLUMNS = ("kind", "eligibility", "immigration_exposure", "notify_email", "active")

KINDS = ("lawyer", "union", "government", "ngo", "embassy", "other")
KIND_LABELS = {
    "lawyer": _l("Lawyer"),
    "union": _l("Union"),
    "government": _l("Government body"),
    "ngo": _l("NGO"),
    "embassy": _l("Embassy"),
    "other": _l("Other"),
}
SCOPES = ("local", "prefectural", "regional", "national")
SCOPE_LABELS = {
    "local": _l("Local office"),
    "prefectural": _l("Prefecture"),
    "regional": _l("Region"),
    "national": _l("All of Japan"),
}

# The seed's type codes, and the sector when the type is not one of them.
KIND_BY_TYPE = {
    "LAW": "lawyer",
    "UNION": "union",
    "EMB": "embassy",
    "NPO": "ngo",
    "NPO_SHELTER": "ngo",
    "MH_LINE": "ngo",
}
GOVERNMENT_TYPES = frozenset(
    {
        "LSIO",
        "LAB_BUREAU",
        "MHLW_LINE",
        "OTIT",
        "ISA",
        "HOUTERASU",
        "MOJ_HR",
        "PREF_LAB",
        "DV_WOMEN",
        "POLICE",
    }
)
KIND_BY_SECTOR = {
    "legal": "lawyer",
    "union": "union",
    "civil_society": "ngo",
    "foreign_government": "embassy",
    "government": "government",
    "quasi_government": "government",
}
# Bodies that may pass information to immigration enforcement.
EXPOSED_TYPES = frozenset({"ISA", "POLICE"})
TITP_ONLY = "TITP;ESD"
ALL_LAWFUL = "TITP;ESD;SSW1;SSW2;ENG;STU;DEP;NIK;DA"
NOTE_TITP = "TITP only"
NOTE_LAWFUL = "lawful residents only"
NOTE_EXPOSED = "enforcement-risk flag"

MAX_IMPORT_BYTES = 1024 * 1024
MAX_IMPORT_ROWS = 2000
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$")
LANG_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
TRUE_WORDS = frozenset({"true", "yes", "1"})
FALSE_WORDS = frozenset({"false", "no", "0", ""})


class PartnerError(Exception):
    """Base of the directory's errors; `message` is shown to the admin."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


class DuplicateCodeError(PartnerError):
    pass


class InvalidPartnerError(PartnerError):
    pass


# -- derived fields ---------------------------------------------------------------


def kind_for(type_code: str, sector: str = "") -> str:
    if type_code in KIND_BY_TYPE:
        return KIND_BY_TYPE[type_code]
    if type_code in GOVERNMENT_TYPES:
        return "government"
    return KIND_BY_SECTOR.get(sector, "other")


def eligibility_for(type_code: str, notes: str) -> str:
    """Residence statuses accepted ("" = everyone), read from the seed's words."""
    text = notes.lower()
    if type_code == "OTIT" or NOTE_TITP.lower() in text:
        return TITP_ONLY
    # The seed's words vary ("civil legal aid only for lawful residents").
    if "lawful resident" in text:
        return ALL_LAWFUL
    return ""


def exposure_for(type_code: str, notes: str) -> bool:
    return type_code in EXPOSED_TYPES or "enforcement-risk" in notes.lower()


def split_codes(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def profile(partner: Partner) -> PartnerProfile:
    """The plain values routing ranks (grievance.cases.routing)."""
    return PartnerProfile(
        id=partner.id,
        code=partner.code,
        name=partner.name,
        kind=partner.kind,
        type_code=partner.type_code,
        pref_code=partner.pref_code,
        scope=partner.scope,
        languages=tuple(partner.language_list()),
        categories=tuple(partner.category_list()),
        eligibility=tuple(split_codes(partner.eligibility)),
        anonymous_ok=partner.anonymous_ok,
        immigration_exposure=partner.immigration_exposure,
        active=partner.active,
        is_fictional=partner.is_fictional,
    )


def profile_from_data(data: PartnerData, partner_id: int | None = None) -> PartnerProfile:
    """The routing profile of a record not (yet) in the database, e.g. a CSV row."""
    partner = Partner(id=partner_id, code=data.code)
    apply_data(partner, data)
    return profile(partner)


def read_csv(text: str) -> list[PartnerData]:
    """The records of a CSV in the seed's format (no validation, no database)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    return [
        row_to_data({k: v or "" for k, v in row.items() if isinstance(k, str)}) for row in reader
    ]


# -- the record an admin edits ----------------------------------------------------


@dataclass
class PartnerData:
    """Every editable field of a directory entry, as plain values."""

    code: str
    name: str
    kind: str = "other"
    sector: str = ""
    type_code: str = ""
    pref_code: str = ""
    prefecture: str = ""
    scope: str = "national"
    languages: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    eligibility: list[str] = field(default_factory=list)
    anonymous_ok: str = "yes"
    immigration_exposure: bool = False
    notify_email: str = ""
    is_fictional: bool = False
    active: bool = True
    notes: str = ""

    @classmethod
    def of(cls, partner: Partner) -> PartnerData:
        return cls(
            code=partner.code,
            name=partner.name,
            kind=partner.kind,
            sector=partner.sector,
            type_code=partner.type_code,
            pref_code=partner.pref_code,
            prefecture=partner.prefecture,
            scope=partner.scope,
            languages=partner.language_list(),
            categories=partner.category_list(),
            eligibility=split_codes(partner.eligibility),
            anonymous_ok=partner.anonymous_ok,
            immigration_exposure=partner.immigration_exposure,
            notify_email=partner.notify_email,
            is_fictional=partner.is_fictional,
            active=partner.active,
            notes=partner.notes,
        )


def _known_codes() -> tuple[set[str], set[str]]:
    categories = set(db.session.scalars(select(Category.code)))
    statuses = set(db.session.scalars(select(ResidenceStatus.code)))
    return categories, statuses


def validate(data: PartnerData, categories: set[str], statuses: set[str]) -> list[tuple[str, Any]]:
    """(field, message) for each problem; empty when the record is sound."""
    problems: list[tuple[str, Any]] = []
    if not CODE_RE.match(data.code):
        problems.append(("code", _l("Use 2 to 40 letters, digits, '-' or '_'.")))
    if not data.name.strip() or len(data.name) > 300:
        problems.append(("name", _l("A name of at most 300 characters is needed.")))
    if data.kind not in KINDS:
        problems.append(("kind", _l("Choose a kind from the list.")))
    if data.scope and data.scope not in SCOPES:
        problems.append(("scope", _l("Choose a scope from the list.")))
    if data.pref_code and not (data.pref_code.isdigit() and 1 <= int(data.pref_code) <= 47):
        problems.append(("pref_code", _l("A prefecture code is 01 to 47.")))
    if data.scope in ("local", "prefectural", "regional") and not data.pref_code:
        problems.append(("pref_code", _l("A local or regional body needs its prefecture.")))
    if any(not LANG_RE.match(code) and code != MULTILINGUAL for code in data.languages):
        problems.append(("languages", _l("Language codes look like vi, pt-BR or zh-Hans.")))
    unknown = [c for c in data.categories if c not in categories]
    if unknown:
        problems.append(
            ("categories", _l("Unknown category codes: %(codes)s", codes=", ".join(unknown)))
        )
    unknown = [c for c in data.eligibility if c not in statuses]
    if unknown:
        problems.append(
            (
                "eligibility",
                _l("Unknown residence status codes: %(codes)s", codes=", ".join(unknown)),
            )
        )
    if data.notify_email and not EMAIL_RE.match(data.notify_email):
        problems.append(("notify_email", _l("This is not an e-mail address.")))
    for name, limit in (("sector", 32), ("type_code", 32), ("prefecture", 40), ("notes", 300)):
        if len(getattr(data, name)) > limit:
            problems.append((name, _l("At most %(n)s characters.", n=limit)))
    if len(data.anonymous_ok) > 32:
        problems.append(("anonymous_ok", _l("At most %(n)s characters.", n=32)))
    if len(";".join(data.languages)) > 200 or len(";".join(data.categories)) > 400:
        problems.append(("languages", _l("Too many codes.")))
    return problems


def apply_data(partner: Partner, data: PartnerData) -> list[str]:
    """Write `data` onto `partner`; the names of the columns that changed."""
    values = {
        "code": data.code.strip(),
        "name": data.name.strip(),
        "kind": data.kind,
        "sector": data.sector.strip(),
        "type_code": data.type_code.strip(),
        "pref_code": data.pref_code.strip(),
        "prefecture": data.prefecture.strip(),
        "scope": data.scope,
        "languages": ";".join(data.languages),
        "categories": ";".join(data.categories),
        "eligibility": ";".join(data.eligibility),
        "anonymous_ok": data.anonymous_ok.strip(),
        "immigration_exposure": data.immigration_exposure,
        "notify_email": data.notify_email.strip(),
        "is_fictional": data.is_fictional,
        "active": data.active,
        "notes": data.notes.strip(),
    }
    changed = []
    for name, value in values.items():
        if getattr(partner, name) != value:
            setattr(partner, name, value)
            changed.append(name)
    return changed


# -- directory operations ---------------------------------------------------------


def list_partners(*, active_only: bool = False, kind: str | None = None) -> list[Partner]:
    query = select(Partner).order_by(Partner.kind, Partner.name)
    if active_only:
        query = query.where(Partner.active.is_(True))
    if kind:
        query = query.where(Partner.kind == kind)
    return list(db.session.scalars(query))


def active_directory() -> tuple[PartnerProfile, ...]:
    """The active partners as routing profiles, in the directory's order
    (kind, then name), kept by `grievance.reference_cache`: the case page
    ranks them for every case, and they change a few times a year.
    Referring checks the partner in the database again."""

    def load() -> tuple[PartnerProfile, ...]:
        return tuple(profile(p) for p in list_partners(active_only=True))

    return reference_cache.cached("partner-directory", load)


def get_partner(partner_id: int) -> Partner | None:
    return db.session.get(Partner, partner_id)


def partner_by_code(code: str) -> Partner | None:
    return db.session.scalar(select(Partner).where(Partner.code == code))


def create_partner(actor: StaffUser, data: PartnerData) -> Partner:
    """Add a directory entry (flushes, audits); InvalidPartnerError if unsound."""
    categories, statuses = _known_codes()
    problems = validate(data, categories, statuses)
    if problems:
        raise InvalidPartnerError(problems[0][1])
    if partner_by_code(data.code.strip()) is not None:
        raise DuplicateCodeError(_l("A partner with this code exists already."))
    partner = Partner(code=data.code.strip())
    apply_data(partner, data)
    db.session.add(partner)
    db.session.flush()
    audit.record("partner.created", actor_id=actor.id, detail={"partner_id": partner.id})
    return partner


def update_partner(actor: StaffUser, partner: Partner, data: PartnerData) -> list[str]:
    """Change an entry; returns (and audits) the names of the fields changed."""
    categories, statuses = _known_codes()
    problems = validate(data, categories, statuses)
    if problems:
        raise InvalidPartnerError(problems[0][1])
    other = partner_by_code(data.code.strip())
    if other is not None and other.id != partner.id:
        raise DuplicateCodeError(_l("A partner with this code exists already."))
    changed = apply_data(partner, data)
    db.session.flush()
    if changed:
        audit.record(
            "partner.updated",
            actor_id=actor.id,
            detail={"partner_id": partner.id, "fields": sorted(changed)},
        )
    return changed


def sms_contact(partner: Partner) -> PartnerSmsContact | None:
    return db.session.scalar(
        select(PartnerSmsContact).where(PartnerSmsContact.partner_id == partner.id)
    )


def set_sms_contact(actor: StaffUser, partner: Partner, raw_phone: str | None) -> None:
    """Alerts by SMS to this number (sealed), or none when `raw_phone` is empty."""
    existing = sms_contact(partner)
    if not raw_phone or not raw_phone.strip():
        if existing is not None:
            db.session.delete(existing)
            db.session.flush()
            audit.record(
                "partner.sms_removed", actor_id=actor.id, detail={"partner_id": partner.id}
            )
        return
    try:
        phone = crypto.normalise_phone(raw_phone)
    except crypto.InvalidPhoneNumberError:
        raise InvalidPartnerError(_l("This is not a phone number.")) from None
    if existing is None:
        existing = PartnerSmsContact(data_key=DataKey.create(), partner_id=partner.id)
        db.session.add(existing)
    existing.phone = phone
    db.session.flush()
    audit.record("partner.sms_set", actor_id=actor.id, detail={"partner_id": partner.id})


# -- CSV ---------------------------------------------------------------------------


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # (line number in the file, column, message); nothing was written if any.
    errors: list[tuple[int, str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _flag(value: str | None, default: bool) -> bool | None:
    if value is None:
        return default
    folded = value.strip().lower()
    if folded in TRUE_WORDS:
        return True
    if folded in FALSE_WORDS:
        return False if folded else default
    return None


def row_to_data(row: dict[str, str], existing: Partner | None = None) -> PartnerData:
    """One CSV row as a record; the extra columns win over derived values."""

    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    type_code, notes = cell("type"), cell("notes")
    data = PartnerData(
        code=cell("org_code"),
        name=cell("name"),
        kind=cell("kind") or kind_for(type_code, cell("sector")),
        sector=cell("sector"),
        type_code=type_code,
        pref_code=cell("pref_code"),
        prefecture=cell("prefecture"),
        scope=cell("scope"),
        languages=split_codes(cell("languages")),
        categories=split_codes(cell("accepts_categories")),
        eligibility=split_codes(
            cell("eligibility") if "eligibility" in row else eligibility_for(type_code, notes)
        ),
        anonymous_ok=cell("anonymous_ok"),
        immigration_exposure=exposure_for(type_code, notes),
        is_fictional=cell("is_fictional").lower() in TRUE_WORDS,
        notes=notes,
        # Not in the seed format: keep what the directory has.
        notify_email=existing.notify_email if existing else "",
        active=existing.active if existing else True,
    )
    if "immigration_exposure" in row:
        data.immigration_exposure = bool(_flag(row["immigration_exposure"], False))
    if "notify_email" in row:
        data.notify_email = cell("notify_email")
    if "active" in row:
        data.active = bool(_flag(row["active"], True))
    if data.is_fictional and not data.notify_email:
        # Demo partners get addresses that can never reach anyone.
        data.notify_email = f"intake@{data.code.lower()}.demo.invalid"
    return data


def _row_problems(row: dict[str, str | None]) -> list[tuple[str, Any]]:
    problems: list[tuple[str, Any]] = []
    if None in row.values():
        problems.append(("", _l("This line has fewer cells than the header.")))
    if row.get(None) is not None:  # type: ignore[call-overload]
        problems.append(("", _l("This line has more cells than the header.")))
    for name in ("is_fictional", "immigration_exposure", "active"):
        value = row.get(name)
        if value is not None and _flag(value, False) is None:
            problems.append((name, _l("Write true or false.")))
    return problems


def import_csv(actor: StaffUser, text: str) -> ImportReport:
    """Add or update entries by org_code from CSV text; all or nothing.

    Entries not named in the file are left as they are (a partial file is
    an update, not a replacement). Flushes and audits once; the caller
    commits only when `report.ok`.
    """
    report = ImportReport()
    if len(text.encode("utf-8")) > MAX_IMPORT_BYTES:
        report.errors.append((0, "", _l("The file is larger than 1 MB.")))
        return report
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    missing = [c for c in SEED_COLUMNS if c not in header]
    if missing:
        report.errors.append(
            (1, "", _l("Columns missing from the header: %(names)s", names=", ".join(missing)))
        )
        return report
    categories, statuses = _known_codes()
    seen: set[str] = set()
    pending: list[tuple[Partner | None, PartnerData]] = []
    for number, row in enumerate(reader, start=2):
        if number - 1 > MAX_IMPORT_ROWS:
            report.errors.append((number, "", _l("Too many lines (at most 2000).")))
            break
        if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
            continue  # a blank line
        problems = _row_problems(row)  # type: ignore[arg-type]
        code = (row.get("org_code") or "").strip()
        existing = partner_by_code(code) if code else None
        data = row_to_data({k: v for k, v in row.items() if isinstance(k, str)}, existing)
        problems += validate(data, categories, statuses)
        if code in seen:
            problems.append(("org_code", _l("This code appears twice in the file.")))
        seen.add(code)
        report.errors.extend((number, column, message) for column, message in problems)
        pending.append((existing, data))
    if report.errors:
        return report
    for existing, data in pending:
        partner = existing or Partner(code=data.code)
        changed = apply_data(partner, data)
        if existing is None:
            db.session.add(partner)
            report.created += 1
        elif changed:
            report.updated += 1
        else:
            report.unchanged += 1
    db.session.flush()
    audit.record(
        "partner.imported",
        actor_id=actor.id,
        detail={"created": report.created, "updated": report.updated},
    )
    return report


def _notes_for_export(partner: Partner) -> str:
    """The notes, plus the seed's words for what the format has no column for."""
    notes = partner.notes
    additions = []
    derived_eligibility = eligibility_for(partner.type_code, notes)
    if partner.eligibility != derived_eligibility:
        if partner.eligibility == TITP_ONLY:
            additions.append(NOTE_TITP)
        elif partner.eligibility == ALL_LAWFUL:
            additions.append(NOTE_LAWFUL)
    if partner.immigration_exposure and not exposure_for(partner.type_code, notes):
        additions.append(NOTE_EXPOSED)
    return "; ".join([notes, *additions]) if notes and additions else notes or "; ".join(additions)


def export_csv(partners: list[Partner], *, full: bool = False) -> str:
    """The directory as CSV in the seed's format (plus the extra columns if `full`)."""
    out = io.StringIO()
    columns = SEED_COLUMNS + (EXTRA_COLUMNS if full else ())
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for partner in partners:
        row = [
            partner.code,
            partner.name,
            partner.sector,
            partner.type_code,
            partner.pref_code,
            partner.prefecture,
            partner.scope,
            partner.languages,
            partner.categories,
            partner.anonymous_ok,
            "true" if partner.is_fictional else "false",
            partner.notes if full else _notes_for_export(partner),
        ]
        if full:
            row += [
                partner.kind,
                partner.eligibility,
                "true" if partner.immigration_exposure else "false",
                partner.notify_email,
                "true" if partner.active else "false",
            ]
        writer.writerow(row)
    return out.getvalue()


def all_for_export() -> list[Partner]:
    return list(db.session.scalars(select(Partner).order_by(Partner.id)))

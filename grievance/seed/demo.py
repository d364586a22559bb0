"""Demo data for the embedded default: accounts and about twenty cases.

Every name, company and story here is invented. Demo partners carry
addresses under `.demo.invalid`, which can never be delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from grievance.cases import services as case_services
from grievance.cases.models import Case, CaseStatus, Message, Partner
from grievance.datakeys import utcnow
from grievance.extensions import db
from grievance.seed.taxonomy import load_partners, load_taxonomy
from grievance.staff import services as staff_services
from grievance.staff.models import StaffUser

DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed in the README; demo accounts only


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: str
    partner: str | None
    name: str


DEMO_ACCOUNTS = (
    DemoAccount("admin@demo.example", "admin", None, "Admin (demo)"),
    DemoAccount("caseworker1@demo.example", "caseworker", None, "Aiko (demo)"),
    DemoAccount("caseworker2@demo.example", "caseworker", None, "Minh (demo)"),
    DemoAccount("advisor.union@demo.example", "advisor", "U-DEMO-KANTO", "Union advisor (demo)"),
    DemoAccount("advisor.law@demo.example", "advisor", "L-DEMO-AOZORA", "Lawyer (demo)"),
)

# (language, channel, urgency, categories, prefecture, residence, status, narrative,
#  employer, phone or None)
DEMO_CASES: tuple[tuple, ...] = (
    (
        "vi",
        "web",
        "P2",
        ["WAGE_UNPAID"],
        "08",
        "TITP",
        "new",
        "Công ty không trả tiền làm thêm giờ trong ba tháng. Tôi làm 12 tiếng mỗi ngày.",
        "Demo Farm Hoshino",
        None,
    ),
    (
        "vi",
        "sms",
        "P1",
        ["DOC_RETAIN"],
        "23",
        "TITP",
        "acknowledged",
        "Nghiệp đoàn giữ hộ chiếu của tôi và nói sẽ gửi tôi về nước tháng sau.",
        "Demo Parts Kogyo",
        "+819000000101",
    ),
    (
        "id",
        "whatsapp",
        "P2",
        ["WAGE_DEDUCT"],
        "08",
        "SSW1",
        "in_progress",
        "Gaji saya dipotong untuk asrama dan listrik, lebih dari separuh gaji.",
        "Demo Vegetable Co.",
        "+819000000102",
    ),
    (
        "fil",
        "web",
        "P2",
        ["HARASS_POWER"],
        "13",
        "SSW1",
        "new",
        "Sinisigawan ako ng supervisor araw-araw at tinatawag akong tanga.",
        "Demo Care Home Sakura",
        None,
    ),
    (
        "ne",
        "sms",
        "P3",
        ["SOCIAL_INSURANCE_TAX"],
        "27",
        "STU",
        "new",
        "मेरो पेन्सन फिर्ता कसरी पाउने? म अर्को महिना नेपाल फर्कन्छु।",
        None,
        "+819000000103",
    ),
    (
        "pt-BR",
        "whatsapp",
        "P2",
        ["OSH_INJURY"],
        "23",
        "NIK",
        "referred",
        "Machuquei a mão na fábrica e a empresa disse para não ir ao hospital.",
        "Demo Auto Line",
        "+819000000104",
    ),
    (
        "en",
        "web",
        "P3",
        ["JOB_CHANGE"],
        "13",
        "ENG",
        "resolved",
        "I want to change jobs but my company says my visa will be cancelled.",
        "Demo IT Solutions",
        None,
    ),
    (
        "zh-Hans",
        "web",
        "P2",
        ["HOURS_EXCESS"],
        "21",
        "TITP",
        "new",
        "每天工作十四个小时，一个月只休息两天。",
        "Demo Sewing Factory",
        None,
    ),
    (
        "my",
        "web",
        "P1",
        ["MOVE_RESTRICT"],
        "08",
        "TITP",
        "new",
        "ကုမ္ပဏီက ကျွန်တော့်ဖုန်းကို သိမ်းထားပြီး ညဘက် အပြင်မထွက်ရဘူးလို့ ပြောပါတယ်။",
        "Demo Poultry Farm",
        None,
    ),
    (
        "vi",
        "web",
        "P1",
        ["PREGNANCY"],
        "23",
        "TITP",
        "new",
        "Tôi có thai và giám đốc bảo tôi phải về nước hoặc phá thai.",
        "Demo Food Packing",
        None,
    ),
    (
        "km",
        "web",
        "P2",
        ["RECRUIT_DEBT"],
        "08",
        "TITP",
        "new",
        "ខ្ញុំជំពាក់ប្រាក់ក្រុមហ៊ុនបញ្ជូនពលករ ហើយគេគំរាមគ្រួសារខ្ញុំ។",
        None,
        None,
    ),
    (
        "th",
        "web",
        "P3",
        ["HOUSING"],
        "08",
        "SSW1",
        "new",
        "หอพักไม่มีน้ำร้อนและมีคนอยู่หกคนในห้องเดียว",
        "Demo Greenhouse",
        None,
    ),
    (
        "es",
        "whatsapp",
        "P2",
        ["DISMISSAL_RETURN"],
        "23",
        "NIK",
        "in_progress",
        "Me despidieron sin aviso y no me pagaron el último mes.",
        "Demo Dispatch Agency",
        "+819000000105",
    ),
    (
        "ur",
        "web",
        "P2",
        ["DISCRIMINATION"],
        "13",
        "ENG",
        "new",
        "مجھے نماز کے وقفے کی اجازت نہیں دی جاتی اور مذاق اڑایا جاتا ہے۔",
        None,
        None,
    ),
    (
        "mn",
        "web",
        "P3",
        ["LIFE_OTHER"],
        "13",
        "STU",
        "closed",
        "Оюутны байрны гэрээний талаар асуулт байна.",
        None,
        None,
    ),
    (
        "si",
        "web",
        "P1",
        ["MENTAL_HEALTH"],
        "27",
        "SSW1",
        "new",
        "මට නින්ද යන්නේ නැහැ, මට හරිම තනිකමක් දැනෙනවා.",
        None,
        None,
    ),
    (
        "bn",
        "web",
        "P2",
        ["DECEPTION"],
        "13",
        "ENG",
        "new",
        "চুক্তিতে অফিসের কাজ লেখা ছিল, কিন্তু আমাকে কারখানায় কাজ করানো হচ্ছে।",
        "Demo Trading KK",
        None,
    ),
    (
        "ko",
        "web",
        "P3",
        ["SOCIAL_INSURANCE_TAX"],
        "27",
        "NIK",
        "new",
        "회사가 사회보험에 가입시켜 주지 않습니다.",
        None,
        None,
    ),
    (
        "ja",
        "web",
        "P0",
        ["VIOLENCE"],
        "23",
        "TITP",
        "new",
        "実習生の友人が寮で殴られています。今も続いています。",
        "Demo Steel Works",
        None,
    ),
    (
        "id",
        "whatsapp",
        "P2",
        ["FORCED_SAVINGS"],
        "08",
        "TITP",
        "acknowledged",
        "Perusahaan menyimpan tabungan saya dan tidak mau mengembalikannya.",
        "Demo Vegetable Co.",
        "+819000000106",
    ),
)

WORKER_FOLLOW_UPS = {
    "vi": "Tôi có thể gửi ảnh bảng lương không?",
    "id": "Terima kasih. Kapan saya bisa bicara dengan seseorang?",
    "pt-BR": "Obrigado. O sindicato vai me ligar?",
    "es": "Gracias por responder.",
}


def seed_accounts() -> list[StaffUser]:
    users = []
    for account in DEMO_ACCOUNTS:
        user = staff_services.find_by_email(account.email)
        if user is None:
            partner_id = None
            if account.partner:
                partner_id = db.session.scalar(
                    select(Partner.id).where(Partner.code == account.partner)
                )
            user = staff_services.create_user(
                account.email,
                account.role,
                partner_id,
                password=DEMO_PASSWORD,
                is_demo=True,
                display_name=account.name,
            ).user
            # Demo accounts skip the enrolment page; `flask grievance
            # demo-code EMAIL` prints their current code.
            user.totp_confirmed = True
            if account.role == "caseworker":
                user.on_call = True
        users.append(user)
    db.session.flush()
    return users


def seed_cases() -> int:
    """Add the demo cases once (skipped when cases exist already)."""
    if db.session.scalar(select(Case.id).limit(1)) is not None:
        return 0
    now = utcnow()
    caseworker = staff_services.find_by_email("caseworker1@demo.example")
    for n, row in enumerate(DEMO_CASES):
        (lang, channel, urgency, cats, pref, residence, status, narrative, employer, phone) = row
        contact_method = channel if channel in ("sms", "whatsapp") else "web"
        case, _ = case_services.open_case(
            case_services.NewCase(
                language=lang,
                narrative=narrative,
                channel=channel,
                urgency=urgency,
                categories=cats,
                prefecture=pref,
                residence_status=residence,
                in_danger=urgency == "P0",
                contact_method=contact_method,
                contact={"phone": phone} if phone else None,
                intermediaries={"employer": employer} if employer else None,
            )
        )
        # Spread the demo over the last weeks so deadlines look real.
        case.created_at = now - timedelta(hours=6 * n)
        case.status = status
        if status != CaseStatus.NEW:
            case.acknowledged_at = case.created_at + timedelta(hours=2)
            case.assignee_id = caseworker.id if caseworker else None
        if status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
            case.resolved_at = case.created_at + timedelta(days=3)
        if status == CaseStatus.CLOSED:
            case.closed_at = case.created_at + timedelta(days=4)
        first = Message(
            data_key=case.data_key,
            case_id=case.id,
            direction="in",
            channel=channel,
            author_kind="worker",
        )
        first.body = narrative
        db.session.add(first)
        if lang in WORKER_FOLLOW_UPS:
            extra = Message(
                data_key=case.data_key,
                case_id=case.id,
                direction="in",
                channel=channel,
                author_kind="worker",
            )
            extra.body = WORKER_FOLLOW_UPS[lang]
            db.session.add(extra)
            case.unread_count = 1
    db.session.flush()
    return len(DEMO_CASES)


def seed_demo() -> dict[str, int]:
    load_taxonomy()
    partners = load_partners()
    accounts = seed_accounts()
    cases = seed_cases()
    from grievance.seed.canned import seed_canned

    seed_canned()  # two canned replies per language, once
    return {"partners": partners, "accounts": len(accounts), "cases": cases}

"""Worker-facing words for codes: categories, industries, residence statuses.

Short, plain words that a worker recognises, in the worker catalog (so
every language has them). The codes are those of the domain files.
"""

from __future__ import annotations

from grievance.i18n import lazy_gettext as _l

# (code, icon, short words). Icons are plain characters: no image requests.
CATEGORY_LABELS: dict[str, tuple[str, object]] = {
    "WAGE_UNPAID": ("💴", _l("Unpaid wages or overtime")),
    "WAGE_DEDUCT": ("✂️", _l("Money taken from my pay")),
    "DOC_RETAIN": ("🛂", _l("My passport or card was taken")),
    "RECRUIT_DEBT": ("💸", _l("Debt or fees to an agent")),
    "FORCED_SAVINGS": ("🏦", _l("Forced savings")),
    "MOVE_RESTRICT": ("🔒", _l("I cannot go out or use my phone")),
    "VIOLENCE": ("⚠️", _l("Violence or threats")),
    "HARASS_POWER": ("🗯️", _l("Bullying or shouting")),
    "HARASS_SEXUAL": ("🚫", _l("Sexual harassment or assault")),
    "OSH_INJURY": ("🩹", _l("Injury or unsafe work")),
    "HOURS_EXCESS": ("⏰", _l("Too many working hours")),
    "HOUSING": ("🏠", _l("Housing or dormitory")),
    "DISMISSAL_RETURN": ("✈️", _l("Fired or sent home")),
    "PREGNANCY": ("🤰", _l("Pregnancy")),
    "VISA_STATUS": ("🪪", _l("Visa or residence status")),
    "BROKER_MISCONDUCT": ("🏢", _l("Problem with an agency or supervising organisation")),
    "DECEPTION": ("❓", _l("The job is not what I was promised")),
    "DISCRIMINATION": ("⚖️", _l("Unfair treatment")),
    "MENTAL_HEALTH": ("💬", _l("I feel very bad or hopeless")),
    "TRAFFICKING_FL": ("⛓️", _l("I am forced to work")),
    "JOB_CHANGE": ("🔁", _l("Changing jobs")),
    "HEALTH_ACCESS": ("🏥", _l("Hospital or health insurance")),
    "SOCIAL_INSURANCE_TAX": ("📄", _l("Pension, insurance or tax")),
    "LIFE_OTHER": ("➕", _l("Something else")),
}

SINCE_CHOICES: list[tuple[str, object]] = [
    ("", _l("Choose")),
    ("week", _l("Less than one week")),
    ("month", _l("One to four weeks")),
    ("half_year", _l("One to six months")),
    ("year", _l("Six to twelve months")),
    ("longer", _l("More than one year")),
    ("unknown", _l("I don't know")),
]

INDUSTRY_CHOICES: list[tuple[str, object]] = [
    ("", _l("Choose")),
    ("agriculture", _l("Farming")),
    ("fishing", _l("Fishing")),
    ("construction", _l("Construction")),
    ("food", _l("Food factory")),
    ("manufacturing", _l("Factory (other)")),
    ("care", _l("Care work")),
    ("hospitality", _l("Hotel or restaurant")),
    ("cleaning", _l("Cleaning")),
    ("retail", _l("Shop or convenience store")),
    ("logistics", _l("Delivery or warehouse")),
    ("office", _l("Office or IT")),
    ("other", _l("Other work")),
    ("unknown", _l("I don't know")),
]

RESIDENCE_CHOICES: list[tuple[str, object]] = [
    ("", _l("I don't know")),
    ("TITP", _l("Technical intern (ginō jisshū)")),
    ("ESD", _l("Employment for Skill Development (ikusei shūrō)")),
    ("SSW1", _l("Specified skilled worker (i)")),
    ("SSW2", _l("Specified skilled worker (ii)")),
    ("ENG", _l("Engineer or office work visa")),
    ("STU", _l("Student")),
    ("DEP", _l("Family of a worker")),
    ("NIK", _l("Long-term or permanent resident, or spouse of a Japanese")),
    ("DA", _l("Designated activities")),
    ("UND", _l("No valid visa now, or refugee applicant")),
]

CONTACT_CHOICES: list[tuple[str, object]] = [
    ("web", _l("Only when I come back to this website")),
    ("sms", _l("SMS to my phone")),
    ("whatsapp", _l("WhatsApp")),
    ("email", _l("E-mail")),
    ("none", _l("Do not contact me")),
]

SAFE_WINDOW_CHOICES: list[tuple[str, object]] = [
    ("morning", _l("Morning (6 to 12)")),
    ("afternoon", _l("Afternoon (12 to 18)")),
    ("evening", _l("Evening (18 to 22)")),
    ("night", _l("Night (22 to 6)")),
]
SAFE_WINDOW_VALUES = frozenset(code for code, _ in SAFE_WINDOW_CHOICES)

OWN_PHONE_CHOICES: list[tuple[str, object]] = [
    ("own", _l("Yes, only I use it")),
    ("shared", _l("No, other people use it or check it")),
    ("employer", _l("No, my employer gave it to me")),
]

# The 47 prefectures, by JIS code: romanised and Japanese names, which
# workers see on signs and papers in Japan.
PREFECTURES: list[tuple[str, str]] = [
    ("01", "Hokkaido 北海道"),
    ("02", "Aomori 青森県"),
    ("03", "Iwate 岩手県"),
    ("04", "Miyagi 宮城県"),
    ("05", "Akita 秋田県"),
    ("06", "Yamagata 山形県"),
    ("07", "Fukushima 福島県"),
    ("08", "Ibaraki 茨城県"),
    ("09", "Tochigi 栃木県"),
    ("10", "Gunma 群馬県"),
    ("11", "Saitama 埼玉県"),
    ("12", "Chiba 千葉県"),
    ("13", "Tokyo 東京都"),
    ("14", "Kanagawa 神奈川県"),
    ("15", "Niigata 新潟県"),
    ("16", "Toyama 富山県"),
    ("17", "Ishikawa 石川県"),
    ("18", "Fukui 福井県"),
    ("19", "Yamanashi 山梨県"),
    ("20", "Nagano 長野県"),
    ("21", "Gifu 岐阜県"),
    ("22", "Shizuoka 静岡県"),
    ("23", "Aichi 愛知県"),
    ("24", "Mie 三重県"),
    ("25", "Shiga 滋賀県"),
    ("26", "Kyoto 京都府"),
    ("27", "Osaka 大阪府"),
    ("28", "Hyogo 兵庫県"),
    ("29", "Nara 奈良県"),
    ("30", "Wakayama 和歌山県"),
    ("31", "Tottori 鳥取県"),
    ("32", "Shimane 島根県"),
    ("33", "Okayama 岡山県"),
    ("34", "Hiroshima 広島県"),
    ("35", "Yamaguchi 山口県"),
    ("36", "Tokushima 徳島県"),
    ("37", "Kagawa 香川県"),
    ("38", "Ehime 愛媛県"),
    ("39", "Kochi 高知県"),
    ("40", "Fukuoka 福岡県"),
    ("41", "Saga 佐賀県"),
    ("42", "Nagasaki 長崎県"),
    ("43", "Kumamoto 熊本県"),
    ("44", "Oita 大分県"),
    ("45", "Miyazaki 宮崎県"),
    ("46", "Kagoshima 鹿児島県"),
    ("47", "Okinawa 沖縄県"),
]
PREFECTURE_CODES = {code for code, _ in PREFECTURES}

STATUS_WORDS: dict[str, object] = {
    "new": _l("Received. Waiting for a caseworker."),
    "acknowledged": _l("A caseworker has read your report."),
    "in_progress": _l("A caseworker is working on your case."),
    "referred": _l("Your case was passed to a partner who can help, with your permission."),
    "resolved": _l("Your case is resolved."),
    "closed": _l("Your case is closed."),
}

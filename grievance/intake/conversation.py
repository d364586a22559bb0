"""The SMS and WhatsApp conversation, as a pure state machine (no Flask, no database).

A first message from an unknown sender gets a numbered language menu; then
two safety questions (is this phone the worker's own, and when may we
write); then, on its own, whether we may keep what the worker writes (no
story is kept without a yes); then "tell us what happened" (free text,
several messages joined, "0" when finished); then a numbered category menu;
then an optional prefecture; then the case is opened and the reference sent
(with the secret only when the phone is the worker's own). Later messages
join the open case.

Keywords work at every step, as a whole message, in every supported language
and in English: HELP, STOP (no outbound message of any kind until START),
START, NEW (a new case), STATUS, LANG (change language).

Guarantees: once the worker agreed that we keep it, `receive` never loses
what the worker said (a text that is not a valid answer is kept with the
narrative, and an abandoned conversation opens a case with what was said,
see `expire`); without that agreement, what was said is forgotten (a no, or
an abandoned conversation), and so is a story dropped with NEW: the
FORGET_DRAFT action tells the caller, which drops photos waiting with it;
while stopped it returns no reply but the one to START; it returns reply
*keys* with parameters, never text: the caller renders them in the
worker's language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")


class Step(StrEnum):
    NEW = "new"  # nothing received yet
    LANGUAGE = "language"
    SAFETY = "safety"  # is this your own phone?
    HOURS = "hours"  # when may we write?
    CONSENT = "consent"  # may we keep what you write?
    NARRATIVE = "narrative"
    CATEGORY = "category"
    PREFECTURE = "prefecture"
    OPEN = "open"  # a case is open; messages join it


INTAKE_STEPS = (
    Step.LANGUAGE,
    Step.SAFETY,
    Step.HOURS,
    Step.CONSENT,
    Step.NARRATIVE,
    Step.CATEGORY,
    Step.PREFECTURE,
)


class Keyword(StrEnum):
    HELP = "help"
    STOP = "stop"
    START = "start"
    NEW = "new"
    STATUS = "status"
    LANG = "lang"


# Each keyword in English and in every language of the registry (i18n), as
# a worker would type it; matched against the whole message, case-folded,
# without surrounding punctuation. Vietnamese also without tone marks,
# since many phones type without them.
KEYWORDS: dict[Keyword, tuple[str, ...]] = {
    Keyword.HELP: (
        "help", "giúp", "giup", "trợ giúp", "tro giup", "帮助", "求助", "tulong",
        "मद्दत", "सहायता", "bantuan", "tolong", "အကူအညီ", "ajuda", "도움", "도움말",
        "ช่วยเหลือ", "ช่วย", "උදව්", "ayuda", "ជំនួយ", "тусламж", "সাহায্য", "مدد",
        "たすけて", "ヘルプ", "助けて",
    ),
    Keyword.STOP: (
        # Not "end", "cancel" or "dung" (Vietnamese "đúng", right, typed
        # without marks): a false STOP silences a worker who needs help.
        "stop", "stopall", "unsubscribe",
        "dừng", "ngừng", "ngung", "停止", "itigil", "hinto", "रोक",
        "रोक्नुहोस्", "berhenti", "ရပ်", "ရပ်ပါ", "parar", "pare", "중지", "그만",
        "หยุด", "නවත්වන්න", "alto", "ឈប់", "зогс", "зогсоох", "বন্ধ", "بند",
        "روکیں", "とめて", "ていし", "ストップ",
    ),
    Keyword.START: (
        "start", "unstop", "bắt đầu", "bat dau", "开始", "simula", "सुरु", "mulai",
        "စတင်", "iniciar", "começar", "comecar", "시작", "เริ่ม", "ආරම්භ", "empezar",
        "ចាប់ផ្តើម", "эхлэх", "শুরু", "شروع", "かいし", "開始", "スタート",
    ),
    Keyword.NEW: (
        "new", "mới", "moi", "新", "bago", "नयाँ", "baru", "အသစ်", "novo", "새로",
        "ใหม่", "නව", "nuevo", "ថ្មី", "шинэ", "নতুন", "نیا", "あたらしい", "新規",
        "新しい",
    ),
    Keyword.STATUS: (
        "status", "trạng thái", "trang thai", "状态", "katayuan", "स्थिति",
        "အခြေအနေ", "situação", "situacao", "상태", "สถานะ", "තත්ත්වය", "estado",
        "ស្ថានភាព", "төлөв", "অবস্থা", "صورتحال", "じょうきょう", "状況",
    ),
    Keyword.LANG: (
        "lang", "language", "ngôn ngữ", "ngon ngu", "语言", "wika", "भाषा", "bahasa",
        "ဘာသာ", "ဘာသာစကား", "idioma", "língua", "lingua", "언어", "ภาษา", "භාෂාව",
        "ភាសា", "хэл", "ভাষা", "زبان", "げんご", "言語",
    ),
}  # fmt: skip

_TRIM = " \t\r\n.,!?;:'\"()[]{}。、！？，；：「」『』।॥။၊؟،"


def normalise(text: str) -> str:
    """Case-folded, NFC, single-spaced, without surrounding punctuation."""
    folded = unicodedata.normalize("NFC", text).casefold()
    return " ".join(folded.split()).strip(_TRIM)


_KEYWORD_INDEX: dict[str, Keyword] = {
    normalise(word): keyword for keyword, words in KEYWORDS.items() for word in words
}


def keyword_of(text: str) -> Keyword | None:
    """The keyword a whole message is, if it is one."""
    return _KEYWORD_INDEX.get(normalise(text))


def parse_numbers(text: str) -> list[int] | None:
    """ "2", "1 3", "1,3", "২", "၂." -> numbers (any script's digits); None if not numbers."""
    cleaned = normalise(text)
    if not cleaned:
        return None
    tokens = [t for t in re.split(r"[\s,、，;/+&]+", cleaned) if t]
    numbers: list[int] = []
    for token in tokens:
        token = token.strip(_TRIM + "-")
        if not token:
            continue
        try:
            numbers.append(int("".join(str(unicodedata.digit(ch)) for ch in token)))
        except (TypeError, ValueError):
            return None
    return numbers or None


@dataclass(frozen=True)
class Menus:
    """The choices the machine offers, in menu order (codes only; no text)."""

    languages: tuple[str, ...]
    # Names a worker may type for a language: code -> names (endonym, English...).
    language_names: dict[str, tuple[str, ...]]
    categories: tuple[str, ...]
    # JIS code -> names (romanised, Japanese).
    prefectures: dict[str, tuple[str, ...]]


# When may we write? 1 = any time; 2-5 = the windows of cases.contact; 0 = never.
HOUR_CHOICES: dict[int, str] = {2: "morning", 3: "afternoon", 4: "evening", 5: "night"}
# Is this your own phone? (the values of the web form's question)
PHONE_CHOICES: dict[int, str] = {1: "own", 2: "shared", 3: "employer"}
# May we keep what you write? Asked before the story, separately from
# everything else (sensitive information needs prior consent).
CONSENT_CHOICES: dict[int, bool] = {1: True, 2: False}


@dataclass
class State:
    step: str = Step.NEW
    language: str | None = None
    stopped: bool = False
    resume_step: str | None = None  # where LANG returns to
    own_phone: str | None = None  # own | shared | employer
    may_write: bool | None = None  # False: "never write to me first"
    store_consent: bool | None = None  # the answer to "may we keep it?"
    windows: list[str] = field(default_factory=list)
    early: list[str] = field(default_factory=list)  # said before the narrative step
    narrative: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    prefecture: str | None = None
    has_case: bool = False
    last_at: str | None = None  # ISO time of the last message
    told_media_held: bool = False  # "we will add your photos": once per story

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> State:
        if not data:
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def said(self) -> str:
        """Everything the worker told us for the case, in order, joined."""
        return "\n\n".join(part for part in [*self.early, *self.narrative] if part.strip())


@dataclass(frozen=True)
class Reply:
    key: str
    params: dict[str, Any] = field(default_factory=dict)


class Action(StrEnum):
    OPEN_CASE = "open_case"  # open a case from the state (narrative, categories...)
    ADD_TO_CASE = "add_to_case"  # the text joins the open case as a worker message
    STOP = "stop"
    START = "start"
    SET_LANGUAGE = "set_language"
    FORGET_DRAFT = "forget_draft"  # what was said for a case not yet opened is dropped


@dataclass
class Outcome:
    state: State
    replies: list[Reply] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    text: str = ""  # the message, for ADD_TO_CASE


def _prompt(step: str, menus: Menus) -> list[Reply]:
    """The question a step asks."""
    if step in (Step.NEW, Step.LANGUAGE):
        return [Reply("language_menu")]
    if step == Step.SAFETY:
        return [Reply("safety_question")]
    if step == Step.HOURS:
        return [Reply("hours_question")]
    if step == Step.CONSENT:
        return [Reply("consent_question")]
    if step == Step.NARRATIVE:
        return [Reply("narrative_prompt")]
    if step == Step.CATEGORY:
        return [Reply("category_menu")]
    if step == Step.PREFECTURE:
        return [Reply("prefecture_question")]
    return []


def _parse_language(text: str, menus: Menus) -> str | None:
    numbers = parse_numbers(text)
    if numbers and len(numbers) == 1 and 1 <= numbers[0] <= len(menus.languages):
        return menus.languages[numbers[0] - 1]
    wanted = normalise(text)
    for code in menus.languages:
        names = (code, *menus.language_names.get(code, ()))
        if any(normalise(name) == wanted for name in names):
            return code
    return None


_PREFECTURE_SUFFIXES = ("-ken", " ken", "ken", "-fu", " fu", "-to", " to", "県", "府", "都")


def _parse_prefecture(text: str, menus: Menus) -> str | None:
    numbers = parse_numbers(text)
    if numbers and len(numbers) == 1 and 1 <= numbers[0] <= 47:
        return f"{numbers[0]:02d}"
    wanted = normalise(text)
    for suffix in _PREFECTURE_SUFFIXES:
        if wanted.endswith(suffix) and len(wanted) > len(suffix) + 1:
            wanted = wanted[: -len(suffix)]
            break
    wanted = wanted.replace("ō", "o").replace("ou", "o")
    for code, names in menus.prefectures.items():
        for name in names:
            plain = normalise(name).replace("ō", "o").replace("ou", "o")
            if plain == wanted or plain.rstrip("県府都") == wanted:
                return code
    return None


def keeps_media(state: State) -> bool:
    """May photos sent now wait for the case this intake will open? Only
    once the worker agreed that we keep what they send, as for their words."""
    return state.store_consent is True and state.step in (
        Step.NARRATIVE,
        Step.CATEGORY,
        Step.PREFECTURE,
    )


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _open_case(state: State, out: Outcome) -> None:
    out.actions.append(Action.OPEN_CASE)
    state.step = Step.OPEN
    state.has_case = True


def expire(state: State, now: datetime, timeout: timedelta) -> Outcome:
    """An intake left unanswered past `timeout` opens a case with what was said.

    Nothing said yet: nothing happens (the worker can carry on later). Said
    without agreeing that we keep it: it is forgotten. The reference is sent
    only when the worker already said we may write.
    """
    state = replace(state)
    out = Outcome(state)
    last = _time(state.last_at)
    if state.step not in INTAKE_STEPS or last is None or now - last < timeout:
        return out
    if not state.said:
        return out
    if state.store_consent is not True:
        state.early, state.narrative = [], []
        out.actions.append(Action.FORGET_DRAFT)
        return out
    _open_case(state, out)
    if state.may_write and not state.stopped:
        out.replies.append(Reply("receipt"))
    return out


def receive(state: State, text: str, now: datetime, menus: Menus, timeout: timedelta) -> Outcome:
    """One inbound message: the new state, the replies to send, the actions to take."""
    expired = expire(state, now, timeout)
    state = expired.state
    out = Outcome(state, actions=list(expired.actions))
    if Action.OPEN_CASE in expired.actions:
        # The worker is writing now: the reference comes in answer to this.
        out.replies.append(Reply("receipt"))
    state.last_at = now.isoformat()
    text = text.strip()
    keyword = keyword_of(text)

    if keyword is Keyword.STOP:
        state.stopped = True
        out.actions.append(Action.STOP)
        return out  # not even a confirmation: nothing after STOP
    if keyword is Keyword.START:
        was_stopped = state.stopped
        state.stopped = False
        if was_stopped:
            out.actions.append(Action.START)
        out.replies.append(Reply("started"))
        out.replies.extend(_prompt(state.step, menus))
        if state.step == Step.NEW:
            state.step = Step.LANGUAGE
        return out

    if keyword is not None and state.step != Step.NEW:
        _keyword(state, keyword, out, menus)
    else:
        _answer(state, text, out, menus)
    if state.stopped:
        out.replies = []
    return out


def _keyword(state: State, keyword: Keyword, out: Outcome, menus: Menus) -> None:
    if keyword is Keyword.HELP:
        out.replies.append(Reply("help"))
        out.replies.extend(_prompt(state.step, menus))
    elif keyword is Keyword.LANG:
        if state.step != Step.LANGUAGE:
            state.resume_step = state.step
        state.step = Step.LANGUAGE
        out.replies.append(Reply("language_menu"))
    elif keyword is Keyword.STATUS:
        out.replies.append(Reply("status" if state.has_case else "no_case"))
        if not state.has_case:
            out.replies.extend(_prompt(state.step, menus))
    elif keyword is Keyword.NEW:
        state.early, state.narrative, state.categories = [], [], []
        state.prefecture = None
        state.told_media_held = False
        if state.step in INTAKE_STEPS:
            out.actions.append(Action.FORGET_DRAFT)
        if state.language is None:
            state.step = Step.LANGUAGE
        elif state.own_phone is None:
            state.step = Step.SAFETY
        elif state.store_consent is not True:
            state.step = Step.CONSENT
        else:
            state.step = Step.NARRATIVE
        state.has_case = False
        out.replies.extend(_prompt(state.step, menus))


def _answer(state: State, text: str, out: Outcome, menus: Menus) -> None:
    step = state.step
    if step == Step.NEW:
        language = _parse_language(text, menus)
        if language is not None:
            state.language = language
            out.actions.append(Action.SET_LANGUAGE)
            state.step = Step.SAFETY
            out.replies.append(Reply("safety_question"))
            return
        if text and keyword_of(text) is None:
            state.early.append(text)
        state.step = Step.LANGUAGE
        out.replies.append(Reply("language_menu"))
        return

    if step == Step.LANGUAGE:
        language = _parse_language(text, menus)
        if language is None:
            if text:
                state.early.append(text)
            out.replies.append(Reply("language_menu"))
            return
        state.language = language
        out.actions.append(Action.SET_LANGUAGE)
        resume = state.resume_step
        state.resume_step = None
        if resume and resume not in (Step.NEW, Step.LANGUAGE):
            state.step = resume
            out.replies.append(Reply("language_changed"))
            out.replies.extend(_prompt(resume, menus))
        else:
            state.step = Step.SAFETY
            out.replies.append(Reply("safety_question"))
        return

    if step == Step.SAFETY:
        phone = _one_of(text, PHONE_CHOICES)
        if phone is None:
            _keep(state, text)
            out.replies.append(Reply("reprompt_number", {"max": len(PHONE_CHOICES)}))
            return
        state.own_phone = phone
        state.step = Step.HOURS
        out.replies.append(Reply("hours_question"))
        return

    if step == Step.HOURS:
        numbers = parse_numbers(text)
        valid = {0, 1, *HOUR_CHOICES}
        if not numbers or any(n not in valid for n in numbers):
            _keep(state, text)
            out.replies.append(Reply("reprompt_number", {"max": max(valid)}))
            return
        if 0 in numbers:
            state.may_write, state.windows = False, []
        elif 1 in numbers:
            state.may_write, state.windows = True, []
        else:
            state.may_write = True
            state.windows = [HOUR_CHOICES[n] for n in sorted(set(numbers))]
        state.step = Step.CONSENT
        out.replies.append(Reply("consent_question"))
        return

    if step == Step.CONSENT:
        agreed = _one_of(text, CONSENT_CHOICES)
        if agreed is None:
            # Not kept: nothing is, until the worker agrees.
            out.replies.append(Reply("consent_question"))
            return
        state.store_consent = agreed
        if not state.store_consent:
            # Forget what was said before the question; ask again next time.
            state.early, state.narrative = [], []
            out.actions.append(Action.FORGET_DRAFT)
            out.replies.append(Reply("consent_declined"))
            return
        state.step = Step.NARRATIVE
        out.replies.append(Reply("narrative_prompt"))
        return

    if step == Step.NARRATIVE:
        numbers = parse_numbers(text)
        if numbers == [0]:
            if not state.said:
                out.replies.append(Reply("narrative_empty"))
                return
            state.step = Step.CATEGORY
            out.replies.append(Reply("category_menu"))
            return
        if text:
            first = not state.narrative
            state.narrative.append(text)
            if first:
                out.replies.append(Reply("narrative_more"))
        return

    if step == Step.CATEGORY:
        numbers = parse_numbers(text)
        count = len(menus.categories)
        if not numbers or any(not 1 <= n <= count for n in numbers):
            _keep(state, text)
            out.replies.append(Reply("reprompt_category", {"max": count}))
            return
        chosen: list[str] = []
        for n in numbers:
            code = menus.categories[n - 1]
            if code not in chosen:
                chosen.append(code)
        state.categories = chosen
        state.step = Step.PREFECTURE
        out.replies.append(Reply("prefecture_question"))
        return

    if step == Step.PREFECTURE:
        if parse_numbers(text) == [0]:
            state.prefecture = None
        else:
            prefecture = _parse_prefecture(text, menus)
            if prefecture is None:
                _keep(state, text)
                out.replies.append(Reply("reprompt_prefecture"))
                return
            state.prefecture = prefecture
        _open_case(state, out)
        out.replies.append(Reply("receipt"))
        return

    # Step.OPEN: the message joins the case.
    out.actions.append(Action.ADD_TO_CASE)
    out.text = text
    out.replies.append(Reply("received"))


def _one_of(text: str, choices: dict[int, T]) -> T | None:
    """The choice a reply of exactly one listed number picks; None otherwise."""
    numbers = parse_numbers(text)
    if numbers is None or len(numbers) != 1:
        return None
    return choices.get(numbers[0])


def _keep(state: State, text: str) -> None:
    """An answer that is not a valid choice is still something the worker said."""
    if not text or parse_numbers(text) is not None:
        return
    if state.step in (Step.CATEGORY, Step.PREFECTURE):
        state.narrative.append(text)
    else:
        state.early.append(text)

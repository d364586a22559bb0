"""The SMS/WhatsApp conversation as a pure state machine: no Flask, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from grievance.i18n import LANGUAGES
from grievance.intake.conversation import (
    KEYWORDS,
    Action,
    Keyword,
    Menus,
    State,
    Step,
    expire,
    keeps_media,
    keyword_of,
    parse_numbers,
    receive,
)

MENUS = Menus(
    languages=tuple(lang.code for lang in LANGUAGES),
    language_names={lang.code: (lang.endonym, lang.english) for lang in LANGUAGES},
    categories=("WAGE_UNPAID", "DOC_RETAIN", "VIOLENCE", "LIFE_OTHER"),
    prefectures={"23": ("Aichi", "愛知県"), "13": ("Tokyo", "東京都")},
)
TIMEOUT = timedelta(hours=2)
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


class Chat:
    """Feeds messages one by one, a minute apart, and keeps the latest outcome."""

    def __init__(self, state: State | None = None) -> None:
        self.state = state or State()
        self.now = T0
        self.actions: list[Action] = []

    def send(self, text: str, after: timedelta = timedelta(minutes=1)) -> list[str]:
        self.now += after
        out = receive(self.state, text, self.now, MENUS, TIMEOUT)
        self.state = out.state
        self.actions.extend(out.actions)
        self.last = out
        return [r.key for r in out.replies]


def full_intake(chat: Chat, language_number: str = "1") -> None:
    assert chat.send("hello") == ["language_menu"]
    assert chat.send(language_number) == ["safety_question"]
    assert chat.send("1") == ["hours_question"]
    assert chat.send("4") == ["consent_question"]
    assert chat.send("1") == ["narrative_prompt"]
    assert chat.send("My boss has not paid me for two months.") == ["narrative_more"]
    assert chat.send("He also keeps my passport.") == []
    assert chat.send("0") == ["category_menu"]
    assert chat.send("1 2") == ["prefecture_question"]
    assert chat.send("Aichi") == ["receipt"]


def test_complete_intake_collects_everything_and_opens_a_case() -> None:
    chat = Chat()
    full_intake(chat)
    s = chat.state
    assert s.step == Step.OPEN and s.has_case
    assert s.language == "vi"
    assert s.own_phone == "own" and s.may_write and s.windows == ["evening"]
    assert s.categories == ["WAGE_UNPAID", "DOC_RETAIN"]
    assert s.prefecture == "23"
    # The first "hello" is kept too: nothing the worker said is lost.
    assert s.said == (
        "hello\n\nMy boss has not paid me for two months.\n\nHe also keeps my passport."
    )
    assert chat.actions.count(Action.OPEN_CASE) == 1


def test_later_messages_join_the_open_case() -> None:
    chat = Chat()
    full_intake(chat)
    assert chat.send("They shouted at me today") == ["received"]
    assert chat.last.actions == [Action.ADD_TO_CASE]
    assert chat.last.text == "They shouted at me today"


@pytest.mark.parametrize(
    ("answer", "language"),
    [("5", "id"), ("Tiếng Việt", "vi"), ("nepali", "ne"), ("Português", "pt-BR"), ("७", "pt-BR")],
)
def test_language_by_number_or_name(answer: str, language: str) -> None:
    chat = Chat()
    chat.send("hi")
    assert chat.send(answer) == ["safety_question"]
    assert chat.state.language == language


def test_invalid_answers_get_a_short_reprompt_and_are_kept() -> None:
    chat = Chat()
    chat.send("hi")
    assert chat.send("what is this?") == ["language_menu"]
    chat.send("1")
    assert chat.send("9") == ["reprompt_number"]
    assert chat.last.replies[0].params == {"max": 3}
    assert chat.send("I am scared") == ["reprompt_number"]
    chat.send("2")
    assert chat.send("7") == ["reprompt_number"]
    chat.send("0")
    assert chat.state.may_write is False
    assert chat.send("3") == ["consent_question"]
    chat.send("1")
    chat.send("Story")
    chat.send("0")
    assert chat.send("99") == ["reprompt_category"]
    assert chat.send("1") == ["prefecture_question"]
    assert chat.send("Atlantis") == ["reprompt_prefecture"]
    assert chat.send("0") == ["receipt"]
    assert chat.state.prefecture is None
    assert "I am scared" in chat.state.said and "what is this?" in chat.state.said
    assert "Atlantis" in chat.state.said


def test_narrative_needs_some_text_before_zero() -> None:
    chat = Chat()
    for text in ("1", "1", "1", "1"):
        chat.send(text)
    assert chat.state.step == Step.NARRATIVE
    assert chat.send("0") == ["narrative_empty"]
    assert chat.state.step == Step.NARRATIVE


def test_stop_silences_everything_until_start() -> None:
    chat = Chat()
    chat.send("hi")
    chat.send("1")
    assert chat.send("STOP") == []
    assert chat.state.stopped and Action.STOP in chat.last.actions
    # Answers still count, but nothing is sent back.
    assert chat.send("1") == []
    assert chat.send("HELP") == []
    assert chat.state.step == Step.HOURS
    assert chat.send("start") == ["started", "hours_question"]
    assert not chat.state.stopped and Action.START in chat.last.actions


def test_stop_while_open_still_adds_messages_to_the_case() -> None:
    chat = Chat()
    full_intake(chat)
    chat.send("dừng")
    assert chat.send("more news") == []
    assert chat.last.actions == [Action.ADD_TO_CASE]


def test_help_status_and_lang_keep_the_place() -> None:
    chat = Chat()
    chat.send("hi")
    chat.send("1")
    assert chat.send("giúp") == ["help", "safety_question"]
    assert chat.send("STATUS") == ["no_case", "safety_question"]
    assert chat.send("lang") == ["language_menu"]
    assert chat.send("5") == ["language_changed", "safety_question"]
    assert chat.state.language == "id"
    assert chat.state.step == Step.SAFETY


def test_new_starts_another_case_keeping_language_and_safety() -> None:
    chat = Chat()
    full_intake(chat)
    assert chat.send("status") == ["status"]
    assert chat.send("baru") == ["narrative_prompt"]
    s = chat.state
    assert s.step == Step.NARRATIVE and not s.has_case and s.narrative == []
    assert s.language == "vi" and s.own_phone == "own"


def test_abandoned_intake_times_out_and_keeps_what_was_said() -> None:
    chat = Chat()
    for text in ("hi", "1", "1", "1", "1", "Nobody pays us"):
        chat.send(text)
    out = expire(chat.state, chat.now + timedelta(minutes=30), TIMEOUT)
    assert out.actions == []  # not yet
    out = expire(chat.state, chat.now + TIMEOUT + timedelta(seconds=1), TIMEOUT)
    assert out.actions == [Action.OPEN_CASE]
    assert out.state.step == Step.OPEN and "Nobody pays us" in out.state.said
    assert [r.key for r in out.replies] == ["receipt"]  # the worker allowed messages


def test_timeout_sends_nothing_when_not_allowed_to_write() -> None:
    chat = Chat()
    for text in ("hi", "1", "2", "0", "1", "Nobody pays us"):
        chat.send(text)
    out = expire(chat.state, chat.now + TIMEOUT * 2, TIMEOUT)
    assert out.actions == [Action.OPEN_CASE] and out.replies == []


def test_nothing_is_kept_before_the_worker_agrees() -> None:
    """Sensitive information needs prior consent: what is said before the
    question, or instead of an answer, is kept only once the worker says
    yes; a no forgets it, and so does an abandoned conversation."""
    chat = Chat()
    for text in ("My passport was taken", "1", "1", "1"):
        chat.send(text)
    assert chat.state.step == Step.CONSENT
    assert chat.send("Please help me") == ["consent_question"]
    assert "Please help me" not in chat.state.said
    assert chat.send("2") == ["consent_declined"]
    assert chat.state.said == "" and chat.state.store_consent is False
    # A new message asks again, and keeps nothing.
    assert chat.send("Sorry, yes") == ["consent_question"]
    assert chat.send("NEW") == ["consent_question"]
    assert chat.send("1") == ["narrative_prompt"]
    chat.send("They took my passport")
    assert chat.state.said == "They took my passport"

    abandoned = Chat()
    for text in ("Unpaid for months", "1", "1", "1"):
        abandoned.send(text)
    out = expire(abandoned.state, abandoned.now + TIMEOUT * 2, TIMEOUT)
    assert out.actions == [Action.FORGET_DRAFT] and out.state.said == ""


def test_timeout_with_nothing_said_changes_nothing() -> None:
    chat = Chat()
    chat.send("1")
    out = expire(chat.state, chat.now + TIMEOUT * 5, TIMEOUT)
    assert out.actions == [] and out.state.step == Step.SAFETY


def test_a_late_message_after_timeout_opens_the_case_and_joins_it() -> None:
    chat = Chat()
    for text in ("hi", "1", "1", "1", "1", "Nobody pays us"):
        chat.send(text)
    assert chat.send("I am back", after=TIMEOUT * 2) == ["receipt", "received"]
    assert chat.last.actions == [Action.OPEN_CASE, Action.ADD_TO_CASE]


def test_state_round_trips_through_a_dict() -> None:
    chat = Chat()
    full_intake(chat)
    assert State.from_dict(chat.state.to_dict()) == chat.state
    assert State.from_dict({"step": "safety", "unknown": 1}).step == "safety"


def test_every_language_has_every_keyword() -> None:
    # Words per keyword: English plus at least one per other language.
    others = len([lang for lang in LANGUAGES if lang.code != "en"])
    for keyword, words in KEYWORDS.items():
        assert "stop" in KEYWORDS[Keyword.STOP]
        assert len(words) >= others - 2, keyword  # ja and Easy Japanese share words


def test_no_word_means_two_keywords() -> None:
    seen: dict[str, Keyword] = {}
    for keyword, words in KEYWORDS.items():
        for word in words:
            assert seen.setdefault(word.casefold(), keyword) == keyword, word


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", Keyword.STOP),
        (" Stop! ", Keyword.STOP),
        ("berhenti", Keyword.STOP),
        ("रोक", Keyword.STOP),
        ("ajuda", Keyword.HELP),
        ("NOVO", Keyword.NEW),
        ("trạng thái", Keyword.STATUS),
        ("भाषा", Keyword.LANG),
        ("stop paying me", None),
        ("dung", None),
    ],
)
def test_keywords_match_whole_messages_only(text: str, keyword: Keyword | None) -> None:
    assert keyword_of(text) is keyword


@pytest.mark.parametrize(
    ("text", "numbers"),
    [("2", [2]), ("1 3", [1, 3]), ("1,3", [1, 3]), ("၂", [2]), ("২.", [2]), ("１２", [12])],
)
def test_numbers_in_any_script(text: str, numbers: list[int]) -> None:
    assert parse_numbers(text) == numbers


def test_words_are_not_numbers() -> None:
    assert parse_numbers("two") is None and parse_numbers("") is None


def test_photos_wait_for_the_case_only_once_the_worker_agreed() -> None:
    """keeps_media is what the gateway asks before holding a photo's address
    for the case an intake will open; forgetting the words forgets them."""
    chat = Chat()
    for text in ("hi", "1", "1", "1"):
        chat.send(text)
        assert not keeps_media(chat.state)  # language, safety, hours, consent
    chat.send("1")
    assert keeps_media(chat.state)  # telling the story
    chat.send("They keep my passport")
    chat.send("0")
    assert keeps_media(chat.state)  # categories
    chat.send("NEW")
    assert Action.FORGET_DRAFT in chat.last.actions and chat.state.said == ""
    assert keeps_media(chat.state)  # a new story, new photos
    chat.send("Unpaid wages")
    chat.send("0")
    chat.send("1")
    chat.send("0")
    assert chat.state.step == Step.OPEN and not keeps_media(chat.state)
    # NEW after a case is open forgets nothing: the case keeps its files.
    chat.send("NEW")
    assert Action.FORGET_DRAFT not in chat.last.actions

    declined = Chat()
    for text in ("hi", "1", "1", "1"):
        declined.send(text)
    declined.send("2")
    assert Action.FORGET_DRAFT in declined.last.actions and not keeps_media(declined.state)

    abandoned = Chat()
    for text in ("My passport was taken", "1", "1", "1"):
        abandoned.send(text)
    out = expire(abandoned.state, abandoned.now + TIMEOUT * 2, TIMEOUT)
    assert out.actions == [Action.FORGET_DRAFT]

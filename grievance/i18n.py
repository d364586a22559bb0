"""The language registry and locale selection.

Worker pages live under a `/<code>/` prefix with the codes below. A code
that is not in the registry never reaches Flask-Babel (it would raise on an
unknown locale); views answer 404 instead. Two gettext domains keep the
catalogs honest: `messages` (worker pages and error pages) is translated into
every language here, `staff` (caseworker, advisor and admin pages) into
Japanese and English.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask_babel
from babel.support import NullTranslations, Translations
from flask import current_app, g, has_app_context, has_request_context, request, session
from flask.globals import _cv_app
from flask_babel import Domain
from flask_babel.speaklater import LazyString


@dataclass(frozen=True)
class Language:
    code: str  # as in URLs and the database, e.g. "pt-BR"
    endonym: str  # the language's own name; shown instead of flags
    english: str
    direction: str  # "ltr" or "rtl"
    babel_locale: str  # what Babel formats dates and numbers with

    @property
    def catalog(self) -> str:
        """The folder name under translations/ ("pt-BR" -> "pt_BR")."""
        return self.code.replace("-", "_")


# Ordered by the number of workers who speak them (languages.csv), then
# Japanese and Easy Japanese.
LANGUAGES: tuple[Language, ...] = (
    Language("vi", "Tiếng Việt", "Vietnamese", "ltr", "vi"),
    Language("zh-Hans", "简体中文", "Chinese (Simplified)", "ltr", "zh_Hans"),
    Language("fil", "Filipino", "Filipino", "ltr", "fil"),
    Language("ne", "नेपाली", "Nepali", "ltr", "ne"),
    Language("id", "Bahasa Indonesia", "Indonesian", "ltr", "id"),
    Language("my", "မြန်မာဘာသာ", "Burmese", "ltr", "my"),
    Language("pt-BR", "Português", "Portuguese (Brazil)", "ltr", "pt_BR"),
    Language("en", "English", "English", "ltr", "en"),
    Language("ko", "한국어", "Korean", "ltr", "ko"),
    Language("th", "ไทย", "Thai", "ltr", "th"),
    Language("si", "සිංහල", "Sinhala", "ltr", "si"),
    Language("es", "Español", "Spanish", "ltr", "es"),
    Language("km", "ខ្មែរ", "Khmer", "ltr", "km"),
    Language("mn", "Монгол", "Mongolian", "ltr", "mn"),
    Language("bn", "বাংলা", "Bengali", "ltr", "bn"),
    Language("ur", "اردو", "Urdu", "rtl", "ur"),
    Language("ja-x-easy", "やさしい にほんご", "Easy Japanese", "ltr", "ja"),
    Language("ja", "日本語", "Japanese", "ltr", "ja"),
)

BY_CODE: dict[str, Language] = {lang.code: lang for lang in LANGUAGES}
# Aliases people and providers use; "tl" is the older code for Filipino.
ALIASES: dict[str, str] = {
    "tl": "fil",
    "zh": "zh-Hans",
    "zh-cn": "zh-Hans",
    "zh-hans": "zh-Hans",
    "pt": "pt-BR",
    "pt-br": "pt-BR",
}
STAFF_LANGUAGES: tuple[str, ...] = ("ja", "en")
DEFAULT_WORKER_LANGUAGE = "en"


def lookup(code: str | None) -> Language | None:
    """The registered language for a code or alias, case-insensitively."""
    if not code:
        return None
    if code in BY_CODE:
        return BY_CODE[code]
    folded = code.strip().lower()
    if folded in ALIASES:
        return BY_CODE[ALIASES[folded]]
    for lang in LANGUAGES:
        if lang.code.lower() == folded:
            return lang
    return None


def negotiate(candidates: tuple[str, ...] | list[str], default: str) -> str:
    """Best match from Accept-Language among `candidates` (codes)."""
    if not has_request_context():
        return default
    best = default
    best_q = -1.0
    for value, quality in request.accept_languages:
        lang = lookup(value) or lookup(value.split("-")[0])
        if lang and lang.code in candidates and quality > best_q:
            best, best_q = lang.code, quality
    return best


def set_language(code: str) -> Language:
    """Make `code` the language of this request (must be registered)."""
    lang = BY_CODE[code]
    g.ui_language = lang
    return lang


def _app_globals() -> Any | None:
    """This application context's `g`, None outside one.

    Read from Flask's context variable, not through the `g` proxy: a page
    asks for its language and catalog some two hundred times (every label
    and text translated from Python), and each look-up through the proxy
    took 1.5 us (a twentieth of a case page's time with the catalog's).
    """
    context = _cv_app.get(None)
    return None if context is None else context.g


def current_language() -> Language:
    # `g` lives in the application context, so jobs and commands that render
    # a worker's text in the worker's language (outside any request) can set it.
    return _language_in(_app_globals())


def _language_in(app_g: Any | None) -> Language:
    lang = None if app_g is None else app_g.__dict__.get("ui_language")
    return lang or BY_CODE[DEFAULT_WORKER_LANGUAGE]


def staff_language() -> str:
    """ja or en for staff pages: the staff member's choice, else the browser's."""
    chosen = session.get("staff_lang")
    if chosen in STAFF_LANGUAGES:
        return chosen
    return negotiate(STAFF_LANGUAGES, "ja")


def select_locale() -> str:
    """Flask-Babel locale selector: formats dates in the page's language."""
    return current_language().babel_locale


class CatalogDomain(Domain):
    """A gettext domain that loads catalogs by our language code.

    Flask-Babel looks catalogs up by Babel locale, which cannot express
    Easy Japanese (a variety of `ja`); we load by registry code instead and
    cache one Translations object per (domain, code).
    """

    def __init__(self, domain: str) -> None:
        super().__init__(domain=domain)
        self.name = domain
        self._loaded: dict[str, NullTranslations] = {}

    def get_translations(self) -> NullTranslations:
        return self.translations_for(current_language())

    def translations_for(self, lang: Language) -> NullTranslations:
        """This domain's catalog in `lang`, loaded once."""
        cached = self._loaded.get(lang.code)
        if cached is not None:
            return cached
        directory = Path(current_app.config["BABEL_TRANSLATION_DIRECTORIES"])
        path = directory / lang.catalog / "LC_MESSAGES" / f"{self.name}.mo"
        translations: NullTranslations
        if path.exists():
            with path.open("rb") as fh:
                translations = Translations(fp=fh, domain=self.name)
        else:
            translations = NullTranslations()
        self._loaded[lang.code] = translations
        return translations


worker_domain = CatalogDomain("messages")
staff_domain = CatalogDomain("staff")


def page_translations() -> NullTranslations:
    """The catalog this request's pages speak: the domain its blueprint
    chose (`as_default`) in the page's language.

    What `flask_babel.get_translations` returns, without the four lookups
    it makes on every call: templates translate a hundred strings a page.
    """
    catalog = stable_page_catalog()
    return catalog if catalog is not None else flask_babel.get_translations()


def stable_page_catalog() -> NullTranslations | None:
    """`page_translations()` when it is one of our catalogs, which live as
    long as the process (templates are compiled once per catalog); None
    for any other."""
    app_g = _app_globals()
    if app_g is None:
        return None
    chosen = getattr(app_g.__dict__.get("_flask_babel"), "babel_domain", None)
    if isinstance(chosen, CatalogDomain):
        return chosen.translations_for(_language_in(app_g))
    return None


def gettext(string: str, **variables: Any) -> str:
    """`flask_babel.gettext`: the same catalog and the same formatting, the
    catalog found by `page_translations` in one lookup instead of five (a
    staff page translates a hundred strings from Python and lazy labels).
    Outside an application there is no catalog: the text as written."""
    if not has_app_context():
        return string % variables if variables else string
    text = page_translations().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """`flask_babel.lazy_gettext`, translated by `gettext` above when used."""
    return LazyString(gettext, string, **variables)

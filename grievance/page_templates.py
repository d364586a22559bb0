"""Templates compiled once per catalog, with their fixed texts translated in.

Most of a page's texts are fixed: `{{ _("Language") }}`. Looked up while
rendering, each costs a function call, a catalog lookup and a format; a
case page has about 140 of them. Here each catalog (a language of one
domain: the staff pages' or the workers') gets its own copy of the Jinja
environment, and when that copy compiles a template, every `{{ _("...") }}`
or `{{ gettext("...") }}` with a string literal and nothing else becomes
the translated text, as if written in the template. Jinja then outputs it as
plain template text.

The result is the same as the call's: the catalog's text, treated as a
format string with no variables (so "%%" is "%"), never escaped, as Jinja's
own i18n extension does. A call with variables, any other expression, or a
text that fails as a format string is left to run as before.

Which copy renders a page is decided when Flask asks for the template, by
the catalog `_()` would use at that moment (`i18n.page_translations`), so a
page rendered in another language (a job writing in the worker's language)
gets that language's copy. Outside a request or with no catalog of ours,
the shared environment renders with no folding.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from babel.support import NullTranslations
from flask import Flask, has_app_context
from flask.templating import Environment
from jinja2 import Template
from jinja2.ext import Extension
from jinja2.lexer import (
    TOKEN_DATA,
    TOKEN_LPAREN,
    TOKEN_NAME,
    TOKEN_RPAREN,
    TOKEN_STRING,
    TOKEN_VARIABLE_BEGIN,
    TOKEN_VARIABLE_END,
    Token,
    TokenStream,
)

from grievance import i18n

TRANSLATING_NAMES = frozenset({"_", "gettext"})
# Jinja's own default; each catalog's copy keeps its own compiled templates.
CACHE_SIZE = 400


class CatalogEnvironment(Environment):
    """Flask's Jinja environment, with one copy per catalog (see above)."""

    # Set on the copies only: the catalog whose texts they compile in.
    catalog: NullTranslations | None = None

    def __init__(self, app: Flask, **options: Any) -> None:
        super().__init__(app, **options)
        # Shared with the copies (overlays share the attributes); catalogs
        # live as long as the process (i18n.CatalogDomain keeps them).
        self.copies: dict[NullTranslations, CatalogEnvironment] = {}

    def for_page(self) -> CatalogEnvironment:
        """The copy for the catalog `_()` would use now, or this environment."""
        if self.catalog is not None or not has_app_context():
            return self
        catalog = i18n.stable_page_catalog()
        if catalog is None:
            return self
        copy = self.copies.get(catalog)
        if copy is None:
            # A fresh cache: the shared environment's compiled templates
            # must not be copied over.
            copy = self.overlay(cache_size=CACHE_SIZE)
            copy.catalog = catalog
            copy = self.copies.setdefault(catalog, copy)
        return copy

    def get_template(self, name: Any, parent: str | None = None, globals: Any = None) -> Template:
        env = self.for_page()
        if env is not self:
            return env.get_template(name, parent, globals)
        return super().get_template(name, parent, globals)

    def select_template(
        self, names: Iterable[Any], parent: str | None = None, globals: Any = None
    ) -> Template:
        env = self.for_page()
        if env is not self:
            return env.select_template(names, parent, globals)
        return super().select_template(names, parent, globals)


class CatalogFlask(Flask):
    jinja_environment = CatalogEnvironment


def fixed_text(catalog: NullTranslations, string: str) -> str | None:
    """What `{{ _(string) }}` outputs with this catalog, or None if it
    cannot be known before rendering."""
    if not string:
        return None  # a catalog's "" is its header
    try:
        return catalog.ugettext(string) % {}
    except (KeyError, ValueError, TypeError):
        return None


class FixedTexts(Extension):
    """Folds `{{ _("literal") }}` into template text in catalog copies."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:  # type: ignore[override]
        catalog = getattr(self.environment, "catalog", None)
        if catalog is None:
            yield from stream
            return
        tokens = iter(stream)
        for token in tokens:
            if token.type != TOKEN_VARIABLE_BEGIN:
                yield token
                continue
            held = [token]
            for inner in tokens:
                held.append(inner)
                if inner.type == TOKEN_VARIABLE_END:
                    break
            text = _folded(catalog, held)
            if text is None:
                yield from held
            else:
                yield Token(token.lineno, TOKEN_DATA, text)


_CALL_SHAPE = (
    TOKEN_VARIABLE_BEGIN,
    TOKEN_NAME,
    TOKEN_LPAREN,
    TOKEN_STRING,
    TOKEN_RPAREN,
    TOKEN_VARIABLE_END,
)


def _folded(catalog: NullTranslations, tokens: list[Token]) -> str | None:
    if tuple(t.type for t in tokens) != _CALL_SHAPE:
        return None
    if tokens[1].value not in TRANSLATING_NAMES:
        return None
    return fixed_text(catalog, tokens[3].value)

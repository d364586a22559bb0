"""The base of every form: Flask-WTF with WTForms' own messages cached, a
CSRF token signed only for a form that is drawn, fields copied from one
built per language, and drawn by the faster widgets of `grievance.widgets`.

Flask-WTF loads WTForms' message catalog from disk once per request (it
caches it on the request), and every form with a field that has no label
asks for it. Catalogs do not change while the process runs, so one loaded
catalog per locale serves every request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from babel import support
from flask import current_app, g
from flask_wtf import FlaskForm
from flask_wtf.csrf import _FlaskFormCSRF
from wtforms.csrf.core import CSRFTokenField
from wtforms.fields import Field, FieldList, FormField, HiddenField, SelectChoice
from wtforms.fields.core import UnboundField
from wtforms.i18n import messages_path
from wtforms.widgets.core import clean_key

from grievance import csrf_tokens, i18n
from grievance.widgets import faster


class _WTFormsMessages:
    """What Flask-WTF's `translations` does, in one locale, with its catalog
    loaded once."""

    def __init__(self, locale: str) -> None:
        self._catalog = support.Translations.load(messages_path(), [locale], domain="wtforms")

    def gettext(self, string: str) -> str:
        return self._catalog.ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalog.ungettext(singular, plural, n)


_MESSAGES: dict[str, _WTFormsMessages] = {}


def _messages() -> _WTFormsMessages:
    """The request's locale's messages (one object per locale).

    The locale is the page language's own (what Flask-Babel's locale
    selector gives, `i18n.select_locale`), read without `get_locale`:
    asking Flask-Babel for it and naming it took 2 % of a report.
    """
    locale = i18n.current_language().babel_locale
    messages = _MESSAGES.get(locale)
    if messages is None:
        messages = _MESSAGES[locale] = _WTFormsMessages(locale)
    return messages


def options(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as the choices of a select, radio or checkbox
    field. WTForms 3.3 deprecates tuples (3.4 drops them) and warns about
    them at every field built: eight warnings a report form."""
    return [SelectChoice(value, label) for value, label in pairs]


class _TokenWhenDrawn(CSRFTokenField):
    """The CSRF field, signing the session's token when the form is drawn.

    WTForms signs a fresh copy for every form built, drawn or not; a form
    that is only checked (an accepted report, a button whose POST
    redirects) then signs one for nothing: nearly a fifth of building the
    report form. The check of the token sent is Flask-WTF's, unchanged.
    """

    def process(self, *args: Any, **kwargs: Any) -> None:
        HiddenField.process(self, *args, **kwargs)

    def _value(self) -> str:
        if self.current_token is None:
            self.current_token = self.csrf_impl.generate_csrf_token(self)
        return str(self.current_token)


class _CSRF(_FlaskFormCSRF):  # type: ignore[misc]
    """Flask-WTF's form CSRF, its token made and checked by
    `grievance.csrf_tokens` (the same token, its serializer made once)."""

    field_class = _TokenWhenDrawn

    def generate_csrf_token(self, csrf_token_field: Any) -> str:
        return csrf_tokens.make_token(self.meta.csrf_secret, self.meta.csrf_field_name)

    def validate_csrf_token(self, form: Any, field: Any) -> None:
        if g.get("csrf_valid", False):
            return  # checked before the view ran (csrf_tokens.CSRFProtection)
        csrf_tokens.check_token(
            field.data, self.meta.csrf_secret, self.meta.csrf_time_limit, self.meta.csrf_field_name
        )


# Fields that hold per-form state beyond their data (a CSRF token's
# context, nested forms): built anew for every form.
_BUILT_EACH_TIME = (CSRFTokenField, FormField, FieldList)
# Where an unbound field keeps the fields built from it, by name, prefix
# and language (on the unbound field: a form class made at run time takes
# its copies with it when it goes).
_PROTOTYPES = "_grievance_prototypes"


def _copy_of_built(form: Any, unbound: UnboundField, bind_options: dict[str, Any]) -> Field:
    """A field as `unbound.bind` would build it for `form`, copied from one
    built before for the same name, prefix and language.

    WTForms builds every field of a form anew for each request: its label,
    flags, validators and choices, the same each time. Building the report
    form (19 fields, with the request's data) took 129 us, and 59 us with
    the fields copied and WTForms' messages found once per form (one object
    per locale, above). What a request changes is set on the copy only: its
    form and meta here, its data, errors and (where a view sets them)
    choices when processed. Shared
    between copies, and never changed in place by this application: the
    label, flags, validators, choices list and render_kw.
    """
    prototypes = unbound.__dict__.setdefault(_PROTOTYPES, {})
    # The language counts (a field without a label gets a translated one,
    # and its messages): the translations object is the locale's own.
    key = (bind_options["name"], bind_options.get("prefix", ""), bind_options["translations"])
    prototype = prototypes.get(key)
    if prototype is None:
        prototype = prototypes[key] = unbound.bind(form=form, **bind_options)
    field = object.__new__(type(prototype))
    field.__dict__.update(prototype.__dict__)
    field.meta = form.meta
    field._form = form
    return field


class BaseForm(FlaskForm):
    class Meta(FlaskForm.Meta):
        csrf_class = _CSRF

        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            if not isinstance(options.get("translations"), _WTFormsMessages) or issubclass(
                unbound_field.field_class, _BUILT_EACH_TIME
            ):
                return super().bind_field(form, unbound_field, options)
            return _copy_of_built(form, unbound_field, options)

        def get_translations(self, form: Any) -> Any:
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _messages()

        def render_field(self, field: Any, render_kw: dict[str, Any]) -> Any:
            # WTForms' DefaultMeta.render_field, with the widget swapped for
            # its faster copy (grievance.widgets.faster).
            render_kw = {clean_key(k): v for k, v in render_kw.items()}
            own = getattr(field, "render_kw", None)
            if own is not None:
                render_kw = {**{clean_key(k): v for k, v in own.items()}, **render_kw}
            return faster(field.widget)(field, **render_kw)

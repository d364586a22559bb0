"""The base of every form: Flask-WTF with WTForms' own messages cached, a
CSRF token signed only for a form that is drawn, and fields drawn by the
faster widgets of `grievance.widgets`.

Flask-WTF loads WTForms' message catalog from disk once per request (it
caches it on the request), and every form with a field that has no label
asks for it. Catalogs do not change while the process runs, so one loaded
catalog per locale serves every request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from babel import support
from flask import current_app
from flask_babel import get_locale
from flask_wtf import FlaskForm
from flask_wtf.csrf import _FlaskFormCSRF
from wtforms.csrf.core import CSRFTokenField
from wtforms.fields import HiddenField, SelectChoice
from wtforms.i18n import messages_path
from wtforms.widgets.core import clean_key

from grievance.widgets import faster

_CATALOGS: dict[str, support.NullTranslations] = {}


class _WTFormsMessages:
    """What Flask-WTF's `translations` does, with a catalog per locale kept."""

    def _catalog(self) -> support.NullTranslations:
        locale = str(get_locale())
        catalog = _CATALOGS.get(locale)
        if catalog is None:
            catalog = support.Translations.load(messages_path(), [locale], domain="wtforms")
            _CATALOGS[locale] = catalog
        return catalog

    def gettext(self, string: str) -> str:
        return self._catalog().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalog().ungettext(singular, plural, n)


_MESSAGES = _WTFormsMessages()


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
    field_class = _TokenWhenDrawn


class BaseForm(FlaskForm):
    class Meta(FlaskForm.Meta):
        csrf_class = _CSRF

        def get_translations(self, form: Any) -> Any:
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _MESSAGES

        def render_field(self, field: Any, render_kw: dict[str, Any]) -> Any:
            # WTForms' DefaultMeta.render_field, with the widget swapped for
            # its faster copy (grievance.widgets.faster).
            render_kw = {clean_key(k): v for k, v in render_kw.items()}
            own = getattr(field, "render_kw", None)
            if own is not None:
                render_kw = {**{clean_key(k): v for k, v in own.items()}, **render_kw}
            return faster(field.widget)(field, **render_kw)

"""Templates compiled per catalog: fixed texts translated in, the same output."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template
from markupsafe import Markup

from grievance import i18n
from grievance.page_templates import CatalogEnvironment
from grievance.staff.forms import LoginForm


def _env(app: Flask) -> CatalogEnvironment:
    env = app.jinja_env
    assert isinstance(env, CatalogEnvironment)
    return env


def _in(app: Flask, domain: i18n.CatalogDomain, code: str, source: str, **context: Any) -> str:
    """Render `source` with the copy for (domain, code), and with no folding."""
    with app.test_request_context("/"):
        i18n.set_language(code)
        domain.as_default()
        copy = _env(app).for_page()
        assert copy is not app.jinja_env and copy.catalog is i18n.page_translations()
        folded = copy.from_string(source).render(**context)
        # The shared environment runs every `_()` while rendering.
        assert app.jinja_env.from_string(source).render(**context) == folded
        return folded


def test_fixed_texts_are_compiled_in_and_the_output_is_the_same(app: Flask) -> None:
    source = (
        '<p>{{ _("Case") }}</p>{{ _("Viewed %(count)s times.", count=n) }}'
        "|{{ gettext('100%% sure') }}|{{ _('Staff log in') if n else '' }}"
    )
    html = _in(app, i18n.staff_domain, "ja", source, n="<b>")
    assert html.startswith("<p>ケース</p>閲覧 &lt;b&gt; 回。|100% sure|")
    assert _in(app, i18n.staff_domain, "en", source, n=2).startswith("<p>Case</p>Viewed 2 times.")


def test_only_calls_with_one_literal_and_nothing_else_are_folded(app: Flask) -> None:
    calls: list[str] = []

    def counting(text: str, **variables: Any) -> Markup:
        calls.append(text)
        # As the real `_()` does, minus formatting a text with no variables.
        return Markup(text) % variables if variables else Markup(text)  # noqa: S704

    source = (
        '{{ _("Case") }}{{- _("Due") -}}{{ _("Viewed %(count)s times.", count=1) }}'
        '{{ _(word) }}{{ _("Case")|upper }}{{ _("100%(x)s") }}'
    )
    with app.test_request_context("/"):
        i18n.set_language("en")
        i18n.staff_domain.as_default()
        html = _env(app).for_page().from_string(source).render(_=counting, word="Due")
    # A literal with variables, an expression, a filter, and a text that
    # fails as a format string with no variables are called at render time.
    assert calls == ["Viewed %(count)s times.", "Due", "Case", "100%(x)s"]
    assert html == "CaseDueViewed 1 times.DueCASE100%(x)s"


def test_each_language_has_its_own_compiled_pages(app: Flask) -> None:
    pages = {}
    for code in ("ja", "en", "ja"):
        with app.test_request_context("/"):
            i18n.set_language(code)
            i18n.staff_domain.as_default()
            pages[code] = render_template("staff/login.html", form=LoginForm())
    assert "スタッフ" in pages["ja"] and "Staff log in" not in pages["ja"]
    assert "Staff log in" in pages["en"]
    # One copy per catalog, kept: rendering again compiles nothing new.
    staff_catalogs = list(i18n.staff_domain._loaded.values())
    staff_copies = [c for c in _env(app).copies if c in staff_catalogs]
    assert len(staff_copies) == 2


def test_outside_a_request_the_shared_environment_renders(app: Flask) -> None:
    env = _env(app)
    assert env.for_page() is env
    with app.app_context():
        # No catalog of ours chosen: Flask-Babel's own lookup, no folding.
        assert env.for_page() is env

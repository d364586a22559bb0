"""`_()` in templates: the request's catalog, Jinja's formatting, escaped variables."""

from __future__ import annotations

from flask import Flask, render_template_string

from grievance import i18n


def _render(
    app: Flask, domain: i18n.CatalogDomain, code: str, source: str, **context: object
) -> str:
    with app.test_request_context("/"):
        i18n.set_language(code)
        domain.as_default()
        return render_template_string(source, **context)


def test_staff_pages_speak_the_staff_catalog_in_the_page_language(app: Flask) -> None:
    source = "{{ _('Viewed %(count)s times.', count=n) }}"
    assert _render(app, i18n.staff_domain, "ja", source, n=3) == "閲覧 3 回。"
    assert _render(app, i18n.staff_domain, "en", source, n=3) == "Viewed 3 times."


def test_worker_pages_speak_the_worker_catalog(app: Flask) -> None:
    vi = _render(app, i18n.worker_domain, "vi", "{{ _('Sorry') }}")
    en = _render(app, i18n.worker_domain, "en", "{{ _('Sorry') }}")
    assert en == "Sorry" and vi not in ("", "Sorry")
    # The same string under a language switched during the request.
    with app.test_request_context("/"):
        i18n.worker_domain.as_default()
        i18n.set_language("en")
        first = render_template_string("{{ _('Sorry') }}")
        i18n.set_language("vi")
        assert (first, render_template_string("{{ _('Sorry') }}")) == ("Sorry", vi)


def test_variables_are_escaped_and_the_text_is_a_format_string(app: Flask) -> None:
    source = "{{ _('Viewed %(count)s times.', count=n) }}|{{ _('100%% sure') }}"
    html = _render(app, i18n.staff_domain, "en", source, n="<script>")
    assert html == "Viewed &lt;script&gt; times.|100% sure"


def test_trans_blocks_use_it_too(app: Flask) -> None:
    source = "{% trans count=n %}Viewed {{ count }} times.{% endtrans %}"
    assert _render(app, i18n.staff_domain, "ja", source, n=2) == "閲覧 2 回。"


def test_python_texts_follow_the_language_set_in_a_request_or_a_job(app: Flask) -> None:
    """`gettext` and `current_language` read the application context's `g`
    directly (not through the proxy): in a request, in a job's application
    context without a request, and with no application at all."""
    assert i18n.current_language().code == i18n.DEFAULT_WORKER_LANGUAGE
    assert i18n.gettext("Sorry") == "Sorry"
    vi = _render(app, i18n.worker_domain, "vi", "{{ _('Sorry') }}")
    with app.app_context():
        # A job speaking to a worker: no request, the language set in `g`.
        assert i18n.current_language().code == i18n.DEFAULT_WORKER_LANGUAGE
        i18n.worker_domain.as_default()
        i18n.set_language("vi")
        assert i18n.current_language().code == "vi"
        assert i18n.gettext("Sorry") == vi
        i18n.set_language("en")
        assert i18n.gettext("Sorry") == "Sorry"
    with app.test_request_context("/"):
        i18n.staff_domain.as_default()
        i18n.set_language("ja")
        assert i18n.gettext("Viewed %(count)s times.", count=2) == "閲覧 2 回。"
        assert i18n.page_translations() is i18n.staff_domain.get_translations()
    # The context is gone: the default again.
    assert i18n.current_language().code == i18n.DEFAULT_WORKER_LANGUAGE

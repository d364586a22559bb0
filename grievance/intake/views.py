"""Worker-facing pages: the language chooser and the pages under /<lang>/."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, url_for

from grievance import i18n

bp = Blueprint("intake", __name__)


@bp.url_value_preprocessor
def _pull_language(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values is None or "lang" not in values:
        return
    code = values.pop("lang")
    lang = i18n.lookup(code)
    if lang is None:
        # An unknown code never reaches Babel: a plain, translated 404.
        abort(404)
    if lang.code != code:
        g.redirect_to_canonical = lang.code
    i18n.set_language(lang.code)


@bp.url_defaults
def _add_language(endpoint: str, values: dict[str, Any]) -> None:
    if "lang" in values or not g.get("ui_language"):
        return
    if endpoint and endpoint.startswith("intake.") and endpoint != "intake.choose_language":
        values["lang"] = i18n.current_language().code


@bp.before_request
def _worker_domain() -> Any:
    i18n.worker_domain.as_default()
    canonical = g.pop("redirect_to_canonical", None)
    if canonical:
        return redirect(url_for("intake.home", lang=canonical), 301)
    return None


@bp.get("/")
def choose_language() -> Any:
    """Every language by its own name; the browser's language is suggested first."""
    codes = [lang.code for lang in i18n.LANGUAGES]
    suggested = i18n.negotiate(codes, i18n.DEFAULT_WORKER_LANGUAGE)
    i18n.set_language(suggested)
    return render_template(
        "worker/choose_language.html",
        languages=i18n.LANGUAGES,
        suggested=i18n.BY_CODE[suggested],
    )


@bp.get("/<lang>/", strict_slashes=False)
def home() -> Any:
    return render_template("worker/home.html")

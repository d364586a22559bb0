"""Form widgets that draw what WTForms draws, in one pass.

WTForms renders a list of checkboxes by building a whole bound field per
choice; the triage form's 35 checkboxes took a third of the case page's
time that way. `CheckboxList` writes the same HTML directly (a test holds
it to WTForms' own output), and hands anything unusual back to WTForms.
"""

from __future__ import annotations

from typing import Any

import wtforms
from markupsafe import Markup, escape
from wtforms.widgets import ListWidget, Select, html_params


class CheckboxList(ListWidget):
    """`ListWidget(prefix_label=False)` with checkbox options, drawn directly."""

    def __init__(self) -> None:
        super().__init__(prefix_label=False)

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        choices = field.iter_choices()
        if field.render_kw or field.flags.required or any(c.render_kw for c in choices):
            return super().__call__(field, **kwargs)  # attributes on every option
        kwargs.setdefault("id", field.id)
        name = escape(field.name)
        html = [f"<ul {html_params(**kwargs)}>"]
        for i, choice in enumerate(choices):
            option_id = escape(f"{field.id}-{i}")
            checked = "checked " if choice.selected else ""
            html.append(
                f'<li><input {checked}id="{option_id}" name="{name}" type="checkbox" '
                f'value="{escape(choice.value)}"> '
                f'<label for="{option_id}">{escape(choice.label or choice.value)}</label></li>'
            )
        html.append("</ul>")
        return Markup("".join(html))  # noqa: S704 - every value in it is escaped above


class FastSelect(Select):
    """WTForms' `Select`, without its per-render signature inspection.

    `Select` inspects `render_option`'s signature every time a field is
    drawn (to support an older override style we never use); the case page
    draws six selects. Options are written directly when they carry no
    extra attributes.
    """

    @classmethod
    def _dispatch_render_option(cls) -> Any:
        return cls.render_option

    @classmethod
    def render_option(cls, choice: Any, **kwargs: Any) -> Markup:
        value = choice.value
        if choice.render_kw or kwargs or not isinstance(value, str):
            return super().render_option(choice, **kwargs)
        selected = "selected " if choice.selected else ""
        label = escape(choice.label or value)
        html = f'<option {selected}value="{escape(value)}">{label}</option>'
        return Markup(html)  # noqa: S704 - value and label are escaped


class SelectField(wtforms.SelectField):
    """`wtforms.SelectField` drawn by `FastSelect`."""

    widget = FastSelect()

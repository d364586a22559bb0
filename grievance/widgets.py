"""Form widgets that draw what WTForms draws, in one pass.

WTForms renders a list of checkboxes by building a whole bound field per
choice; the triage form's 35 checkboxes took a third of the case page's
time that way. `CheckboxList` writes the same HTML directly (a test holds
it to WTForms' own output), and hands anything unusual back to WTForms.

WTForms also writes each attribute of a tag through `Markup.format`, which
runs Python's string formatter per attribute: about a seventh of the case
page's rendering. `html_params` writes the same text with plain strings;
`faster` gives the inputs and text areas of every form (through
`grievance.formbase`) a copy that uses it.
"""

from __future__ import annotations

from typing import Any

import wtforms
from markupsafe import Markup, escape
from wtforms.fields import SelectChoice
from wtforms.validators import ValidationError
from wtforms.widgets import Input, ListWidget, Select, TextArea
from wtforms.widgets.core import clean_key


def html_params(**kwargs: Any) -> Markup:
    """What `wtforms.widgets.html_params` writes: attributes sorted by name,
    `class_` as `class`, `data_x` as `data-x`, True as a bare attribute,
    False left out, every name and value escaped."""
    params = []
    for key, value in sorted(kwargs.items()):
        name = escape(clean_key(key))
        if value is True:
            params.append(name)
        elif value is not False:
            # (WTForms also turns a quote left by a value's own __html__ into &quot;.)
            params.append(f'{name}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(params))  # noqa: S704 - every name and value is escaped above


def _add_validation_attrs(names: Any, field: Any, kwargs: dict[str, Any]) -> None:
    """What WTForms' widgets add from the field's flags (`required`...),
    unless the caller set them."""
    flags = getattr(field, "flags", {})
    for key in dir(flags):
        if key in names and key not in kwargs:
            kwargs[key] = getattr(flags, key)


def _text(label: Any) -> str:
    """A choice's label as text, a lazy translation translated once:
    `label or value` would translate it to test it, then escaping would
    translate it again."""
    if label is None or isinstance(label, str):
        return label or ""
    return str(label)


class FastTextArea(TextArea):
    """`TextArea`, its attributes written by `html_params`."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        _add_validation_attrs(self.validation_attrs, field, kwargs)
        params = html_params(name=field.name, **kwargs)
        text = escape(field._value())
        return Markup(f"<textarea {params}>\r\n{text}</textarea>")  # noqa: S704 - escaped


def _fast_copy(kind: type) -> Any:
    if kind is TextArea:
        return FastTextArea()
    if issubclass(kind, Input):
        return type(kind.__name__, (kind,), {"html_params": staticmethod(html_params)})()
    return None


_FASTER: dict[type, Any] = {}


def faster(widget: Any) -> Any:
    """The same widget writing its attributes with `html_params`: for an
    input or a plain text area with its class's default settings (the copy
    is made with those). Anything else is returned as it is."""
    kind = type(widget)
    if kind not in _FASTER:
        _FASTER[kind] = _fast_copy(kind)
    fast = _FASTER[kind]
    if fast is None or vars(widget) != vars(fast):
        return widget
    return fast


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
            label = escape(_text(choice.label) or choice.value)
            html.append(
                f'<li><input {checked}id="{option_id}" name="{name}" type="checkbox" '
                f'value="{escape(choice.value)}"> '
                f'<label for="{option_id}">{label}</label></li>'
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

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        if self.multiple or field.has_groups():
            return super().__call__(field, **kwargs)
        # The <select> tag's own attributes, written by `html_params` too:
        # WTForms writes them through Markup.format, a third of a short
        # select's time.
        kwargs.setdefault("id", field.id)
        _add_validation_attrs(self.validation_attrs, field, kwargs)
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        html.extend(self.render_option(choice) for choice in field._iter_choices_normalized())
        html.append("</select>")
        return Markup("".join(html))  # noqa: S704 - every part is escaped Markup

    @classmethod
    def _dispatch_render_option(cls) -> Any:
        return cls.render_option

    @classmethod
    def render_option(cls, choice: Any, **kwargs: Any) -> Markup:
        value = choice.value
        if choice.render_kw or kwargs or not isinstance(value, str):
            return super().render_option(choice, **kwargs)
        selected = "selected " if choice.selected else ""
        label = escape(_text(choice.label) or value)
        html = f'<option {selected}value="{escape(value)}">{label}</option>'
        return Markup(html)  # noqa: S704 - value and label are escaped


class QuickChoiceCheck:
    """WTForms checks a posted choice by building a `Choice` per option, each
    time: some 90 options a report form, a fifth of its validation. This
    checks a list of `SelectChoice` options without groups (as
    `grievance.formbase.options` makes) directly, with WTForms' message;
    anything else goes to WTForms."""

    def pre_validate(self, form: Any) -> None:
        field: Any = self
        choices = field.choices
        if (
            field.process_errors
            or not field.validate_choice
            or not isinstance(choices, list | tuple)
            or not all(type(c) is SelectChoice and c.optgroup is None for c in choices)
        ):
            super().pre_validate(form)  # type: ignore[misc]
            return
        if not any(field.coerce(choice.value) == field.data for choice in choices):
            raise ValidationError(
                field.invalid_choice_message or field.gettext("Not a valid choice.")
            )


class SelectField(QuickChoiceCheck, wtforms.SelectField):
    """`wtforms.SelectField` drawn by `FastSelect`, its choice checked quickly."""

    widget = FastSelect()


class RadioField(QuickChoiceCheck, wtforms.RadioField):
    """`wtforms.RadioField`, its choice checked quickly."""

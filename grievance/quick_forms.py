"""A valid form's data without building the form, for a form sent often.

Building a WTForms form and validating it costs a field object per field,
each with its processing, filters and validator chain run through method
calls and exceptions: for the report form (19 fields) over a fifth of a
report's instructions, more than its sealing and storing together. Yet
nearly every report is valid, and a valid form is never drawn again.

`valid_data` reads a form class's fields once (from a form built for the
purpose) and then checks sent data against them directly, with the
validators' own settings. It answers only when it is sure: the data that
`form.data` would hold, for data that `form.validate()` would accept. For
anything else it answers None and the caller builds the form as before,
which finds the errors and shows them: a value that fails a check, a field
or validator of a kind not known here, a file sent under a field that is
not a file field. So a form with a field of a new kind is always built;
tests/test_quick_forms.py holds the two to the same answers.

Not checked here: the CSRF token, which the caller must have checked
already (`csrf_tokens.CSRFProtection` does, before the view runs).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict
from wtforms import Field, SelectFieldBase, validators
from wtforms.csrf.core import CSRFTokenField
from wtforms.fields import (
    BooleanField,
    MultipleFileField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)

from grievance.widgets import QuickChoiceCheck


@dataclass(frozen=True)
class _Check:
    """What one field takes from the sent data, and what it checks."""

    name: str
    # (the values sent under the name) -> the field's data
    take: Callable[[list[str]], Any]
    # The values a choice may have; None where any value is a choice.
    choices: frozenset[str] | None
    validators: tuple[Any, ...]
    is_file: bool = False


def _same(field: Field, owner: type, *methods: str) -> bool:
    """Whether `field` does what `owner` does in each of `methods`."""
    kind = type(field)
    return all(getattr(kind, name) is getattr(owner, name) for name in methods)


def _plain_choices(field: SelectFieldBase) -> bool:
    """Whether the field's choices are a list of plain values (no groups)."""
    choices = field.choices
    return isinstance(choices, list | tuple) and all(
        type(c) is SelectChoice and c.optgroup is None and isinstance(c.value, str) for c in choices
    )


def _text(default: Any) -> Callable[[list[str]], Any]:
    return lambda sent: sent[0] if sent else default


def _boolean(false_values: tuple[Any, ...]) -> Callable[[list[str]], Any]:
    return lambda sent: not (not sent or sent[0] in false_values)


_KNOWN_VALIDATORS = (
    validators.DataRequired,
    validators.InputRequired,
    validators.Optional,
    validators.Length,
    validators.Regexp,
)


def _check_for(name: str, field: Field) -> _Check | None:
    """The check for one built field; None if it is of a kind not known here."""
    if field.filters or callable(field.default) or not _same(field, Field, "post_validate"):
        return None
    if not all(type(v) in _KNOWN_VALIDATORS for v in field.validators):
        return None
    checks = tuple(field.validators)
    if isinstance(field, MultipleFileField) and _same(
        field, MultipleFileField, "process_data", "process_formdata", "pre_validate"
    ):
        return _Check(name, lambda sent: sent, None, checks, is_file=True)
    if isinstance(field, StringField) and _same(
        field, StringField, "process_data", "process_formdata", "pre_validate"
    ):
        return _Check(name, _text(field.default), None, checks)
    if isinstance(field, BooleanField) and _same(
        field, BooleanField, "process_data", "process_formdata", "pre_validate"
    ):
        # (Its data comes from the sent values alone, sent or not: no default.)
        return _Check(name, _boolean(tuple(field.false_values)), None, checks)
    if not isinstance(field, SelectFieldBase) or field.coerce is not str:
        return None
    # The values a choice may have; None where WTForms does not check them.
    values: frozenset[str] | None = None
    if getattr(field, "validate_choice", True):
        if not _plain_choices(field):
            return None
        values = frozenset(c.value for c in field.choices)
    if (
        isinstance(field, SelectField)
        and _same(field, SelectField, "process_data", "process_formdata")
        and type(field).pre_validate in (SelectField.pre_validate, QuickChoiceCheck.pre_validate)
    ):
        # WTForms' check of the choice, or one doing the same (grievance.widgets).
        default = None if field.default is None else str(field.default)
        return _Check(name, _text(default), values, checks)
    if isinstance(field, SelectMultipleField) and _same(
        field, SelectMultipleField, "process_data", "process_formdata", "pre_validate"
    ):
        # (The same: the values sent, as a list.)
        return _Check(name, list, values, checks)
    return None


def _failures(check: _Check, sent: list[str], data: Any) -> int | None:
    """How many errors the field would end with; None where a check would
    stop the field with its message (the form is then built)."""
    errors = 0
    if check.choices is not None:
        if isinstance(data, list):
            # A multiple choice checks only what was chosen.
            errors += bool(data) and any(value not in check.choices for value in data)
        else:
            errors += data not in check.choices
    for validator in check.validators:
        kind = type(validator)
        if kind is validators.Optional:
            if not sent or (isinstance(sent[0], str) and not validator.string_check(sent[0])):
                return 0  # Optional clears the field's errors and stops
        elif kind is validators.DataRequired:
            if not (data and (not isinstance(data, str) or data.strip())):
                return None
        elif kind is validators.InputRequired:
            if not (sent and sent[0]):
                return None
        elif kind is validators.Length:
            length = (data and len(data)) or 0
            if not (length >= validator.min and (validator.max == -1 or length <= validator.max)):
                errors += 1
        elif not validator.regex.match(data or ""):  # Regexp
            errors += 1
    return errors


class _Plan:
    def __init__(self, checks: list[_Check]) -> None:
        self.checks = checks
        self.names = frozenset(check.name for check in checks if not check.is_file)


_plans: dict[type, _Plan | None] = {}
_lock = threading.Lock()


def _plan(form_class: type) -> _Plan | None:
    if form_class in _plans:
        return _plans[form_class]
    # Built once, empty, to read its fields as WTForms binds them.
    form = form_class(formdata=None)
    checks: list[_Check] | None = []
    for name, field in form._fields.items():
        if isinstance(field, CSRFTokenField):
            continue
        check = _check_for(name, field)
        if check is None or getattr(form_class, f"validate_{name}", None) is not None:
            checks = None
            break
        checks.append(check)
    plan = None if checks is None else _Plan(checks)
    with _lock:
        _plans[form_class] = plan
    return plan


def valid_data(
    form_class: type, form: MultiDict[str, str], files: Mapping[str, Any]
) -> dict[str, Any] | None:
    """`form_class(...).data` for the sent `form` and `files`, if the form
    would be valid (its CSRF token aside); None if not, or not sure."""
    if not form and not files:
        return None  # Flask-WTF then processes no sent data at all
    plan = _plan(form_class)
    if plan is None or any(name in plan.names for name in files):
        return None
    data: dict[str, Any] = {}
    for check in plan.checks:
        if check.is_file:
            sent: list[Any] = files.getlist(check.name) if check.name in files else []  # type: ignore[attr-defined]
            sent += form.getlist(check.name)
        else:
            sent = form.getlist(check.name)
        value = check.take(sent)
        if _failures(check, sent, value) != 0:
            return None
        data[check.name] = value
    return data

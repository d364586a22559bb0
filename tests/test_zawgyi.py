"""Burmese in Zawgyi becomes Unicode; everything else passes through untouched."""

from __future__ import annotations

import pytest

from grievance.intake.zawgyi import is_zawgyi, to_unicode, zawgyi_probability

# (Zawgyi, Unicode) pairs of everyday words and a sentence a worker might send.
PAIRS = [
    ("ျမန္မာ", "မြန်မာ"),  # Myanmar
    ("ေက်းဇူးတင္ပါတယ္", "ကျေးဇူးတင်ပါတယ်"),  # thank you
    ("ကၽြန္ေတာ္ အလုပ္ရွင္က လစာမေပးပါ", "ကျွန်တော် အလုပ်ရှင်က လစာမပေးပါ"),  # my employer does not pay
    ("ဉာဏ္ႀကီးရွင္", "ဉာဏ်ကြီးရှင်"),
]


@pytest.mark.parametrize(("zawgyi", "unicode"), PAIRS)
def test_zawgyi_is_converted_to_unicode(zawgyi: str, unicode: str) -> None:
    assert is_zawgyi(zawgyi)
    assert to_unicode(zawgyi) == unicode


@pytest.mark.parametrize("unicode", [u for _, u in PAIRS])
def test_unicode_burmese_is_left_alone(unicode: str) -> None:
    assert not is_zawgyi(unicode)
    assert to_unicode(unicode) == unicode


@pytest.mark.parametrize(
    "text",
    ["", "hello", "Tôi không được trả lương", "नमस्ते", "给我工资", "1234 +81 90", "٪ اردو"],
)
def test_other_text_is_unchanged(text: str) -> None:
    assert zawgyi_probability(text) == 0.0
    assert to_unicode(text) == text


def test_mixed_text_keeps_latin_parts() -> None:
    text = "Company ABC: ေက်းဇူးတင္ပါတယ္ 2024"
    assert to_unicode(text) == "Company ABC: ကျေးဇူးတင်ပါတယ် 2024"


def test_conversion_is_idempotent() -> None:
    for zawgyi, unicode in PAIRS:
        assert to_unicode(to_unicode(zawgyi)) == unicode

"""Burmese typed in the legacy Zawgyi encoding, detected and converted to Unicode.

Many phones in Myanmar still use the Zawgyi font, which puts Burmese glyphs
on code points that Unicode assigns to other characters. Text typed that way
reads as garbage to a caseworker with a Unicode font, and sorts and searches
wrongly. Guarantee: `to_unicode` returns Unicode Burmese for Zawgyi input and
leaves everything else (Unicode Burmese, other scripts, mixed text without
Zawgyi) exactly as it was.

Detection uses Google's Zawgyi detector (a Markov model, `myanmartools`);
conversion uses the rule tables of `python-myanmar`. Text is converted only
when the detector is confident, because converting correct Unicode Burmese
as if it were Zawgyi would corrupt it.
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache
from typing import Any

# Above this probability the detector's authors recommend treating text as
# Zawgyi; Unicode text scores close to 0, Zawgyi close to 1.
ZAWGYI_THRESHOLD = 0.95

# The Myanmar block and its extensions: text without any of these is never
# Zawgyi, and the detector need not run.
_MYANMAR = re.compile("[\u1000-\u109f\uaa60-\uaa7f\ua9e0-\ua9ff]")


@lru_cache(maxsize=1)
def _detector() -> Any:
    from myanmartools import ZawgyiDetector

    # The package loads its model with an importlib API that warns on 3.11+.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return ZawgyiDetector()


def zawgyi_probability(text: str) -> float:
    """How likely `text` is Zawgyi-encoded Burmese (0.0 for non-Burmese text)."""
    if not text or not _MYANMAR.search(text):
        return 0.0
    score = float(_detector().get_zawgyi_probability(text))
    # The detector answers -inf when it finds no Burmese it can judge.
    return max(score, 0.0)


def is_zawgyi(text: str) -> bool:
    return zawgyi_probability(text) > ZAWGYI_THRESHOLD


def to_unicode(text: str) -> str:
    """The text in Unicode: converted if it is confidently Zawgyi, else unchanged."""
    if not is_zawgyi(text):
        return text
    from myanmar.converter import convert

    return convert(text, "zawgyi", "unicode")

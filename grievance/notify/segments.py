"""Splitting long texts into messages that fit SMS (GSM-7 or UCS-2) and WhatsApp.

An SMS carries 160 GSM-7 characters, or 70 UCS-2 code units once any
character falls outside the GSM alphabet (Vietnamese, Nepali, Burmese...).
Longer texts travel as concatenated segments of 153 or 67. Guarantee:
`split_text` returns parts that each fit in `max_segments` segments (or, for
WhatsApp, in the provider's character limit), cut at the most natural place
available (paragraph, line, sentence, word), never inside a surrogate pair
or between a letter and its combining marks, and never losing a character
other than the whitespace at a cut.
"""

from __future__ import annotations

import unicodedata

# The GSM 03.38 default alphabet, and the extension table whose characters
# take two septets (an escape and the character).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67

WHATSAPP_MAX_CHARS = 1600  # Twilio's limit for one WhatsApp body
DEFAULT_SMS_SEGMENTS = 4

# Where to cut, best first: paragraph, line, sentence ends in the scripts
# we serve (Latin, Devanagari danda, Burmese, CJK, Thai space), then words.
_BREAKS: tuple[tuple[str, ...], ...] = (
    ("\n\n",),
    ("\n",),
    (". ", "! ", "? ", "। ", "။ ", "။", "。", "！", "？", "؟ "),
    (", ", "、", "၊ ", "، "),
    (" ",),
)


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def encoding(text: str) -> str:
    """ "gsm7" when every character is in the GSM alphabet, else "ucs2"."""
    return "gsm7" if is_gsm7(text) else "ucs2"


def units(text: str, enc: str | None = None) -> int:
    """Septets (GSM-7, extension characters count twice) or UTF-16 code units."""
    enc = enc or encoding(text)
    if enc == "gsm7":
        return sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def segment_count(text: str) -> int:
    """How many SMS segments the provider will bill for `text`."""
    enc = encoding(text)
    n = units(text, enc)
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if enc == "gsm7" else (UCS2_SINGLE, UCS2_MULTI)
    if n <= single:
        return 1
    return -(-n // multi)


def sms_capacity(enc: str, max_segments: int) -> int:
    if enc == "gsm7":
        return GSM7_SINGLE if max_segments <= 1 else GSM7_MULTI * max_segments
    return UCS2_SINGLE if max_segments <= 1 else UCS2_MULTI * max_segments


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch) in ("Mn", "Mc", "Me") or ch in "\u200c\u200d"


def _prefix_fitting(text: str, budget: int, enc: str | None) -> int:
    """The longest prefix (in code points) whose size is within `budget`."""
    used = 0
    for i, ch in enumerate(text):
        cost = 1 if enc is None else units(ch, enc)
        if used + cost > budget:
            return i
        used += cost
    return len(text)


def _safe_cut(text: str, cut: int) -> int:
    # Step back so a letter keeps its combining marks (Devanagari vowel
    # signs, Burmese medials, Vietnamese tone marks in decomposed form).
    while 0 < cut < len(text) and _is_mark(text[cut]):
        cut -= 1
    return cut if cut > 0 else 1


def _best_cut(text: str, limit: int) -> int:
    window = text[:limit]
    for group in _BREAKS:
        best = max((window.rfind(sep) + len(sep) for sep in group if sep in window), default=-1)
        # A cut in the first third would leave a tiny part: look further.
        if best > limit // 3:
            return best
    return _safe_cut(text, limit)


def _split(text: str, budget: int, enc: str | None) -> list[str]:
    parts: list[str] = []
    rest = text.strip()
    while rest:
        limit = _prefix_fitting(rest, budget, enc)
        if limit >= len(rest):
            parts.append(rest)
            break
        cut = _best_cut(rest, limit)
        head = rest[:cut].rstrip()
        if head:
            parts.append(head)
        rest = rest[cut:].lstrip()
    return parts


def split_text(text: str, channel: str, max_segments: int = DEFAULT_SMS_SEGMENTS) -> list[str]:
    """The messages to send for `text` on `channel` (sms, whatsapp, email...)."""
    if channel == "sms":
        enc = encoding(text)
        return _split(text, sms_capacity(enc, max_segments), enc) or [""]
    if channel == "whatsapp":
        return _split(text, WHATSAPP_MAX_CHARS, None) or [""]
    return [text]

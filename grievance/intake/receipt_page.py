"""The receipt page, drawn once for each language and kind, then filled in.

Two receipts differ only in their two codes. Everything else on the page
(the texts in the worker's language, the links, the warning for a shared
phone, the emergency help) depends on the language, two choices the worker
made and the site's address prefix. Jinja drew all of it for every report:
a ninth of the report's instructions (callgrind, one process: 4.76 ->
4.22 million with the page kept).

So each kind of receipt is drawn once by Jinja, with markers where the codes
go, and kept; each receipt is then that page with its codes written in,
escaped as Jinja escapes them. What could still make one page differ from
the next is left to Jinja: a message waiting in the session (`flash`) is
shown on the page it is drawn on, so such a receipt is drawn as before.
The kept pages (one set per application) are few: languages x 4 kinds x
the address prefixes the server is reached under; past `KEPT_AT_MOST` the
page is drawn each time.
"""

from __future__ import annotations

import threading

from flask import current_app, render_template, request, session
from markupsafe import escape

from grievance import i18n
from grievance.cases.services import Receipt

TEMPLATE = "worker/receipt.html"
# Characters that no code, text or link on the page contains.
_REFERENCE_MARK = "\x00reference\x00"
_CODE_MARK = "\x00code\x00"  # the secret code
KEPT_AT_MOST = 256
_DRAW_EACH_TIME = ""

_KEPT = "grievance.receipt_pages"
_lock = threading.Lock()


def _drawn(receipt: Receipt, *, in_danger: bool, shared_phone: bool) -> str:
    return render_template(
        TEMPLATE, receipt=receipt, in_danger=in_danger, shared_phone=shared_phone
    )


def receipt_page(receipt: Receipt, *, in_danger: bool, shared_phone: bool) -> str:
    """The receipt page for `receipt`, as `render_template` draws it."""
    if "_flashes" in session:
        return _drawn(receipt, in_danger=in_danger, shared_phone=shared_phone)
    kept: dict[tuple[str, bool, bool, str], str] = current_app.extensions.setdefault(_KEPT, {})
    key = (i18n.current_language().code, in_danger, shared_phone, request.script_root)
    page = kept.get(key)
    if page is None:
        page = _drawn(
            Receipt(reference=_REFERENCE_MARK, secret=_CODE_MARK),
            in_danger=in_danger,
            shared_phone=shared_phone,
        )
        if page.count(_REFERENCE_MARK) != 1 or page.count(_CODE_MARK) != 1:
            # The template no longer shows each code once: drawn each time.
            page = _DRAW_EACH_TIME
        with _lock:
            if len(kept) < KEPT_AT_MOST:
                kept[key] = page
    if page == _DRAW_EACH_TIME:
        return _drawn(receipt, in_danger=in_danger, shared_phone=shared_phone)
    return page.replace(_REFERENCE_MARK, str(escape(receipt.reference))).replace(
        _CODE_MARK, str(escape(receipt.secret))
    )

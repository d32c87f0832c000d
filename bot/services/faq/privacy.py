"""Keep citizens' personal numbers out of what the FAQ stores and forwards.

A hand-off needs the question and the chat to answer in, nothing more. Citizens often type
their phone or ID number into the question ("gọi lại cho em 0903 123 456"); those are
replaced before the question is logged or posted to the support group, so no phone number
or ID number is kept by the FAQ. Staff answer in the chat the question came from.
"""

from __future__ import annotations

import re

# A run of 9+ digits, optionally written in groups ("0903 123 456", "0903.123.456",
# "+84 903-123-456"): Vietnamese phone numbers (10 digits), old ID cards (9), citizen
# identity cards (12). National procedure codes ("1.001193": 7 digits) stay readable.
_NUMBER = re.compile(r"(?<![\w.])\+?\d(?:[ .\-]?\d){8,}(?![\w])")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")

NUMBER_MARK = "[…]"


def mask_personal(text: str) -> str:
    """The text with phone/ID numbers and e-mail addresses replaced by a mark."""
    return _EMAIL.sub(NUMBER_MARK, _NUMBER.sub(NUMBER_MARK, text))

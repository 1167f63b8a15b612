"""Phone-number and username normalisation for `checkAccount`, before any request."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["check_region", "normalize_phone", "normalize_username"]

MIN_DIGITS: Final = 5
MAX_DIGITS: Final = 15  # E.164 allows at most 15 digits

# Separators people type inside numbers: "+7 (987) 654-32.10".
_SEPARATORS: Final = str.maketrans("", "", "+ -.()\t")
_USERNAME: Final = re.compile(r"@?([A-Za-z0-9_]{1,32})")


def check_region(region: str | None) -> str | None:
    """An ISO 3166 region code `phonenumberslite` knows ("RU"), or None.

    Raises ImportError without the `phone` extra, ValueError for an unknown code.
    """
    if region is None or not region.strip():
        return None
    try:
        import phonenumbers
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError(
            "phone_region needs phonenumberslite: pip install 'green-tg-async[phone]'"
        ) from exc
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"phone_region {region!r} is not an ISO 3166 region code")
    return code


def normalize_phone(phone: int | str, region: str | None = None) -> int:
    """Return `phone` as the integer GREEN-API expects, or raise `ValueError`.

    Strings may carry `+`, spaces, dashes, dots and brackets; what remains must
    be 5-15 digits in international format (no leading 0). With `region` (from
    `check_region()`), a string is read the way that country writes numbers
    ("8 (987) 654-32-10" in "RU" is 79876543210), and a number that is not
    possible there is refused. An int is always international.
    """
    if isinstance(phone, bool) or not isinstance(phone, int | str):
        raise TypeError(
            f"phone number must be an int or a str, got {type(phone).__name__}"
        )
    if region is not None and isinstance(phone, str):
        return _regional(phone, region)
    if isinstance(phone, int):
        if phone < 0:
            raise ValueError(f"phone number must not be negative, got {phone}")
        return _checked_digits(str(phone), repr(phone))
    text = phone.strip()
    if not text:
        raise ValueError("phone number is empty")
    if text.startswith("-"):
        raise ValueError(f"phone number must not be negative, got {phone!r}")
    digits = text.translate(_SEPARATORS)
    if not digits.isascii() or not digits.isdigit():
        bad = sorted({c for c in digits if not (c.isascii() and c.isdigit())})
        raise ValueError(
            f"phone number {phone!r} contains characters that are not digits: "
            f"{''.join(bad)!r}"
        )
    return _checked_digits(digits, repr(phone))


def _checked_digits(digits: str, shown: str) -> int:
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        size = "short" if len(digits) < MIN_DIGITS else "long"
        raise ValueError(
            f"phone number {shown} is too {size}: {len(digits)} digits, "
            f"expected {MIN_DIGITS}-{MAX_DIGITS}"
        )
    if digits.startswith("0"):
        raise ValueError(
            f"phone number {shown} starts with 0; give it in international format "
            "with the country code (for example 79876543210)"
        )
    return int(digits)


def _regional(phone: str, region: str) -> int:
    import phonenumbers

    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone number {phone!r} cannot be read: {exc}") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError(
            f"phone number {phone!r} is not a possible number in region {region}"
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return _checked_digits(e164.lstrip("+"), repr(phone))


def normalize_username(username: str) -> str:
    """Return a Telegram username as `@name`, or raise `ValueError`."""
    if not isinstance(username, str):
        raise TypeError(f"username must be a str, got {type(username).__name__}")
    match = _USERNAME.fullmatch(username.strip())
    if match is None:
        raise ValueError(
            f"username {username!r} is not a Telegram username "
            "(1-32 letters, digits or underscores, optionally after '@')"
        )
    return "@" + match.group(1)

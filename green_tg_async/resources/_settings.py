"""Instance settings as keyword arguments (`set_settings`, `create_instance`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypedDict

from . import _validate as check
from ._base import camel

__all__ = ["SettingsFields", "settings_body"]


class SettingsFields(TypedDict, total=False):
    """Writable instance settings; toggles take True/False or "yes"/"no".

    https://green-api.com/en/telegram/docs/api/account/SetSettings/
    """

    webhook_url: str
    webhook_url_token: str
    delay_send_messages_milliseconds: int
    mark_incoming_messages_readed: bool | str
    mark_incoming_messages_readed_on_reply: bool | str
    outgoing_webhook: bool | str
    outgoing_message_webhook: bool | str
    outgoing_api_message_webhook: bool | str
    incoming_webhook: bool | str
    poll_message_webhook: bool | str
    state_webhook: bool | str
    edited_message_webhook: bool | str
    deleted_message_webhook: bool | str


# The wire names are the camelCase of the keywords, but for one acronym.
_WIRE: Final[Mapping[str, str]] = {
    **{name: camel(name) for name in SettingsFields.__annotations__},
    "outgoing_api_message_webhook": "outgoingAPIMessageWebhook",
}
_STRINGS: Final = frozenset({"webhook_url", "webhook_url_token"})
MAX_DELAY: Final = 600_000
"""setSettings' longest `delaySendMessagesMilliseconds`."""
MAX_DELAY_AT_CREATION: Final = 300_000
"""createInstance's longest (https://green-api.com/en/telegram/docs/partners/createInstance)."""


def settings_body(
    settings: Mapping[str, Any], *, max_delay: int = MAX_DELAY
) -> dict[str, Any]:
    """Check `settings` and spell them as the API does; None values are left out.

    `max_delay` bounds `delay_send_messages_milliseconds` (from 500).
    """
    unknown = sorted(set(settings) - set(_WIRE))
    if unknown:
        raise TypeError(f"unknown setting(s): {', '.join(unknown)}")
    body: dict[str, Any] = {}
    for name, value in settings.items():
        if value is not None:
            body[_WIRE[name]] = _value(name, value, max_delay)
    return body


def _value(name: str, value: Any, max_delay: int) -> Any:
    if name in _STRINGS:
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
        return value  # "" is meaningful: no webhook, poll instead
    if name == "delay_send_messages_milliseconds":
        return check.integer(value, name, low=500, high=max_delay)
    return check.yes_no(value, name)

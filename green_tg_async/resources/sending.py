"""Methods of the "Sending" section of the GREEN-API Telegram docs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any, TypedDict, TypeVar
from urllib.parse import quote

from green_tg_async._exceptions import ResponseDecodeError
from green_tg_async._settle import Intent
from green_tg_async._types import ChatId
from green_tg_async.models import (
    ContactCard,
    ForwardedMessages,
    SentFile,
    SentMessage,
    UploadedFile,
)

from . import _validate as check
from ._base import Decoder, Section, compact
from ._files import FileInput, guess_type, open_file

__all__ = ["MessageOptions", "Sending"]

T = TypeVar("T")


class MessageOptions(TypedDict, total=False):
    """The options of `send_message` past the chat and the text.

    What `ctx.answer(text, **options)` and `ctx.reply(text, **options)` take
    in a bot; each means what the same argument of `send_message` means.
    """

    quoted_message_id: str | None
    typing_time: int | None
    typing_type: str | None
    idempotency_key: str | None


_MAX_CAPTION = 1024


class Sending(Section):
    """Send messages and files. A send is never repeated after an ambiguous failure.

    Every send is queued by GREEN-API (kept 24 h) and paced by the instance's
    `delaySendMessagesMilliseconds`; the answer carries the new `idMessage`.

    Every send takes `idempotency_key=`: the same key with the same
    arguments sends once per instance within `SendPolicy.idempotency_ttl`
    and returns the first answer after that; with other arguments it raises
    `IdempotencyKeyReusedError`. An ambiguous failure of a keyed send is
    settled from GREEN-API's queue and journal before anything is raised
    (see the guide "Sending exactly once").
    """

    __slots__ = ()

    async def send_message(
        self,
        chat_id: ChatId,
        message: str,
        *,
        quoted_message_id: str | None = None,
        typing_time: int | None = None,
        typing_type: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send a text message to a personal or group chat.

        Wraps `POST sendMessage`.
        Docs: https://green-api.com/en/telegram/docs/api/sending/SendMessage/

        Args:
            chat_id: Telegram chat id (negative for groups), `phone@c.us`, or
                an int.
            message: Text, up to 4096 characters.
            quoted_message_id: Id of a message in the chat to reply to.
            typing_time: Show "typing…" for this many milliseconds (1000-20000)
                before sending.
            typing_type: Which activity to show (`text`, `record_voice_note`, …).
            idempotency_key: Send once under this key (see the class).
        """
        body = {
            "chatId": check.chat_id(chat_id),
            "message": check.text(message, "message", limit=check.MAX_MESSAGE),
            **_extras(quoted_message_id, typing_time, typing_type),
        }
        return await self._keyed("sendMessage", SentMessage, body, idempotency_key)

    async def send_file_by_upload(
        self,
        chat_id: ChatId,
        file: FileInput,
        *,
        file_name: str | None = None,
        caption: str | None = None,
        quoted_message_id: str | None = None,
        typing_time: int | None = None,
        typing_type: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentFile:
        """Upload a file and send it (multipart, to the media host).

        Wraps `POST sendFileByUpload`. `file` is bytes, a path (opened and
        closed here) or a binary file object; the name's extension decides
        how Telegram shows it (photo, video, document, …).
        """
        fields = compact(
            {
                "chatId": check.chat_id(chat_id),
                "caption": check.optional_text(caption, "caption", limit=_MAX_CAPTION),
                **_extras(quoted_message_id, typing_time, typing_type),
            }
        )
        key = self._key(idempotency_key)
        with open_file(file, file_name, default_name="file") as (name, handle):
            fields["fileName"] = name
            form = {field: str(value) for field, value in fields.items()}
            content: IO[bytes] | bytes = handle
            once = None
            if key is not None:  # read once: the key's fingerprint covers the bytes
                content = handle.read()
                once = (key, Intent.of("sendFileByUpload", fields, content))
            return await self._fetch(
                "sendFileByUpload",
                SentFile,
                once=once,
                data=form,
                files={"file": (name, content, guess_type(name))},
            )

    async def send_file_by_url(
        self,
        chat_id: ChatId,
        url_file: str,
        file_name: str,
        *,
        caption: str | None = None,
        quoted_message_id: str | None = None,
        typing_time: int | None = None,
        typing_type: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send a file GREEN-API fetches from a public URL.

        Wraps `POST sendFileByUrl`. `file_name` must carry the extension.
        """
        body = {
            "chatId": check.chat_id(chat_id),
            "urlFile": _url(url_file),
            "fileName": _file_name(file_name),
            "caption": check.optional_text(caption, "caption", limit=_MAX_CAPTION),
            **_extras(quoted_message_id, typing_time, typing_type),
        }
        return await self._keyed("sendFileByUrl", SentMessage, body, idempotency_key)

    async def upload_file(
        self, file: FileInput, *, file_name: str | None = None
    ) -> UploadedFile:
        """Store a file at GREEN-API (about 24 h) and return its URL.

        Wraps `POST uploadFile` (raw body, to the media host); use the URL with
        `send_file_by_url()`. The MIME type is guessed from the file name.
        """
        with open_file(file, file_name, default_name="file") as (name, handle):
            content = handle.read()
        headers = {"Content-Type": guess_type(name), "GA-Filename": _header_safe(name)}
        return await self._fetch(
            "uploadFile", UploadedFile, content=content, headers=headers
        )

    async def send_location(
        self,
        chat_id: ChatId,
        latitude: float,
        longitude: float,
        *,
        quoted_message_id: str | None = None,
        typing_time: int | None = None,
        typing_type: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send a map location. Wraps `POST sendLocation`."""
        body = {
            "chatId": check.chat_id(chat_id),
            "latitude": check.number(latitude, "latitude", low=-90, high=90),
            "longitude": check.number(longitude, "longitude", low=-180, high=180),
            **_extras(quoted_message_id, typing_time, typing_type),
        }
        return await self._keyed("sendLocation", SentMessage, body, idempotency_key)

    async def send_contact(
        self,
        chat_id: ChatId,
        contact: ContactCard,
        *,
        quoted_message_id: str | None = None,
        typing_time: int | None = None,
        typing_type: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send a contact card. Wraps `POST sendContact`."""
        body = {
            "chatId": check.chat_id(chat_id),
            "contact": _contact(contact),
            **_extras(quoted_message_id, typing_time, typing_type),
        }
        return await self._keyed("sendContact", SentMessage, body, idempotency_key)

    async def send_poll(
        self,
        chat_id: ChatId,
        message: str,
        options: Sequence[str],
        *,
        multiple_answers: bool | None = None,
        is_anonymous: bool | None = None,
        type: str | None = None,
        correct_option_id: int | None = None,
        quoted_message_id: str | None = None,
        typing_time: int | None = None,
        typing_type: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send a poll: a question and 2-12 options of up to 100 characters.

        Wraps `POST sendPoll`. A poll is anonymous by default (`is_anonymous`
        None or True: the voters are hidden). Non-anonymous polls cannot go to
        channels. `type="quiz"` needs `correct_option_id`, the index of the
        right option. Options travel as `[{"optionName": ...}]`, as both
        official SDKs send them and the poll notification shows them; both
        editions of the Telegram page call them an "array of strings".
        """
        items = check.texts(
            options, "options", each="option", low=2, high=12, limit=100
        )
        check.choice(type, "type", ("regular", "quiz"))
        if type == "quiz" and correct_option_id is None:
            raise ValueError("a quiz needs correct_option_id")
        body = {
            "chatId": check.chat_id(chat_id),
            "message": check.text(message, "message", limit=255),
            "options": [{"optionName": item} for item in items],
            "multipleAnswers": check.flag(multiple_answers, "multiple_answers"),
            "isAnonymous": check.flag(is_anonymous, "is_anonymous"),
            "type": type,
            "correctOptionId": check.integer(
                correct_option_id, "correct_option_id", low=0, high=len(items) - 1
            ),
            **_extras(quoted_message_id, typing_time, typing_type),
        }
        return await self._keyed("sendPoll", SentMessage, body, idempotency_key)

    async def forward_messages(
        self,
        chat_id: ChatId,
        chat_id_from: ChatId,
        messages: Sequence[str],
        *,
        typing_time: int | None = None,
        idempotency_key: str | None = None,
    ) -> ForwardedMessages:
        """Forward messages of `chat_id_from` to `chat_id`.

        Wraps `POST forwardMessages`; `typing_time` (`typingTime`, 1000-20000
        ms) shows "typing…" first. Returns the copies' new ids as far as the
        answer gives them: no stored page shows it, so an answer of another
        shape, or one that is not JSON, reads as no ids (kept in `.raw`)
        rather than raising after the forward happened.
        """
        body = {
            "chatId": check.chat_id(chat_id),
            "chatIdFrom": check.chat_id(chat_id_from, "chat_id_from"),
            "messages": check.texts(messages, "messages", each="message id"),
            "typingTime": check.typing_time(typing_time),
        }
        try:
            return await self._keyed(
                "forwardMessages", ForwardedMessages, body, idempotency_key
            )
        except ResponseDecodeError:  # a 2xx that is not JSON: it was forwarded
            return ForwardedMessages.from_wire("forwardMessages", None)

    async def _keyed(
        self,
        method: str,
        model: Decoder[T],
        body: dict[str, Any],
        idempotency_key: str | None,
    ) -> T:
        """Send a JSON `body`; once per key when `idempotency_key` is given."""
        body = compact(body)
        key = self._key(idempotency_key)
        once = None if key is None else (key, Intent.of(method, body))
        return await self._fetch(method, model, once=once, json=body)

    def _key(self, idempotency_key: str | None) -> str | None:
        """The key this send is journaled under (None: not keyed)."""
        if idempotency_key is None:
            return None
        # A non-blank key of at most 255 characters (Stripe's limit).
        return check.text(idempotency_key, "idempotency_key", limit=255)


def _extras(
    quoted_message_id: str | None, typing_time: int | None, typing_type: str | None
) -> dict[str, Any]:
    """The optional fields every send method shares."""
    return {
        "quotedMessageId": check.quoted(quoted_message_id),
        "typingTime": check.typing_time(typing_time),
        "typingType": check.typing_type(typing_type),
    }


def _url(value: str) -> str:
    url = check.text(value, "url_file").strip()
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"url_file must be an http(s) URL, got {url!r}")
    return url


def _file_name(value: str) -> str:
    name = check.text(value, "file_name").strip()
    if "." not in name.strip("."):
        raise ValueError(f"file_name must carry an extension, got {name!r}")
    return name


def _contact(contact: ContactCard) -> dict[str, Any]:
    if not isinstance(contact, ContactCard):
        raise TypeError(f"contact must be a ContactCard, got {type(contact).__name__}")
    phone = check.integer(contact.phone_contact, "contact.phone_contact", low=1)
    return compact(
        {
            "phoneContact": phone,
            "firstName": check.optional_text(contact.first_name, "contact.first_name"),
            "lastName": check.optional_text(contact.last_name, "contact.last_name"),
            "company": check.optional_text(contact.company, "contact.company"),
        }
    )


def _header_safe(name: str) -> str:
    """HTTP headers are ASCII: percent-encode anything else in the file name."""
    return name if name.isascii() else quote(name)

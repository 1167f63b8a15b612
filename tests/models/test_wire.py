"""The TypedDicts name every key the typed models read, and nothing else."""

from __future__ import annotations

from dataclasses import fields
from typing import get_type_hints

import pytest

from green_tg_async.models import notifications as n, wire as w


def _wire_keys(cls: type) -> set[str]:
    return {f.metadata["wire"].key for f in fields(cls) if "wire" in f.metadata}


@pytest.mark.parametrize(
    ("model", "typed"),
    [
        (n.InstanceData, w.InstanceDataDict),
        (n.SenderData, w.SenderDataDict),
        (n.OutgoingMessageStatus, w.OutgoingMessageStatusDict),
        (n.StateInstanceChanged, w.StateInstanceChangedDict),
        (n.QuotaData, w.QuotaDataDict),
        (n.QuotaExceeded, w.QuotaExceededDict),
    ],
)
def test_typed_dict_keys_match_the_model(model: type, typed: type) -> None:
    assert _wire_keys(model) == set(get_type_hints(typed))


def test_message_notification_keys() -> None:
    keys = set(get_type_hints(w.MessageNotificationDict))
    assert keys == {
        "typeWebhook",
        "instanceData",
        "timestamp",
        "idMessage",
        "senderData",
        "messageData",
    }
    containers = set(get_type_hints(w.MessageDataDict)) - {"typeMessage"}
    from green_tg_async.models.contents import _CONTENTS

    assert {container for _, container in _CONTENTS.values()} <= containers


def test_a_typed_body_parses() -> None:
    body: w.NotificationDict = {
        "typeWebhook": "stateInstanceChanged",
        "stateInstance": "authorized",
    }
    parsed = n.parse_notification(body)
    assert isinstance(parsed, n.StateInstanceChanged)
    assert parsed.state_instance == "authorized"

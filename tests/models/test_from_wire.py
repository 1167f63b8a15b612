"""Every model decodes with one signature: `from_wire(method, data, *, flag=None)`."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from green_tg_async import ResponseDecodeError, UnusableReceiptError, models
from green_tg_async.models import AccountCheck, InstanceState, Notification

DECODABLE = sorted(
    (
        value
        for name in models.__all__
        if inspect.isclass(value := getattr(models, name))
        and hasattr(value, "from_wire")
    ),
    key=lambda cls: cls.__name__,
)


@pytest.mark.parametrize("model", DECODABLE, ids=lambda cls: cls.__name__)
def test_every_model_decodes_with_one_signature(model: Any) -> None:
    parameters = inspect.signature(model.from_wire).parameters
    assert list(parameters) == ["method", "data", "flag"]
    assert parameters["flag"].kind is inspect.Parameter.KEYWORD_ONLY


def test_the_method_names_the_answer_in_errors() -> None:
    assert Notification.from_wire("receiveNotification", None) is None
    with pytest.raises(UnusableReceiptError, match=r"^myQueue answered"):
        Notification.from_wire("myQueue", [])
    with pytest.raises(ResponseDecodeError, match="myState"):
        InstanceState.from_wire("myState", [])
    check = AccountCheck.from_wire("checkAccount", {"exist": False, "chatId": ""})
    assert check.chat_id is None

"""Methods of the "Account" section of the GREEN-API Telegram docs."""

from __future__ import annotations

from green_tg_async.models import InstanceState

from ._base import Section

__all__ = ["Account"]


class Account(Section):
    """Instance state, settings and authorization."""

    __slots__ = ()

    async def get_state_instance(self) -> InstanceState:
        """Return the instance's authorization state.

        Wraps `GET getStateInstance`.
        Docs: https://green-api.com/en/telegram/docs/api/account/GetStateInstance/
        """
        data = await self._client._call("getStateInstance")
        return InstanceState.from_wire(data)

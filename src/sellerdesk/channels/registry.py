"""The only place that maps a channel type to its adapter."""

from __future__ import annotations

from sellerdesk.channels.api.adapter import ApiChannelAdapter
from sellerdesk.channels.base import ChannelAdapter
from sellerdesk.channels.email.adapter import EmailAdapter
from sellerdesk.core.errors import Invalid

# Every kind of channel a store can own. A kind without an adapter yet can hold conversations
# (demo data, imported history), but a reply through it fails with a clear reason.
CHANNEL_TYPES = ("api", "email", "chat", "webform", "marketplace", "social")

_ADAPTERS: dict[str, ChannelAdapter] = {
    ApiChannelAdapter.type: ApiChannelAdapter(),
    EmailAdapter.type: EmailAdapter(),
}


def check_type(channel_type: str) -> None:
    if channel_type not in CHANNEL_TYPES:
        raise Invalid("channel.unknown_type",
                      f"channel type must be one of {', '.join(CHANNEL_TYPES)}", field="type")


def adapter_for(channel_type: str) -> ChannelAdapter:
    check_type(channel_type)
    try:
        return _ADAPTERS[channel_type]
    except KeyError:
        raise Invalid("channel.no_adapter",
                      f"SellerDesk cannot send or parse {channel_type} messages yet",
                      field="type") from None

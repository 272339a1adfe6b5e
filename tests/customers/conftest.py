from tests.api.support import admin, client, other_admin, other_channel

__all__ = ["admin", "client", "other_admin", "other_channel"]

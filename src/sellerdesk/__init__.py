"""SellerDesk: a self-hosted customer-service helpdesk for online sellers."""

__version__ = "0.1.0"

"""Channelport: imports orders and order events from sales channels, exactly once."""

__version__ = "0.1.0"

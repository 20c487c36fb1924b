"""Connectors turn one channel's wire format into normalized domain events.

A connector never touches the database; the sync engine stores what it returns.
"""

"""Channelport's exceptions, one tree so that each interface can map them to its own form.

    ChannelportError
    ├── UsageError              bad input from a person: exit code 2, HTTP 4xx
    │   ├── NotFound            unknown account, event type, connector kind, order
    │   └── Conflict            duplicate account name, removal refused
    ├── SyncRefused             edition lacks the order package, account inactive or locked
    ├── AccountBusy             another process holds the account's lease
    └── ConnectorError          the channel could not be used
        ├── CredentialsRejected 401/403: not transient, stop and say so loudly
        ├── ChannelUnavailable  transient faults that outlasted the retry budget
        └── ProtocolError       the channel answered something the protocol does not allow

Connectors translate httpx's exceptions into ConnectorError at the edge, so services
never see a transport exception.
"""

from __future__ import annotations


class ChannelportError(Exception):
    """Base of every error Channelport raises on purpose."""


class UsageError(ChannelportError):
    """The request was wrong; nothing changed. The message says what to do."""


class NotFound(UsageError):
    pass


class Conflict(UsageError):
    pass


class SyncRefused(ChannelportError):
    """A sync that must not run: missing package, inactive or locked account."""


class AccountBusy(ChannelportError):
    """Another process is syncing this account right now."""


class ConnectorError(ChannelportError):
    pass


class CredentialsRejected(ConnectorError):
    pass


class ChannelUnavailable(ConnectorError):
    pass


class ProtocolError(ConnectorError):
    pass

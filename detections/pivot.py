"""The pivot every page carries: "what else did this principal do in the 24 hours around this event?".

Pure and light (standard library only): it runs inside the forwarder Lambda, which builds the page's links and
custom_details from it. The command it returns is ``python -m detections investigate`` with the principal and
a time window centred on the event; run from a clone of this repository with credentials for the account.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

#: Half of the window around the event: 12 hours before and 12 after make "the 24 hours around" it.
PIVOT_HALF_WINDOW = timedelta(hours=12)
INVESTIGATE_COMMAND = ("python", "-m", "detections", "investigate")


def pivot_principal(record: Mapping[str, object]) -> str | None:
    """The most specific identifier of the caller: its ARN, else its access key id, else its user name."""
    identity = record.get("userIdentity")
    if not isinstance(identity, Mapping):
        return None
    for key in ("arn", "accessKeyId", "userName"):
        value = identity.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def pivot_command(record: Mapping[str, object]) -> str | None:
    """The shell command listing everything the record's principal did from 12 h before to 12 h after it.

    None when the record names no principal (an AWS service acting on its own) or has no usable eventTime.
    """
    principal = pivot_principal(record)
    event_time = record.get("eventTime")
    if principal is None or not isinstance(event_time, str):
        return None
    try:
        moment = datetime.fromisoformat(event_time)
    except ValueError:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    since = (moment - PIVOT_HALF_WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = (moment + PIVOT_HALF_WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ")
    arguments = [*INVESTIGATE_COMMAND, "--principal", principal, "--since", since, "--until", until]
    account = record.get("recipientAccountId")
    if isinstance(account, str) and account:
        arguments += ["--account", account]
    return shlex.join(arguments)

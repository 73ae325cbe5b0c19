"""Timestamps as the service writes them: RFC 3339, UTC, microseconds.

Fixed width, so they also sort correctly as strings (DynamoDB sort keys).
"""

from datetime import UTC, datetime, timedelta


def utc_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now() -> str:
    return utc_timestamp(datetime.now(UTC))


def seconds_ago(seconds: float) -> str:
    return utc_timestamp(datetime.now(UTC) - timedelta(seconds=seconds))

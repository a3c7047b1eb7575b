"""Time helpers shared by the API and the engine."""

from datetime import UTC, datetime


def iso_z(value: datetime | None) -> str | None:
    """UTC ISO 8601 with milliseconds and a trailing Z (the API's one timestamp format)."""
    if value is None:
        return None
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_aware(text: str) -> datetime:
    """Parse ISO 8601, insist on an explicit offset and return the instant in UTC; raises
    ValueError otherwise. Python accepts offsets up to ±23:59 but PostgreSQL stores only
    ±15:59, so a value keeps no offset past this edge."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp needs a timezone offset (e.g. Z or +02:00)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("timestamp out of range") from None

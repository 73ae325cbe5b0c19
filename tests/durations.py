"""Prometheus durations (`30s`, `5m`, `3d`) as the rules and Alertmanager files write them: one
number and one unit each."""

import re

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^(\d+)(ms|[smhdw])$")


def seconds(duration: str) -> float:
    match = _DURATION.match(duration)
    if match is None:
        raise ValueError(f"unsupported duration {duration!r} (one number and unit, e.g. 5m)")
    return int(match.group(1)) * _UNITS[match.group(2)]


def duration(total_seconds: float) -> str:
    """The largest whole unit that spells it: 90 s is '90s', 7200 s is '2h', 0.5 s '500ms'."""
    milliseconds = round(total_seconds * 1000)
    if milliseconds <= 0 or abs(milliseconds - total_seconds * 1000) > 1e-6:
        raise ValueError(f"{total_seconds} s is not a whole number of milliseconds")
    for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
        size_ms = round(size * 1000)
        if milliseconds % size_ms == 0:
            return f"{milliseconds // size_ms}{unit}"
    raise AssertionError("unreachable: every whole number of milliseconds has a unit")

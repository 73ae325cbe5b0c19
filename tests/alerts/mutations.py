"""Wrong versions of the rules file, one change each, for proving that the promtool tests would
catch a wrong rule (mutation testing).

For every rule: each numeric threshold doubled and halved (a product of two numbers, such as a
burn rate times a budget, is one threshold), each range window doubled and halved,
each recorded SLO window an alert reads swapped for its neighbours (1h for 30m and 6h, ...), the
latency bucket moved to its neighbouring bucket boundaries, `for` doubled and halved; every alert
made to never fire and to always fire, every recording made to record twice its value.
"""

import copy
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.durations import duration, seconds

# A range window, e.g. [5m].
_WINDOW = re.compile(r"\[(\d+[smhdw])\]")
# A number standing alone (not part of a name such as ratio_rate5m, nor of a window), or a
# product of two (14.4 * 0.001): mutating either factor would be the same mutant.
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?(?:\s*\*\s*\d+(?:\.\d+)?)?)(?![\w.])")
# The windows the SLO recording rules are named after, shortest first.
SLO_WINDOWS = ["5m", "30m", "1h", "6h", "3d"]
_RECORDED_WINDOW = re.compile(r"ratio_rate(" + "|".join(SLO_WINDOWS) + r")\b")
# Bucket boundaries of the HTTP histogram around the latency objective (0.25 s).
LATENCY_BUCKETS = ["0.1", "0.25", "0.5"]
_LE = re.compile(r'le="([^"]+)"')


@dataclass(frozen=True)
class Mutant:
    rule: str  # e.g. "SignupsFailing (page, -)" or "logger_app:slo_...:ratio_rate5m"
    change: str
    rules: dict[str, Any]  # the whole rules document, with the one change
    subject: str  # the alert name or the recorded metric name the change is about

    @property
    def id(self) -> str:
        return f"{self.rule}: {self.change}"


def _outside_strings(expr: str) -> Iterator[tuple[int, int]]:
    """Spans of `expr` outside double-quoted strings (label values)."""
    start = 0
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"', expr):
        yield start, match.start()
        start = match.end()
    yield start, len(expr)


def _value(literal: str) -> float:
    product = 1.0
    for factor in literal.split("*"):
        product *= float(factor)
    return product


def numbers(expr: str) -> list[str]:
    """The distinct numeric literals (or products of two) of an expression, zeros left out
    (doubling 0 is 0): `0 * x` is a way of writing "x, as zeros", not a threshold."""
    found: list[str] = []
    for start, end in _outside_strings(expr):
        for match in _NUMBER.finditer(expr, start, end):
            literal = match.group(1)
            if _value(literal) != 0 and literal not in found:
                found.append(literal)
    return found


def replace_number(expr: str, literal: str, new: str) -> str:
    pieces: list[str] = []
    position = 0
    for start, end in _outside_strings(expr):
        pieces.append(expr[position:start])
        pieces.append(
            _NUMBER.sub(lambda m: new if m.group(1) == literal else m.group(0), expr[start:end])
        )
        position = end
    pieces.append(expr[position:])
    return "".join(pieces)


def _number(value: float) -> str:
    return repr(value) if value != int(value) else str(int(value))


def _rules(document: dict[str, Any]) -> Iterator[tuple[int, int, dict[str, Any]]]:
    for g, group in enumerate(document["groups"]):
        for r, rule in enumerate(group["rules"]):
            yield g, r, rule


def rule_name(rule: dict[str, Any]) -> str:
    if "alert" in rule:
        return f"{rule['alert']} ({rule['labels']['severity']}, {rule['labels'].get('burn', '-')})"
    return str(rule["record"])


def _with(document: dict[str, Any], g: int, r: int, **changes: Any) -> dict[str, Any]:
    mutated = copy.deepcopy(document)
    mutated["groups"][g]["rules"][r].update(changes)
    return mutated


def _mutant(
    document: dict[str, Any],
    g: int,
    r: int,
    name: str,
    subject: str,
    change: str,
    new_expr: str | None = None,
    **fields: Any,
) -> Mutant:
    if new_expr is not None:
        fields["expr"] = new_expr
    return Mutant(name, change, _with(document, g, r, **fields), subject)


def mutants(document: dict[str, Any]) -> Iterator[Mutant]:
    for g, r, rule in _rules(document):
        name = rule_name(rule)
        subject = str(rule.get("alert") or rule["record"])
        expr: str = rule["expr"].strip()

        mutant = functools.partial(_mutant, document, g, r, name, subject)

        if "alert" in rule:
            yield mutant("never fires", "vector(1) == 0")
            yield mutant("always fires", f"({expr}) or vector(1)")
            if "for" in rule:
                wait = seconds(rule["for"])
                yield mutant(f"for {rule['for']} doubled", **{"for": duration(wait * 2)})
                yield mutant(f"for {rule['for']} halved", **{"for": duration(wait / 2)})
        else:
            yield mutant("records twice its value", f"2 * ({expr})")

        for literal in numbers(expr):
            first, _, rest = literal.partition("*")
            for factor, word in ((2, "doubled"), (0.5, "halved")):
                # A product keeps its form: 14.4 * 0.001 doubled is 28.8 * 0.001.
                new = _number(float(first) * factor) + (f" *{rest}" if rest else "")
                yield mutant(f"{literal} {word}", replace_number(expr, literal, new))

        for window in dict.fromkeys(_WINDOW.findall(expr)):
            for factor, word in ((2, "doubled"), (0.5, "halved")):
                new = duration(seconds(window) * factor)
                yield mutant(f"[{window}] {word}", expr.replace(f"[{window}]", f"[{new}]"))

        for recorded in dict.fromkeys(_RECORDED_WINDOW.findall(expr)):
            index = SLO_WINDOWS.index(recorded)
            for neighbour in SLO_WINDOWS[max(index - 1, 0) : index + 2]:
                if neighbour != recorded:
                    yield mutant(
                        f"ratio_rate{recorded} read as ratio_rate{neighbour}",
                        re.sub(rf"ratio_rate{recorded}\b", f"ratio_rate{neighbour}", expr),
                    )

        for bucket in dict.fromkeys(_LE.findall(expr)):
            index = LATENCY_BUCKETS.index(bucket)
            for neighbour in (LATENCY_BUCKETS[index - 1], LATENCY_BUCKETS[index + 1]):
                yield mutant(
                    f'le="{bucket}" moved to le="{neighbour}"',
                    expr.replace(f'le="{bucket}"', f'le="{neighbour}"'),
                )

"""Who made an authorized request: what a route that requires a scope is given. A leaf (it
imports nothing of the app's), so any module can name it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """Who made an authorized request."""

    client_id: str
    scopes: frozenset[str]

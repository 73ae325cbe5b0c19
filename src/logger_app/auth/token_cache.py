"""Access tokens already verified, by their exact string, so that a client reusing its token
pays the RS256 signature check (the largest part of a request's authentication) once.

An entry holds only what the verification concluded (the client id and scopes), the key that
verified it, and the token's ``exp``. It is used only while the token has not expired (``exp``
itself, without the leeway a fresh verification would allow) and while that very key is still
the issuer's current one for its key id (``KeySet.holds``: not withdrawn, not due for a
refetch), so an entry never outlives the key being known. Anything else goes through the whole
verification again. Bounded: the least recently used entry goes first.
"""

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import jwt

# About a kilobyte a token: a megabyte at most, and more callers than a task serves at once.
MAX_ENTRIES = 1024


@dataclass(frozen=True)
class Verified:
    client_id: str
    scopes: frozenset[str]
    kid: str
    key: jwt.PyJWK  # the key the signature verified against
    expires_at: float  # the token's exp, epoch seconds


class VerifiedTokens:
    def __init__(
        self, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.time
    ) -> None:
        self._entries: OrderedDict[str, Verified] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock

    def get(self, token: str) -> Verified | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        if self._clock() >= entry.expires_at:
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return entry

    def put(self, token: str, verified: Verified) -> None:
        self._entries[token] = verified
        self._entries.move_to_end(token)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def discard(self, token: str) -> None:
        self._entries.pop(token, None)

    def __len__(self) -> int:
        return len(self._entries)

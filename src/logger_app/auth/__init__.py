"""OAuth 2.0 bearer tokens: JWT access tokens checked against the issuer's JWKS, and the
``requires(scope)`` dependency every /v1 route declares.

- ``caller``: who made an authorized request (a leaf: imports nothing of the app's).
- ``jwks``: the issuer's signing keys, fetched and cached (``KeySet``).
- ``tokens``: a token's verification, to a client id and scopes (``Authenticator``).
- ``token_cache``: tokens already verified, so a reused token is not verified again.
- ``dependency``: the FastAPI dependency (``requires``), which tells the audit entry and the
  span who the caller is.

The scopes and the audit actions they grant are written in ``logger_app.scopes``; the settings
the API refuses to start without are checked by ``settings.ApiSettings``.
"""

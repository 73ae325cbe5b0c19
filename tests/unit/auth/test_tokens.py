"""A token's verification to its client id and scopes."""

import json
import time

import anyio
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from logger_app.auth.jwks import KeySet
from logger_app.auth.tokens import Authenticator
from logger_app.settings import ApiSettings


def test_a_scope_prefix_admits_only_the_resource_servers_scopes() -> None:
    """Cognito names custom scopes <resource server>/<scope>: with the prefix configured, the
    routes' scopes match those, and a bare or foreign scope grants nothing."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.PyJWK.from_dict(
        {**json.loads(RSAAlgorithm.to_jwk(private_key.public_key())), "kid": "k1", "use": "sig"}
    )
    issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
    settings = ApiSettings(
        auth_issuer=issuer,
        auth_client_ids="caller",
        auth_scope_prefix="logger-app/",
    )
    authenticator = Authenticator(settings)
    authenticator.keys = KeySet(lambda: {"k1": public}, min_refetch_seconds=30)
    now = int(time.time())
    claims = {
        "iss": issuer,
        "client_id": "caller",
        "token_use": "access",
        "iat": now,
        "exp": now + 300,
        "scope": "logger-app/signups:write records:read other/records:write",
    }
    token = jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": "k1"})
    client_id, scopes = anyio.run(authenticator.authenticate, token)
    assert (client_id, scopes) == ("caller", frozenset({"signups:write"}))

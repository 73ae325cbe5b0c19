"""A token issuer for local development: an RSA key pair in a directory, and access tokens
shaped like Amazon Cognito's, signed with it.

`make run` points the app at the directory (``LOGGER_APP_LOCAL_ISSUER_DIR``); the app then
trusts this issuer and the directory's public key as its JWKS, with no HTTP. Nothing on ECS sets
that variable (``infra/tests`` checks it), so these tokens are worthless anywhere else.
"""

import contextlib
import hashlib
import os
import secrets
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from logger_app import synthetic
from logger_app.token_claims import ACCESS, ALGORITHM, TOKEN_USE

ISSUER = "urn:logger-app:local-issuer"
CLIENT_ID = "logger-app-local"
# The client `logger-app verify` uses against `make run` and compose: its traffic is synthetic.
SYNTHETIC_CLIENT_ID = synthetic.LOCAL_CLIENT_ID
DEFAULT_LIFETIME_SECONDS = 900
_PRIVATE_KEY = "private-key.pem"


def _private_key(directory: Path) -> rsa.RSAPrivateKey:
    """The directory's key, made on first use. Two processes starting together agree: the key
    is written to a temporary file and linked into place only if none is there yet."""
    path = directory / _PRIVATE_KEY
    if not path.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor, temporary = tempfile.mkstemp(dir=directory)
        try:
            os.write(descriptor, pem)  # mkstemp makes it readable by its owner only
            os.close(descriptor)
            with contextlib.suppress(FileExistsError):  # another process made one first
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    return loaded


def _key_id(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


def jwks(directory: Path) -> dict[str, Any]:
    """The issuer's JWKS: its one public key."""
    public_key = _private_key(directory).public_key()
    jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    return {"keys": [{**jwk, "kid": _key_id(public_key), "alg": ALGORITHM, "use": "sig"}]}


def mint(
    directory: Path,
    scopes: Iterable[str],
    *,
    lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS,
    client_id: str = CLIENT_ID,
) -> str:
    """An access token as Cognito issues them for the client-credentials grant."""
    key = _private_key(directory)
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": client_id,
        "client_id": client_id,
        TOKEN_USE: ACCESS,
        "scope": " ".join(scopes),
        "iat": now,
        "exp": now + lifetime_seconds,
        "jti": secrets.token_hex(16),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": _key_id(key.public_key())})

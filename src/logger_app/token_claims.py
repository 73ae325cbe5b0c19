"""What an access token is, as Amazon Cognito issues them for the client-credentials grant: the
local issuer mints them so (local_issuer.py) and the app accepts only these (auth/tokens.py)."""

ALGORITHM = "RS256"
# The claim telling Cognito's access tokens from its ID tokens, and its value on an access token.
TOKEN_USE = "token_use"  # noqa: S105 (a claim's name)
ACCESS = "access"

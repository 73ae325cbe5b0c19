"""The API's token issuer: a Cognito user pool for machine callers only.

No people sign in here: the pool has no users and self sign-up is off. A resource server names
the API's scopes (Cognito writes them `logger-app/<scope>`, hence the API's scope prefix), and
each caller (the `apiClients` input) gets an app client that may only use the client
credentials grant, with a secret Cognito generates and keeps. The API accepts tokens from this
pool's issuer for these clients only.

One more client is the deployment's own: `logger-app verify`'s (verify_task.py), accepted like
the callers' and named synthetic to the API (LOGGER_APP_SYNTHETIC_CLIENT_IDS), so its journey
never counts as a patient's. Its secret is copied into Secrets Manager for the verify task.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Fn, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from logger_app import scopes

from . import removal
from .config import API_SCOPES, DeploymentConfig
from .nag import explain_client_secret_reader, suppress

RESOURCE_SERVER = "logger-app"
# What the API strips from Cognito's scope names (LOGGER_APP_AUTH_SCOPE_PREFIX).
SCOPE_PREFIX = f"{RESOURCE_SERVER}/"
SCOPE_DESCRIPTIONS = {scope: does[0].upper() + does[1:] for scope, does in scopes.SCOPES.items()}
# `logger-app verify`'s journey: a sign-up and a record, nothing read back through the API.
VERIFY_CLIENT = "verify"
VERIFY_SCOPES = scopes.VERIFY_SCOPES
NO_USERS = (
    "Machine-to-machine pool: no users exist and self sign-up is off; callers authenticate "
    "with an app client id and secret (client credentials), so {what} does not apply."
)


class ApiAuth(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True),
            account_recovery=cognito.AccountRecovery.NONE,
            # Unused (no users), but strict should an administrator ever add one.
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
            ),
            deletion_protection=config.is_production,
            # Kept with the stack like the data (the callers hold its clients' secrets); gone
            # with it under dataRemovalPolicy=destroy (removal.py).
            removal_policy=removal.data(config, named=False),
        )
        scopes = {
            name: cognito.ResourceServerScope(
                scope_name=name, scope_description=SCOPE_DESCRIPTIONS[name]
            )
            for name in API_SCOPES
        }
        self.resource_server = self.user_pool.add_resource_server(
            "ResourceServer",
            identifier=RESOURCE_SERVER,
            user_pool_resource_server_name="logger-app API",
            scopes=list(scopes.values()),
        )
        # The token endpoint. Cognito prefixes are global per region: the account keeps
        # environments of different accounts apart.
        self.domain = self.user_pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=f"logger-app-{config.environment}-{Stack.of(self).account}"
            ),
        )
        self.token_endpoint = f"{self.domain.base_url()}/oauth2/token"
        # The tokens' `iss`, exactly, built from its parts: CloudFormation's ProviderURL
        # attribute is documented loosely enough that the scheme is not guaranteed.
        stack = Stack.of(self)
        self.issuer = (
            f"https://cognito-idp.{stack.region}.{stack.url_suffix}/{self.user_pool.user_pool_id}"
        )

        self.clients: dict[str, cognito.UserPoolClient] = {}
        for caller in config.api_clients:
            self.clients[caller.name] = self.user_pool.add_client(
                f"Client-{caller.name}",
                user_pool_client_name=f"logger-app-{config.environment}-{caller.name}",
                generate_secret=True,
                o_auth=cognito.OAuthSettings(
                    flows=cognito.OAuthFlows(client_credentials=True),
                    scopes=[
                        cognito.OAuthScope.resource_server(self.resource_server, scopes[name])
                        for name in caller.scopes
                    ],
                ),
                prevent_user_existence_errors=True,
            )
            CfnOutput(
                self,
                f"ClientId-{caller.name}",
                value=self.clients[caller.name].user_pool_client_id,
                description=f"App client id of the API caller {caller.name} "
                f"(scopes: {' '.join(caller.scopes)}); its secret stays in Cognito",
            )
        self._verify_client(config, scopes)
        CfnOutput(
            self,
            "TokenEndpoint",
            value=self.token_endpoint,
            description="Client credentials token endpoint of the API's issuer",
        )

        suppress(self.user_pool, "AwsSolutions-COG2", NO_USERS.format(what="MFA"))
        suppress(
            self.user_pool,
            "AwsSolutions-COG8",
            NO_USERS.format(
                what="the Plus plan's threat protection (risk checks on user sign-ins and "
                "compromised passwords)"
            ),
        )

    def _verify_client(
        self, config: DeploymentConfig, scopes: dict[str, cognito.ResourceServerScope]
    ) -> None:
        self.verify_client = self.user_pool.add_client(
            "VerifyClient",
            user_pool_client_name=f"logger-app-{config.environment}-{VERIFY_CLIENT}",
            generate_secret=True,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True),
                scopes=[
                    cognito.OAuthScope.resource_server(self.resource_server, scopes[name])
                    for name in VERIFY_SCOPES
                ],
            ),
            prevent_user_existence_errors=True,
        )
        # Cognito generates the secret; a custom resource reads it at deploy (its response
        # hidden from the logs) and it is kept here, encrypted, for the verify task's `secrets`.
        # The template holds only a reference to the custom resource's attribute.
        key = kms.Key(
            self,
            "VerifySecretKey",
            description=f"Encrypts logger-app verify's client secret ({config.environment})",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.verify_client_secret = secretsmanager.Secret(
            self,
            "VerifyClientSecret",
            description=f"logger-app verify's app client secret ({config.environment})",
            encryption_key=key,
            secret_string_value=self.verify_client.user_pool_client_secret,
        )
        explain_client_secret_reader(
            Stack.of(self),
            "logger-app verify's app client secret (cognito-idp:DescribeUserPoolClient on "
            "the API's pool only)",
        )
        rotation = (
            "Cognito generates and owns the app client secret; it cannot be rotated in place "
            "(a new app client is the rotation), so Secrets Manager rotation does not apply."
        )
        suppress(self.verify_client_secret, "AwsSolutions-SMG4", rotation)
        suppress(
            self.verify_client_secret, "HIPAA.Security-SecretsManagerRotationEnabled", rotation
        )
        CfnOutput(
            self,
            "VerifyClientId",
            value=self.verify_client.user_pool_client_id,
            description="App client id of logger-app verify (synthetic; scopes: "
            f"{' '.join(VERIFY_SCOPES)}); its secret is in Secrets Manager",
        )

    def app_environment(self) -> dict[str, str]:
        """What the API container needs to accept this pool's tokens (src/logger_app/auth/),
        and the client whose requests are synthetic (logger-app verify's).

        The keys are at <issuer>/.well-known/jwks.json, public HTTPS: no IAM permission needed.
        """
        ids = [client.user_pool_client_id for client in self.clients.values()]
        verify = self.verify_client.user_pool_client_id
        return {
            "LOGGER_APP_AUTH_ISSUER": self.issuer,
            "LOGGER_APP_AUTH_CLIENT_IDS": Fn.join(",", [*ids, verify]),
            "LOGGER_APP_AUTH_SCOPE_PREFIX": SCOPE_PREFIX,
            "LOGGER_APP_SYNTHETIC_CLIENT_IDS": verify,
        }

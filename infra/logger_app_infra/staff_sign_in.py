"""Staff sign-in: a Cognito user pool for people, with MFA, that Grafana trusts over OIDC.

A different pool from the API's (api_auth.py, machines only). Administrators create every
account (no self sign-up); the first sign-in sets a password and a TOTP authenticator, and
every sign-in after that asks for both. Group membership decides the Grafana role: `staff`
Viewer, `engineers` Editor, `admins` Admin; someone in no group is refused
(docs/deployment.md, "Staff access").
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from . import removal
from .config import DeploymentConfig
from .nag import explain_client_secret_reader, suppress

# Cognito group -> Grafana role, highest first (the role path below tries them in this order).
GROUP_ROLES = {"admins": "Admin", "engineers": "Editor", "staff": "Viewer"}
GROUP_DESCRIPTIONS = {
    "admins": "Grafana Admin: users, data sources, everything",
    "engineers": "Grafana Editor: create and change dashboards",
    "staff": "Grafana Viewer: read the dashboards",
}
GROUPS_CLAIM = "cognito:groups"


def role_attribute_path() -> str:
    """JMESPath over the ID token's claims. A key with ':' must be a quoted identifier; with
    role_attribute_strict a user in none of the groups gets no role and is refused."""
    claim = f'"{GROUPS_CLAIM}"[*]'
    return " || ".join(
        f"contains({claim}, '{group}') && '{role}'" for group, role in GROUP_ROLES.items()
    )


class StaffSignIn(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        grafana_root_url: str,
        encryption_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"logger-app-{config.environment}-staff",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # Threat protection: risky sign-ins blocked, compromised passwords refused.
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=config.is_production,
            removal_policy=removal.data(config, named=False),
        )
        for group, description in GROUP_DESCRIPTIONS.items():
            self.user_pool.add_group(f"Group-{group}", group_name=group, description=description)

        # Hosted sign-in pages; prefixes are global per region, hence the account.
        self.domain = self.user_pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=f"logger-app-staff-{config.environment}-{Stack.of(self).account}"
            ),
        )
        base_url = self.domain.base_url()
        self.callback_url = f"{grafana_root_url}/login/generic_oauth"
        self.logout_url = f"{grafana_root_url}/login"
        self.client = self.user_pool.add_client(
            "Grafana",
            user_pool_client_name=f"logger-app-{config.environment}-grafana",
            generate_secret=True,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[
                    cognito.OAuthScope.OPENID,
                    cognito.OAuthScope.EMAIL,
                    cognito.OAuthScope.PROFILE,
                ],
                callback_urls=[self.callback_url],
                logout_urls=[self.logout_url],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(12),
        )
        # Cognito generates the secret; a custom resource reads it once and it is kept here,
        # so the Grafana task receives it from Secrets Manager like its other secrets.
        self.client_secret = secretsmanager.Secret(
            self,
            "ClientSecret",
            description=f"Grafana's staff user pool client secret ({config.environment})",
            encryption_key=encryption_key,
            secret_string_value=self.client.user_pool_client_secret,
        )
        explain_client_secret_reader(
            Stack.of(self),
            "the staff app client's secret (cognito-idp:DescribeUserPoolClient on this pool only)",
        )
        rotation_reason = (
            "Cognito generates and owns the app client secret; it cannot be rotated in place "
            "(a new app client is the rotation), so Secrets Manager rotation does not apply."
        )
        suppress(self.client_secret, "AwsSolutions-SMG4", rotation_reason)
        suppress(
            self.client_secret, "HIPAA.Security-SecretsManagerRotationEnabled", rotation_reason
        )

        self.grafana_environment = {
            "GF_AUTH_GENERIC_OAUTH_ENABLED": "true",
            "GF_AUTH_GENERIC_OAUTH_NAME": "Staff sign-in",
            "GF_AUTH_GENERIC_OAUTH_CLIENT_ID": self.client.user_pool_client_id,
            "GF_AUTH_GENERIC_OAUTH_SCOPES": "openid email profile",
            "GF_AUTH_GENERIC_OAUTH_AUTH_URL": f"{base_url}/oauth2/authorize",
            "GF_AUTH_GENERIC_OAUTH_TOKEN_URL": f"{base_url}/oauth2/token",
            "GF_AUTH_GENERIC_OAUTH_API_URL": f"{base_url}/oauth2/userInfo",
            "GF_AUTH_GENERIC_OAUTH_USE_PKCE": "true",
            "GF_AUTH_GENERIC_OAUTH_EMAIL_ATTRIBUTE_PATH": "email",
            "GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH": role_attribute_path(),
            "GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_STRICT": "true",
            "GF_AUTH_GENERIC_OAUTH_ALLOW_ASSIGN_GRAFANA_ADMIN": "false",
            # Accounts come from the pool: Grafana creates its user at the first sign-in.
            "GF_AUTH_GENERIC_OAUTH_ALLOW_SIGN_UP": "true",
            # Staff go straight to the pool's sign-in page; the login form stays reachable only
            # at /login?disableAutoLogin=true, for the break-glass admin (docs/deployment.md).
            "GF_AUTH_GENERIC_OAUTH_AUTO_LOGIN": "true",
            "GF_AUTH_SIGNOUT_REDIRECT_URL": (
                f"{base_url}/logout?client_id={self.client.user_pool_client_id}"
                f"&logout_uri={self.logout_url}"
            ),
        }

        CfnOutput(
            self,
            "StaffUserPoolId",
            value=self.user_pool.user_pool_id,
            description="Staff user pool: create staff here and add them to staff, engineers "
            "or admins (docs/deployment.md, Staff access)",
        )
        CfnOutput(self, "StaffSignInDomain", value=base_url)

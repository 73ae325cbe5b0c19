"""The API's token issuer on AWS: a Cognito pool for machine callers, one client per caller."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from infra_helpers import container, environment, logical_id, only, resources, template
from infra_settings import DIGESTS
from logger_app_infra.api_auth import RESOURCE_SERVER, SCOPE_PREFIX, VERIFY_SCOPES
from logger_app_infra.app_builder import LoggerAppStacks
from logger_app_infra.config import API_SCOPES, ApiClient, ConfigError, load_config

from logger_app.scopes import SCOPES
from logger_app.settings import Settings


def _task(stacks: LoggerAppStacks, worker: bool = False) -> dict[str, Any]:
    construct = stacks.service.worker_task if worker else stacks.service.task
    task_id = logical_id(stacks.service, construct.task_definition)
    return resources(stacks.service, "AWS::ECS::TaskDefinition")[task_id]


def _clients(stacks: LoggerAppStacks) -> dict[str, dict[str, Any]]:
    found = resources(stacks.service, "AWS::Cognito::UserPoolClient")
    return {props["Properties"]["ClientName"]: {"id": k, **props} for k, props in found.items()}


def test_infra_scopes_are_the_apis() -> None:
    assert set(API_SCOPES) == set(SCOPES)
    # The variable the task sets is one the API reads.
    assert Settings(auth_scope_prefix=SCOPE_PREFIX).auth_scope_prefix == "logger-app/"


def test_the_pool_is_for_machines_only(prod: LoggerAppStacks, dev: LoggerAppStacks) -> None:
    pool = only(prod.service, "AWS::Cognito::UserPool")
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True  # no self sign-up
    assert pool["DeletionProtection"] == "ACTIVE"
    assert only(dev.service, "AWS::Cognito::UserPool")["DeletionProtection"] == "INACTIVE"
    # Kept with the stack, like the data (removal.py).
    (found,) = resources(prod.service, "AWS::Cognito::UserPool").values()
    assert found["DeletionPolicy"] == "Retain"


def test_the_resource_server_names_the_three_scopes(prod: LoggerAppStacks) -> None:
    server = only(prod.service, "AWS::Cognito::UserPoolResourceServer")
    assert server["Identifier"] == RESOURCE_SERVER
    assert {scope["ScopeName"] for scope in server["Scopes"]} == {
        "signups:write",
        "records:write",
        "records:read",
    }


def test_a_domain_serves_the_token_endpoint(prod: LoggerAppStacks) -> None:
    domain = only(prod.service, "AWS::Cognito::UserPoolDomain")
    assert "logger-app-prod-" in str(domain["Domain"])
    outputs = template(prod.service).find_outputs("*")
    endpoints = [o for k, o in outputs.items() if "TokenEndpoint" in k]
    assert len(endpoints) == 1
    assert ".amazoncognito.com/oauth2/token" in str(endpoints[0]["Value"])


def test_one_client_credentials_client_per_caller(prod: LoggerAppStacks) -> None:
    clients = _clients(prod)
    server = next(iter(resources(prod.service, "AWS::Cognito::UserPoolResourceServer")))
    expected = {
        "logger-app-prod-patient-signup": ["signups:write"],
        "logger-app-prod-care-records": ["records:write", "records:read"],
        # logger-app verify's (synthetic) journey: a sign-up and a record.
        "logger-app-prod-verify": ["signups:write", "records:write"],
    }
    assert set(clients) == set(expected)
    for name, scopes in expected.items():
        props = clients[name]["Properties"]
        assert props["AllowedOAuthFlows"] == ["client_credentials"]
        assert props["AllowedOAuthFlowsUserPoolClient"] is True
        assert props["GenerateSecret"] is True
        assert props["AllowedOAuthScopes"] == [
            {"Fn::Join": ["", [{"Ref": server}, f"/{scope}"]]} for scope in scopes
        ]
    # Their ids are outputs; their secrets are not.
    outputs = template(prod.service).find_outputs("*")
    client_outputs = {str(o["Value"]) for k, o in outputs.items() if "ClientId" in k}
    assert client_outputs == {str({"Ref": c["id"]}) for c in clients.values()}
    assert "ClientSecret" not in str(outputs)


def test_the_api_accepts_the_pools_tokens_for_its_clients(prod: LoggerAppStacks) -> None:
    env = environment(container(_task(prod), "app"))
    auth = {k: v for k, v in env.items() if k.startswith("LOGGER_APP_AUTH_")}
    assert set(auth) == {
        "LOGGER_APP_AUTH_ISSUER",
        "LOGGER_APP_AUTH_CLIENT_IDS",
        "LOGGER_APP_AUTH_SCOPE_PREFIX",
    }
    pool = next(iter(resources(prod.service, "AWS::Cognito::UserPool")))
    assert auth["LOGGER_APP_AUTH_ISSUER"] == {
        "Fn::Join": [
            "",
            [
                "https://cognito-idp.eu-west-1.",
                {"Ref": "AWS::URLSuffix"},
                "/",
                {"Ref": pool},
            ],
        ]
    }
    assert auth["LOGGER_APP_AUTH_CLIENT_IDS"] == {
        "Fn::Join": [",", [{"Ref": c["id"]} for c in _clients(prod).values()]]
    }
    assert auth["LOGGER_APP_AUTH_SCOPE_PREFIX"] == "logger-app/"


def test_the_api_accepts_the_verify_client_and_calls_it_synthetic(
    prod: LoggerAppStacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    verify = {"Ref": _clients(prod)["logger-app-prod-verify"]["id"]}
    env = environment(container(_task(prod), "app"))
    assert verify in env["LOGGER_APP_AUTH_CLIENT_IDS"]["Fn::Join"][1]
    # Only the verify client is synthetic: every caller's requests count.
    assert env["LOGGER_APP_SYNTHETIC_CLIENT_IDS"] == verify
    # The names the task sets are the ones the API reads.
    monkeypatch.setenv("LOGGER_APP_SYNTHETIC_CLIENT_IDS", "a,b")
    monkeypatch.setenv("LOGGER_APP_AUTH_CLIENT_IDS", "a,c")
    settings = Settings()
    assert settings.synthetic_client_ids == {"a", "b"}
    assert settings.auth_client_ids == {"a", "c"}


def test_the_verify_client_asks_only_for_the_journeys_scopes(prod: LoggerAppStacks) -> None:
    assert set(VERIFY_SCOPES) == {"signups:write", "records:write"}
    props = _clients(prod)["logger-app-prod-verify"]["Properties"]
    assert props["AllowedOAuthFlows"] == ["client_credentials"]
    assert props["GenerateSecret"] is True
    assert len(props["AllowedOAuthScopes"]) == 2


def test_the_verify_secret_reaches_secrets_manager_never_the_template(
    prod: LoggerAppStacks,
) -> None:
    secrets = resources(prod.service, "AWS::SecretsManager::Secret")
    [secret] = [s for k, s in secrets.items() if "VerifyClientSecret" in k]
    value = secret["Properties"]["SecretString"]
    # Read at deploy time from Cognito by a custom resource: only a reference is in the template.
    assert set(value) == {"Fn::GetAtt"}
    reader_id, attribute = value["Fn::GetAtt"]
    assert attribute == "UserPoolClient.ClientSecret"
    reader = resources(prod.service, "Custom::DescribeCognitoUserPoolClient")[reader_id]
    # Its response (the secret) is kept out of the custom resource's logs.
    call = reader["Properties"]["Update"]["Fn::Join"][1][-1]
    assert call.endswith('"logApiResponseData":false}')
    assert "KmsKeyId" in secret["Properties"]
    assert "ClientSecret" not in str(template(prod.service).find_outputs("*"))


def test_the_worker_gets_no_token_settings(prod: LoggerAppStacks) -> None:
    env = environment(container(_task(prod, worker=True), "app"))
    assert not [name for name in env if name.startswith("LOGGER_APP_AUTH_")]


def _config(**context: str):  # type: ignore[no-untyped-def]
    return load_config(cdk.App(context={"imageTag": "test-placeholder", **DIGESTS, **context}).node)


def test_callers_are_an_input() -> None:
    assert _config().api_clients == (
        ApiClient("patient-signup", ("signups:write",)),
        ApiClient("care-records", ("records:write", "records:read")),
    )
    assert _config(apiClients=" reader : records:read ;").api_clients == (
        ApiClient("reader", ("records:read",)),
    )


def test_callers_come_from_the_environment_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_CLIENTS", "a:records:read;b:signups:write+records:write")
    assert [c.name for c in _config().api_clients] == ["a", "b"]


@pytest.mark.parametrize(
    "value",
    [
        "reader",  # no scopes
        "reader:",  # empty scopes
        "Reader:records:read",  # name not lower-case
        "reader:records:delete",  # not a scope of the API
        "reader:records:read+records:read",  # a scope twice
        "a:records:read;a:signups:write",  # a caller twice
        ";",  # nobody
    ],
)
def test_malformed_callers_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="apiClients"):
        _config(apiClients=value)

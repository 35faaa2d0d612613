"""Vaults and credentials through `client.beta.vaults`: create, retrieve, list, update, archive,
delete for every auth type; secrets never come back; immutable fields stay immutable."""

from __future__ import annotations

import anthropic
from anthropic.types.beta.beta_invalid_metadata_error import BetaInvalidMetadataError
from anthropic.types.beta.beta_managed_agents_deleted_vault import BetaManagedAgentsDeletedVault
from anthropic.types.beta.beta_managed_agents_vault import BetaManagedAgentsVault as Vault
from anthropic.types.beta.vaults.beta_managed_agents_credential import BetaManagedAgentsCredential as Credential
from anthropic.types.beta.vaults.beta_managed_agents_credential_validation import (
    BetaManagedAgentsCredentialValidation,
)
from anthropic.types.beta.vaults.beta_managed_agents_deleted_credential import BetaManagedAgentsDeletedCredential

import sdk_strict as sx

INVALID = {"invalid_request_error"}
NOT_FOUND = {"not_found_error"}

ACCESS_TOKEN = "sdk-secret-access-" + sx.unique("a")
REFRESH_TOKEN = "sdk-secret-refresh-" + sx.unique("r")
CLIENT_SECRET = "sdk-secret-client-" + sx.unique("c")
BEARER_TOKEN = "sdk-secret-bearer-" + sx.unique("b")
SECRET_VALUE = "sdk-secret-value-" + sx.unique("v")
NEW_SECRETS = {k: f"sdk-secret-new-{k}-" + sx.unique("n") for k in ("access", "refresh", "client", "bearer", "value")}
SECRETS = [ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET, BEARER_TOKEN, SECRET_VALUE, *NEW_SECRETS.values()]


class NoSecrets:
    """Wraps `with_raw_response` methods: every raw answer is checked for every secret."""

    def __init__(self) -> None:
        self.seen = 0

    def __call__(self, method):
        def wrapped(*args, **kwargs):
            raw = method(*args, **kwargs)
            text = raw.text()
            self.seen += 1
            leaked = [s for s in SECRETS if s in text]
            assert not leaked, f"an answer carries secrets {leaked}: {text}"
            return raw

        return wrapped


def oauth_auth() -> dict:
    return {
        "type": "mcp_oauth",
        "mcp_server_url": "https://mcp.linear.app/mcp",
        "access_token": ACCESS_TOKEN,
        "expires_at": "2999-01-01T00:00:00Z",
        "refresh": {
            "client_id": "switchboard-console",
            "refresh_token": REFRESH_TOKEN,
            "token_endpoint": "https://linear.app/oauth/token",
            "token_endpoint_auth": {"type": "client_secret_basic", "client_secret": CLIENT_SECRET},
            "scope": "read write",
        },
    }


def bearer_auth() -> dict:
    return {"type": "static_bearer", "mcp_server_url": "https://mcp.example.com/mcp", "token": BEARER_TOKEN}


def variable_auth() -> dict:
    return {
        "type": "environment_variable",
        "secret_name": "GITHUB_TOKEN",
        "secret_value": SECRET_VALUE,
        "networking": {"type": "limited", "allowed_hosts": ["api.github.com", "*.githubusercontent.com"]},
        "injection_location": {"header": True, "body": False},
    }


def test_vault_lifecycle(client):
    guard = NoSecrets()
    vaults = client.beta.vaults.with_raw_response
    created = [
        sx.call(guard(vaults.create), Vault, display_name=f"sdk vault {i}", metadata={"n": str(i)}) for i in range(5)
    ]
    vault = created[0]
    assert vault.id.startswith("vlt_") and vault.type == "vault"
    assert vault.display_name == "sdk vault 0" and vault.metadata == {"n": "0"} and vault.archived_at is None

    assert sx.call(guard(vaults.retrieve), Vault, vault.id) == vault

    walked, pages = sx.walk_pages(guard(vaults.list), Vault, limit=2)
    ids = [v.id for v in walked]
    assert len(ids) == len(set(ids)) and all(len(p.data) <= 2 for p in pages)
    assert [v.id for v in created[::-1]] == [i for i in ids if i in {v.id for v in created}], "newest first"
    assert [v.id for v in client.beta.vaults.list(limit=2)] == ids, "the SDK's auto-pagination agrees"

    updated = sx.call(
        guard(vaults.update), Vault, vault.id, display_name="renamed", metadata={"n": None, "team": "support"}
    )
    assert updated.display_name == "renamed" and updated.metadata == {"team": "support"}
    assert updated.created_at == vault.created_at and updated.updated_at > vault.updated_at

    archived = sx.call(guard(vaults.archive), Vault, vault.id)
    assert archived.archived_at is not None and archived.display_name == "renamed"
    assert vault.id not in [v.id for v in client.beta.vaults.list(limit=100)]
    assert vault.id in [v.id for v in client.beta.vaults.list(limit=100, include_archived=True)]
    sx.expect_error(anthropic.BadRequestError, 400, INVALID, client.beta.vaults.update, vault.id, display_name="x")

    deleted = sx.call(guard(vaults.delete), BetaManagedAgentsDeletedVault, vault.id)
    assert deleted.id == vault.id and deleted.type == "vault_deleted"
    sx.expect_error(anthropic.NotFoundError, 404, NOT_FOUND, client.beta.vaults.retrieve, vault.id)
    sx.expect_error(anthropic.NotFoundError, 404, NOT_FOUND, client.beta.vaults.delete, vault.id)
    assert guard.seen > 8


def test_bad_vault_input(client):
    sx.expect_error(anthropic.BadRequestError, 400, INVALID, client.beta.vaults.create, display_name="")
    sx.expect_error(anthropic.BadRequestError, 400, INVALID, client.beta.vaults.create, display_name="x" * 256)
    error, _ = sx.expect_error(
        BetaInvalidMetadataError,
        400,
        INVALID,
        client.beta.vaults.create,
        display_name="too much metadata",
        metadata={f"k{i}": "v" for i in range(17)},
    )
    assert error.error_code == "invalid_metadata"
    for call in (
        lambda: client.beta.vaults.retrieve("vlt_doesnotexist"),
        lambda: client.beta.vaults.update("vlt_doesnotexist", display_name="x"),
        lambda: client.beta.vaults.archive("vlt_doesnotexist"),
        lambda: client.beta.vaults.delete("vlt_doesnotexist"),
        lambda: client.beta.vaults.credentials.list("vlt_doesnotexist"),
        lambda: client.beta.vaults.credentials.create("vlt_doesnotexist", auth=bearer_auth()),
    ):
        sx.expect_error(anthropic.NotFoundError, 404, NOT_FOUND, call)


def test_credentials_of_every_type(client):
    guard = NoSecrets()
    vault = sx.call(client.beta.vaults.with_raw_response.create, Vault, display_name=sx.unique("creds"))
    creds = client.beta.vaults.credentials.with_raw_response

    oauth = sx.call(guard(creds.create), Credential, vault.id, auth=oauth_auth(), display_name="Linear")
    assert oauth.id.startswith("vcrd_") and oauth.vault_id == vault.id and oauth.type == "vault_credential"
    assert oauth.auth.type == "mcp_oauth" and oauth.auth.mcp_server_url == "https://mcp.linear.app/mcp"
    assert oauth.auth.expires_at is not None and oauth.auth.expires_at.year == 2999
    assert oauth.auth.refresh.client_id == "switchboard-console"
    assert oauth.auth.refresh.token_endpoint_auth.type == "client_secret_basic"
    assert oauth.display_name == "Linear" and oauth.archived_at is None

    bearer = sx.call(guard(creds.create), Credential, vault.id, auth=bearer_auth(), metadata={"owner": "dana"})
    assert bearer.auth.type == "static_bearer" and bearer.metadata == {"owner": "dana"}
    assert bearer.display_name is None

    variable = sx.call(guard(creds.create), Credential, vault.id, auth=variable_auth())
    assert variable.auth.type == "environment_variable" and variable.auth.secret_name == "GITHUB_TOKEN"
    assert variable.auth.networking.type == "limited"
    assert variable.auth.networking.allowed_hosts == ["api.github.com", "*.githubusercontent.com"]
    assert (variable.auth.injection_location.body, variable.auth.injection_location.header) == (False, True)

    for credential in (oauth, bearer, variable):
        assert sx.call(guard(creds.retrieve), Credential, credential.id, vault_id=vault.id) == credential

    walked, pages = sx.walk_pages(guard(creds.list), Credential, vault.id, limit=2)
    assert [c.id for c in walked] == [variable.id, bearer.id, oauth.id] and len(pages) == 2
    assert [c.id for c in client.beta.vaults.credentials.list(vault.id, limit=1)] == [c.id for c in walked]

    # Rotate the secrets of each type; the non-secret fields come back, the secrets never do.
    rotated = sx.call(
        guard(creds.update),
        Credential,
        oauth.id,
        vault_id=vault.id,
        auth={
            "type": "mcp_oauth",
            "access_token": NEW_SECRETS["access"],
            "expires_at": "2998-01-01T00:00:00Z",
            "refresh": {
                "refresh_token": NEW_SECRETS["refresh"],
                "scope": "",
                "token_endpoint_auth": {"type": "client_secret_basic", "client_secret": NEW_SECRETS["client"]},
            },
        },
        metadata={"rotated": "yes"},
    )
    assert rotated.auth.expires_at.year == 2998 and rotated.auth.refresh.scope is None
    assert rotated.metadata == {"rotated": "yes"}
    bearer2 = sx.call(
        guard(creds.update),
        Credential,
        bearer.id,
        vault_id=vault.id,
        auth={"type": "static_bearer", "token": NEW_SECRETS["bearer"]},
        display_name="Example",
    )
    assert bearer2.display_name == "Example" and bearer2.auth == bearer.auth
    variable2 = sx.call(
        guard(creds.update),
        Credential,
        variable.id,
        vault_id=vault.id,
        auth={
            "type": "environment_variable",
            "secret_value": NEW_SECRETS["value"],
            "networking": {"type": "unrestricted"},
            "injection_location": {"body": True},
        },
    )
    assert variable2.auth.networking.type == "unrestricted"
    assert (variable2.auth.injection_location.body, variable2.auth.injection_location.header) == (True, True)

    validation = sx.call(
        guard(creds.mcp_oauth_validate), BetaManagedAgentsCredentialValidation, oauth.id, vault_id=vault.id
    )
    assert validation.status == "unknown" and validation.has_refresh_token is True
    assert validation.credential_id == oauth.id and validation.vault_id == vault.id

    archived = sx.call(guard(creds.archive), Credential, bearer.id, vault_id=vault.id)
    assert archived.archived_at is not None
    assert bearer.id not in [c.id for c in client.beta.vaults.credentials.list(vault.id)]
    assert bearer.id in [c.id for c in client.beta.vaults.credentials.list(vault.id, include_archived=True)]

    deleted = sx.call(guard(creds.delete), BetaManagedAgentsDeletedCredential, bearer.id, vault_id=vault.id)
    assert deleted.id == bearer.id and deleted.type == "vault_credential_deleted"
    sx.expect_error(
        anthropic.NotFoundError, 404, NOT_FOUND, client.beta.vaults.credentials.retrieve, bearer.id, vault_id=vault.id
    )

    # Deleting the vault deletes what is left in it.
    sx.call(client.beta.vaults.with_raw_response.delete, BetaManagedAgentsDeletedVault, vault.id)
    sx.expect_error(
        anthropic.NotFoundError, 404, NOT_FOUND, client.beta.vaults.credentials.retrieve, oauth.id, vault_id=vault.id
    )
    assert guard.seen >= 14


def test_credential_rules(client):
    vault = sx.call(client.beta.vaults.with_raw_response.create, Vault, display_name=sx.unique("rules"))
    creds = client.beta.vaults.credentials
    oauth = creds.create(vault.id, auth=oauth_auth())
    variable = creds.create(vault.id, auth=variable_auth())

    def rejected(fn, *args, **kwargs) -> str:
        _, body = sx.expect_error(anthropic.BadRequestError, 400, INVALID, fn, *args, **kwargs)
        message = body["error"]["message"]
        leaked = [s for s in SECRETS if s in message]
        assert not leaked, f"an error message carries secrets: {message}"
        return message

    assert "cannot change" in rejected(
        creds.update, oauth.id, vault_id=vault.id, auth={"type": "static_bearer", "token": BEARER_TOKEN}
    )
    assert "mcp_server_url" in rejected(
        creds.update,
        oauth.id,
        vault_id=vault.id,
        auth={"type": "mcp_oauth"},
        extra_body={"auth": {"type": "mcp_oauth", "mcp_server_url": "https://elsewhere.example/mcp"}},
    )
    assert "secret_name" in rejected(
        creds.update,
        variable.id,
        vault_id=vault.id,
        auth={"type": "environment_variable"},
        extra_body={"auth": {"type": "environment_variable", "secret_name": "OTHER"}},
    )
    too_many = [f"h{i}.example.com" for i in range(17)]
    assert "16" in rejected(
        creds.update,
        variable.id,
        vault_id=vault.id,
        auth={"type": "environment_variable", "networking": {"type": "limited", "allowed_hosts": too_many}},
    )
    assert "injection_location" in rejected(
        creds.create,
        vault.id,
        auth={**variable_auth(), "injection_location": {"body": False, "header": False}},
    )
    rejected(creds.create, vault.id, auth={**oauth_auth(), "expires_at": "2001-01-01T00:00:00Z"})
    rejected(creds.mcp_oauth_validate, variable.id, vault_id=vault.id)

    # An archived vault takes no new credentials.
    client.beta.vaults.archive(vault.id)
    assert "archived" in rejected(creds.create, vault.id, auth=bearer_auth())

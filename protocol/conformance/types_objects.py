"""Which SDK type checks each fixture folder under fixtures/objects/ and fixtures/requests/.

Keys are the folder names; values are dotted paths to the SDK 2.11.0 class (a pydantic model for
objects, a TypedDict for request bodies). The Rust tests keep the same keys.

A few SDK params TypedDicts also declare path parameters as required keys (`vault_id` on a
credential update, `memory_store_id` on a memory update). The JSON body never carries them, so
those folders are checked against a copy of the TypedDict without the path key (defined below).
"""

from __future__ import annotations

import typing

from typing_extensions import TypedDict

from anthropic.types.beta.memory_stores.memory_update_params import MemoryUpdateParams
from anthropic.types.beta.vaults.credential_update_params import CredentialUpdateParams

_B = "anthropic.types.beta"

OBJECT_TYPES: dict[str, str] = {
    # agents
    "agent": f"{_B}.beta_managed_agents_agent.BetaManagedAgentsAgent",
    "bash_input": f"{_B}.beta_managed_agents_agent_toolset20260401_bash_input.BetaManagedAgentsAgentToolset20260401BashInput",
    "read_input": f"{_B}.beta_managed_agents_agent_toolset20260401_read_input.BetaManagedAgentsAgentToolset20260401ReadInput",
    "write_input": f"{_B}.beta_managed_agents_agent_toolset20260401_write_input.BetaManagedAgentsAgentToolset20260401WriteInput",
    "edit_input": f"{_B}.beta_managed_agents_agent_toolset20260401_edit_input.BetaManagedAgentsAgentToolset20260401EditInput",
    "glob_input": f"{_B}.beta_managed_agents_agent_toolset20260401_glob_input.BetaManagedAgentsAgentToolset20260401GlobInput",
    "grep_input": f"{_B}.beta_managed_agents_agent_toolset20260401_grep_input.BetaManagedAgentsAgentToolset20260401GrepInput",
    # environments
    "environment": f"{_B}.beta_environment.BetaEnvironment",
    "environment_deleted": f"{_B}.beta_environment_delete_response.BetaEnvironmentDeleteResponse",
    "work": f"{_B}.environments.beta_self_hosted_work.BetaSelfHostedWork",
    "work_queue_stats": f"{_B}.environments.beta_self_hosted_work_queue_stats.BetaSelfHostedWorkQueueStats",
    # sessions
    "session": f"{_B}.beta_managed_agents_session.BetaManagedAgentsSession",
    "session_deleted": f"{_B}.beta_managed_agents_deleted_session.BetaManagedAgentsDeletedSession",
    "session_resource": f"{_B}.sessions.beta_managed_agents_session_resource.BetaManagedAgentsSessionResource",
    "file_resource": f"{_B}.sessions.beta_managed_agents_file_resource.BetaManagedAgentsFileResource",
    "github_repository_resource": f"{_B}.sessions.beta_managed_agents_github_repository_resource.BetaManagedAgentsGitHubRepositoryResource",
    "memory_store_resource": f"{_B}.sessions.beta_managed_agents_memory_store_resource.BetaManagedAgentsMemoryStoreResource",
    "session_resource_deleted": f"{_B}.sessions.beta_managed_agents_delete_session_resource.BetaManagedAgentsDeleteSessionResource",
    "session_thread": f"{_B}.sessions.beta_managed_agents_session_thread.BetaManagedAgentsSessionThread",
    # files
    "file_metadata": f"{_B}.beta_file_metadata.BetaFileMetadata",
    "file_deleted": f"{_B}.beta_deleted_file.BetaDeletedFile",
    # vaults
    "vault": f"{_B}.beta_managed_agents_vault.BetaManagedAgentsVault",
    "vault_deleted": f"{_B}.beta_managed_agents_deleted_vault.BetaManagedAgentsDeletedVault",
    "vault_credential": f"{_B}.vaults.beta_managed_agents_credential.BetaManagedAgentsCredential",
    "vault_credential_deleted": f"{_B}.vaults.beta_managed_agents_deleted_credential.BetaManagedAgentsDeletedCredential",
    "vault_credential_validation": f"{_B}.vaults.beta_managed_agents_credential_validation.BetaManagedAgentsCredentialValidation",
    # skills (GA types)
    "skill": "anthropic.types.skill.Skill",
    "skill_version": "anthropic.types.skills.skill_version.SkillVersion",
    "skill_deleted": "anthropic.types.deleted_skill.DeletedSkill",
    "skill_version_deleted": "anthropic.types.skills.deleted_skill_version.DeletedSkillVersion",
    # memory stores
    "memory_store": f"{_B}.beta_managed_agents_memory_store.BetaManagedAgentsMemoryStore",
    "memory_store_deleted": f"{_B}.beta_managed_agents_deleted_memory_store.BetaManagedAgentsDeletedMemoryStore",
    "memory": f"{_B}.memory_stores.beta_managed_agents_memory.BetaManagedAgentsMemory",
    "memory_prefix": f"{_B}.memory_stores.beta_managed_agents_memory_prefix.BetaManagedAgentsMemoryPrefix",
    "memory_deleted": f"{_B}.memory_stores.beta_managed_agents_deleted_memory.BetaManagedAgentsDeletedMemory",
    "memory_version": f"{_B}.memory_stores.beta_managed_agents_memory_version.BetaManagedAgentsMemoryVersion",
    # errors
    "error_response": "anthropic.types.shared.error_response.ErrorResponse",
}


def _without(params: type, *path_keys: str, name: str) -> type:
    """A copy of the params TypedDict `params` without its path-parameter keys."""
    hints = typing.get_type_hints(params, include_extras=True)
    fields = {k: v for k, v in hints.items() if k not in path_keys}
    return TypedDict(name, fields, total=False)  # type: ignore[operator]


CredentialUpdateBody = _without(CredentialUpdateParams, "vault_id", name="CredentialUpdateBody")
MemoryUpdateBody = _without(MemoryUpdateParams, "memory_store_id", name="MemoryUpdateBody")

REQUEST_TYPES: dict[str, str] = {
    "agent_create": f"{_B}.agent_create_params.AgentCreateParams",
    "agent_update": f"{_B}.agent_update_params.AgentUpdateParams",
    "environment_create": f"{_B}.environment_create_params.EnvironmentCreateParams",
    "environment_update": f"{_B}.environment_update_params.EnvironmentUpdateParams",
    "session_create": f"{_B}.session_create_params.SessionCreateParams",
    "session_update": f"{_B}.session_update_params.SessionUpdateParams",
    "session_resource_add": f"{_B}.sessions.resource_add_params.ResourceAddParams",
    "vault_create": f"{_B}.vault_create_params.VaultCreateParams",
    "vault_update": f"{_B}.vault_update_params.VaultUpdateParams",
    "credential_create": f"{_B}.vaults.credential_create_params.CredentialCreateParams",
    "credential_update": "types_objects.CredentialUpdateBody",
    "memory_store_create": f"{_B}.memory_store_create_params.MemoryStoreCreateParams",
    "memory_store_update": f"{_B}.memory_store_update_params.MemoryStoreUpdateParams",
    "memory_create": f"{_B}.memory_stores.memory_create_params.MemoryCreateParams",
    "memory_update": "types_objects.MemoryUpdateBody",
}

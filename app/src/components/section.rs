//! The console's sections, in navigation order, with their names and addresses.

/// The console's sections after Overview, in navigation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Agents,
    Environments,
    Sessions,
    Deployments,
    Inbox,
    Rules,
    Shares,
    Memory,
    Skills,
    Files,
    Vaults,
    Audit,
    Users,
    Settings,
}

impl Section {
    pub const ALL: [Section; 14] = [
        Section::Agents,
        Section::Environments,
        Section::Sessions,
        Section::Deployments,
        Section::Inbox,
        Section::Rules,
        Section::Shares,
        Section::Memory,
        Section::Skills,
        Section::Files,
        Section::Vaults,
        Section::Audit,
        Section::Users,
        Section::Settings,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Section::Agents => "Agents",
            Section::Environments => "Environments",
            Section::Sessions => "Sessions",
            Section::Deployments => "Deployments",
            Section::Inbox => "Inbox",
            Section::Rules => "Rules",
            Section::Shares => "Shared links",
            Section::Memory => "Memory stores",
            Section::Skills => "Skills",
            Section::Files => "Files",
            Section::Vaults => "Vaults",
            Section::Audit => "Audit",
            Section::Users => "Users",
            Section::Settings => "Settings",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Section::Agents => "/agents",
            Section::Environments => "/environments",
            Section::Sessions => "/sessions",
            Section::Deployments => "/deployments",
            Section::Inbox => "/inbox",
            Section::Rules => "/rules",
            Section::Shares => "/shares",
            Section::Memory => "/memory",
            Section::Skills => "/skills",
            Section::Files => "/files",
            Section::Vaults => "/vaults",
            Section::Audit => "/audit",
            Section::Users => "/users",
            Section::Settings => "/settings",
        }
    }

    /// The role a person needs to see the section in the navigation (the server checks each
    /// call on its own).
    pub fn needs(self) -> crate::auth::Role {
        match self {
            Section::Users | Section::Settings => crate::auth::Role::Admin,
            _ => crate::auth::Role::Viewer,
        }
    }

    /// What the section is for, in the words of the people who will use it.
    pub fn purpose(self) -> &'static str {
        match self {
            Section::Agents => {
                "Define agents: model, system prompt, tools, MCP servers and skills, with every version kept and compared."
            }
            Section::Environments => "Configure the containers sessions run in: networking and packages.",
            Section::Sessions => "Start sessions, watch them live, send messages, interrupt, and see usage and cost.",
            Section::Deployments => {
                "Run agents on a schedule or on demand, and see every run and the session it started."
            }
            Section::Inbox => "Every tool call waiting for a human decision, across all sessions, in one place.",
            Section::Rules => {
                "Calls Switchboard allows by itself for a while, because an approver said so; revoke them here."
            }
            Section::Shares => {
                "Every read-only link to a session, with its views; revoke one and its viewers lose it at once."
            }
            Section::Memory => "Keep what agents learn across sessions, with every change and who made it.",
            Section::Skills => {
                "Upload folders of instructions and scripts that agents load when a task calls for them."
            }
            Section::Files => "Upload files to mount into sessions and download what agents produce.",
            Section::Vaults => "Keep credentials for MCP servers and tools. Secrets are write-only.",
            Section::Audit => "Who did what and when: every change and every approval decision.",
            Section::Users => "Who may sign in, and what each person may do.",
            Section::Settings => "Check the connection to the upstream API and manage this Switchboard.",
        }
    }
}

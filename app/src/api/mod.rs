//! Server functions: the browser's only way to reach server state. Each one is a public HTTP
//! endpoint, so each one must check who may call it (accounts arrive with the team-access work).

pub mod upstream;

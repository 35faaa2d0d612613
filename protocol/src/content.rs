//! Content blocks carried by session events and sendable event params: text, image, document,
//! redacted and search-result blocks, and the sources an image or a document is read from.
//!
//! The SDK declares a response class and a params TypedDict for each block with the same fields,
//! so one Rust type serves both directions.

use serde::{Deserialize, Serialize};

use crate::open_union;

/// `{"type":"text","text":…}`: regular text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextBlock {
    pub text: String,
}

/// `{"type":"image","source":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageBlock {
    pub source: ImageSource,
}

/// `{"type":"document",…}`: a document given as base64, plain text, a URL or a file reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentBlock {
    pub source: DocumentSource,
    /// Additional context about the document for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// `{"type":"redacted"}`: placeholder for content withheld by Anthropic model policy.
pub type RedactedBlock = crate::common::Empty;

/// `{"type":"search_result",…}`: a search result a tool returned, citable by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResultBlock {
    pub citations: SearchResultCitations,
    pub content: Vec<TextContent>,
    /// The URL the result came from (a plain string, not a source object).
    pub source: String,
    pub title: String,
}

/// Citation settings of a [`SearchResultBlock`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SearchResultCitations {
    pub enabled: bool,
}

/// A `{"type":"text","text":…}` object in a place where the SDK allows text only (search-result
/// content, `system.message` content, stream deltas), so it is a struct, not a union.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextContent {
    #[serde(rename = "type")]
    pub kind: TextKind,
    pub text: String,
}

impl TextContent {
    pub fn new(text: impl Into<String>) -> Self {
        Self { kind: TextKind, text: text.into() }
    }
}

crate::literal_type! {
    /// The only `type` a [`TextContent`] may have.
    pub TextKind = "text"
}

/// `{"type":"base64","media_type":…,"data":…}` for an image or a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Base64Source {
    /// Base64-encoded bytes.
    pub data: String,
    /// e.g. `image/png`, `image/jpeg`, `image/gif`, `image/webp`, `application/pdf`.
    pub media_type: String,
}

/// `{"type":"url","url":…}`: fetched by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UrlSource {
    pub url: String,
}

/// `{"type":"file","file_id":…}`: a file uploaded through the Files API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSource {
    pub file_id: String,
}

/// `{"type":"text","media_type":"text/plain","data":…}`: a document given as plain text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlainTextSource {
    pub data: String,
    pub media_type: PlainTextMediaType,
}

crate::literal_type! {
    /// The only `media_type` a [`PlainTextSource`] may have.
    pub PlainTextMediaType = "text/plain"
}

open_union! {
    /// Where an image's bytes come from.
    pub enum ImageSource {
        Base64(Base64Source) = "base64",
        Url(UrlSource) = "url",
        File(FileSource) = "file",
    }
}

open_union! {
    /// Where a document's bytes come from.
    pub enum DocumentSource {
        Base64(Base64Source) = "base64",
        Text(PlainTextSource) = "text",
        Url(UrlSource) = "url",
        File(FileSource) = "file",
    }
}

open_union! {
    /// A block of a user message, or of a message between threads
    /// (`user.message`, `agent.thread_message_sent`, `agent.thread_message_received`).
    pub enum UserContentBlock {
        Text(TextBlock) = "text",
        Image(ImageBlock) = "image",
        Document(DocumentBlock) = "document",
        Redacted(RedactedBlock) = "redacted",
    }
}

open_union! {
    /// A block of a tool result (`agent.tool_result`, `agent.mcp_tool_result`,
    /// `user.tool_result`, `user.custom_tool_result`).
    pub enum ToolResultContentBlock {
        Text(TextBlock) = "text",
        Image(ImageBlock) = "image",
        Document(DocumentBlock) = "document",
        SearchResult(SearchResultBlock) = "search_result",
    }
}

open_union! {
    /// A block of an `agent.message`.
    pub enum AgentMessageBlock {
        Text(TextBlock) = "text",
        Redacted(RedactedBlock) = "redacted",
    }
}

impl UserContentBlock {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(TextBlock { text: text.into() })
    }
}

impl ToolResultContentBlock {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(TextBlock { text: text.into() })
    }
}

impl AgentMessageBlock {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(TextBlock { text: text.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacted_block_round_trips() {
        let value = json!({"type": "redacted"});
        let block: UserContentBlock = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(block, UserContentBlock::Redacted(RedactedBlock {}));
        assert_eq!(serde_json::to_value(&block).unwrap(), value);
    }

    #[test]
    fn plain_text_source_keeps_media_type() {
        let value = json!({"type": "text", "media_type": "text/plain", "data": "hello"});
        let source: DocumentSource = serde_json::from_value(value.clone()).unwrap();
        assert!(matches!(source, DocumentSource::Text(_)));
        assert_eq!(serde_json::to_value(&source).unwrap(), value);
        assert!(
            serde_json::from_value::<DocumentSource>(json!({"type": "text", "media_type": "text/html", "data": "x"}))
                .is_err()
        );
    }
}

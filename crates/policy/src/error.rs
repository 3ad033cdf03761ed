//! The one error type of the policy crate, with stable codes.

use crate::Problem;

/// Why a policy set could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The schema text does not parse (a build defect for the built-in schema).
    #[error("the policy schema does not parse: {0}")]
    Schema(String),
    /// A policy does not parse.
    #[error("the policies do not parse: {0}")]
    Parse(String),
    /// A policy parses but does not validate against the schema.
    #[error("the policies do not match the schema: {0}")]
    Invalid(String),
    /// A policy lacks `@id`, or two policies share one.
    #[error("every policy needs a unique `@id` annotation: {0}")]
    Id(String),
    /// A forbid or explanation policy lacks `@reason`, or an annotation is malformed.
    #[error("bad annotation on policy `{id}`: {detail}")]
    Annotation { id: String, detail: String },
    /// Custom policy text was refused: every problem, located in the text.
    #[error("{}", list(.0))]
    Text(Vec<Problem>),
    /// A default policy named to be switched off is unknown or may not be.
    #[error("cannot switch off `{id}`: {detail}")]
    Disable { id: String, detail: String },
    /// The request facts could not be turned into Cedar entities (a defect).
    #[error("the request could not be built: {0}")]
    Request(String),
}

impl PolicyError {
    /// A stable code for logs and API errors.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::Schema(_) => "policy_schema_invalid",
            PolicyError::Parse(_) => "policy_parse_error",
            PolicyError::Invalid(_) => "policy_invalid",
            PolicyError::Id(_) => "policy_id_invalid",
            PolicyError::Annotation { .. } => "policy_annotation_invalid",
            PolicyError::Text(_) => "policy_invalid",
            PolicyError::Disable { .. } => "policy_disable_invalid",
            PolicyError::Request(_) => "policy_request_invalid",
        }
    }
}

/// The problems, one after the other.
fn list(problems: &[Problem]) -> String {
    let all: Vec<String> = problems.iter().map(ToString::to_string).collect();
    all.join("; ")
}

//! The domain model shared by every layer: typed ids, the closed vocabularies
//! (roles, classifications, statuses, actions) and validated values such as
//! file paths. No I/O, no clock, no randomness.

mod ids;
mod path;
mod types;

pub use ids::*;
pub use path::{FilePath, PathError};
pub use types::*;

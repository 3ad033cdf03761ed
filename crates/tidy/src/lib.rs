//! Checks that the invariants stated in ARCHITECTURE.md hold on the workspace's
//! own files, in the manner of rust-analyzer's `xtask tidy`: which crate may depend
//! on what (`deps`), that the crate graph drawn in the code map is the workspace's
//! (`graph`), and what every source file must and must not contain (`source`).
//!
//! Every rule is a small function over data already read (a manifest's text, a
//! file's text, a list of packages) that returns one message per violation, so a
//! rule can be shown failing on a deliberately broken input; `workspace` reads the
//! real files and runs every rule on them (`tests/it/main.rs`).

pub mod deps;
mod error;
pub mod graph;
pub mod manifest;
pub mod source;
pub mod workspace;

pub use error::TidyError;

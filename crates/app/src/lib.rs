//! The assembly of Custody's use-cases for the edges (the server, the binary):
//! the kernel and every domain, re-exported under one name. It holds no
//! use-case of its own; each lives in its domain crate (identity, content,
//! governance, audit, notify) around the kernel (ARCHITECTURE.md, "Code map").

pub use audit::*;
pub use content::*;
pub use governance::*;
pub use identity::*;
pub use kernel::*;
/// The mail worker and its SMTP settings (a module of its own: its names are
/// generic).
pub use notify;

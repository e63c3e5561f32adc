//! # livestar
//!
//! Live, server-rendered HTML views for [axum](https://docs.rs/axum) and the
//! [Datastar](https://data-star.dev) v1 client.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod render;

// --- html! re-exports (owned by the html! work) ---
// --- end html! re-exports ---

/// The items most apps use, in one import: `use livestar::prelude::*;`.
pub mod prelude {
    pub use crate::render::{Html, Render};
    // --- html! prelude (owned by the html! work) ---
    // --- end html! prelude ---
}

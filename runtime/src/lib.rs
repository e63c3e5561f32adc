//! # livestar
//!
//! Live, server-rendered HTML views for [axum](https://docs.rs/axum) and the
//! [Datastar](https://data-star.dev) v1 client.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod event;
pub mod invalidate;
pub mod render;
pub mod response;
pub mod signals;
pub mod stream;

pub use stream::stream;

// --- html! re-exports (owned by the html! work) ---
// --- end html! re-exports ---

// --- live_view re-exports (owned by the live_view work) ---
// --- end live_view re-exports ---

// --- hub and backplane modules (owned by the hub work) ---
pub mod backplane;
pub mod hub;
// --- end hub and backplane modules ---

/// The items most apps use, in one import: `use livestar::prelude::*;`.
pub mod prelude {
    pub use crate::render::{Html, Render};
    // --- html! prelude (owned by the html! work) ---
    // --- end html! prelude ---
    pub use crate::event::{Event, Mode};
    pub use crate::invalidate::{IntoInvalidation, Invalidation};
    pub use crate::signals::ReadSignals;
    pub use crate::stream::{Heartbeat, LiveStream};
    // --- live_view prelude (owned by the live_view work) ---
    // --- end live_view prelude ---
    // --- hub prelude (owned by the hub work) ---
    pub use crate::hub::Hub;
    pub use crate::invalidate::Notifier;
    // --- end hub prelude ---
}

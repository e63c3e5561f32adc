//! # livestar
//!
//! Live, server-rendered HTML views for [axum](https://docs.rs/axum) and the
//! [Datastar](https://data-star.dev) v1 client.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod event;
pub mod render;
pub mod response;
pub mod signals;
pub mod stream;

pub use stream::stream;



/// The items most apps use, in one import: `use livestar::prelude::*;`.
pub mod prelude {
    pub use crate::render::{Html, Render};
    
}

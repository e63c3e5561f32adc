//! Procedural macros of [livestar](https://docs.rs/livestar).
//!
//! Depend on `livestar`, not on this crate: it re-exports every macro with the runtime items
//! the generated code calls.

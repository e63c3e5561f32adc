//! Helpers shared by the example tests.

pub mod browser;
pub mod demo;

//! Example apps of livestar, each a module readable as a tutorial; the binaries in `src/bin`
//! serve them.

pub mod backplane_node;
pub mod demo;
pub mod sdk_test;

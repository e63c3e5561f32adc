//! Example apps of livestar.

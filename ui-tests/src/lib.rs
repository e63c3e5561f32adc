//! Compile-time cases of livestar's macros live in `tests/`; this library is empty.

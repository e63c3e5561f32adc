//! Integration tests of livestar live in `tests/`; this library is empty.

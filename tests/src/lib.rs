//! Cross-checks live in `tests/`; this library only holds what they share.

//! sessionbox's integration tests (`all/`) and benchmark
//! (`benches/sessions/`) live in this unpublished package, so the library's
//! dependencies stay the library's. This library target only doctests the
//! repository's README, whose examples use the web layer too.

/// The README's Rust examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

//! JSON as Python's `json` module reads and writes it, for Django sessions.
//!
//! One iterative [`reader`] tokenizes every input; it accepts exactly what
//! Python's `json.loads` accepts (including `NaN`, `Infinity`, `-Infinity`,
//! integers of any size and lone UTF-16 surrogates in `\u` escapes) and
//! never recurses, so nesting is bounded only by the input's size: Python
//! 3.14 reads 100,000 levels back, and a session that Django stored must
//! never read as corrupt here. On top of it:
//!
//! - [`canonical_object`] rewrites an object in Python's compact
//!   `json.dumps(separators=(",", ":"))` form, the bytes Django signs (what
//!   `save` stores), keeping lone surrogates as their escapes;
//! - [`object_field`] checks an object and returns one top-level scalar (what
//!   `load` needs for `_session_expiry`), building no tree;
//! - [`object_members_within`] checks an object as [`parse_object_within`]
//!   does and returns where each top-level value lies, building no tree (a
//!   session read lazily parses only the values it reads);
//!   [`object_members_of_valid`] does the same for text a load already
//!   checked, checking only its depth;
//! - [`parse`] and [`parse_object`] build a `serde_json` tree, optionally
//!   refusing nesting beyond a depth (Rust's recursive `Drop`, `Clone` and
//!   serializers need that bound; the store itself does not);
//! - [`to_string`] writes a tree back in Python's form, iteratively
//!   ([`write_value`] and [`write_string`] append to a buffer).

mod canonical;
mod python;
pub(crate) mod reader;
mod tree;

pub use canonical::canonical_object;
pub use python::{object_to_string, to_string, write_float_repr, write_string, write_value};
pub(crate) use python::{write_escaped as write_escaped_char, write_escaped_str};
pub use tree::{has_non_finite, object_field, object_members_of_valid, object_members_within, parse, parse_object, parse_object_within, Member, Members};

/// Why a text is not acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

//! Facts about the running interpreter that the engine's pure-Rust stages need.

use std::sync::OnceLock;

use hotswap_core::parse::PythonVersion;

/// Set once, when the extension loads.
static GRAMMAR: OnceLock<PythonVersion> = OnceLock::new();

/// Records the running interpreter's version (the extension's module init calls this).
pub fn set_grammar(version: PythonVersion) {
    let _ = GRAMMAR.set(version);
}

/// The grammar the running interpreter accepts, as (major, minor): sources are parsed as it
/// would parse them.
pub fn grammar() -> PythonVersion {
    *GRAMMAR.get().unwrap_or(&(3, 9))
}

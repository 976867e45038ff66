//! hotswap-core: the part of hotswap that needs no Python interpreter.
//!
//! Pipeline: [`watch`] turns file-system events into batches of changed files, [`source`] decodes
//! their bytes, [`parse`] builds a [`tree::DefinitionTree`], [`diff`] compares the running tree
//! with the new one, and [`plan`] turns the changes into a [`plan::PatchPlan`] that the
//! extension crate applies to the live program.

pub mod diff;
pub mod imports;
pub mod kept;
pub mod names;
pub mod parse;
pub mod pipeline;
pub mod plan;
pub mod source;
pub mod tree;
pub mod watch;

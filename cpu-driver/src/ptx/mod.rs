//! PTX: the text NVRTC produces, read once into pre-decoded instructions.

pub mod ir;
mod lex;
mod parse;

pub use parse::parse_module;

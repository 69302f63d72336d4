//! PTX: the text NVRTC produces, read once into pre-decoded instructions.

mod inline;
pub mod ir;
mod lex;
mod opcode;
mod parse;

pub use parse::parse_module;

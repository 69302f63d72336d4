//! The checks: one per kind of exercise, found by the name curriculum.toml gives.

pub mod fixture;

/// TEMPORARY until branch `grade` lands: the CLI asks the registry whether a check exists.
pub fn is_known(name: &str) -> bool {
    name == fixture::NAME
}

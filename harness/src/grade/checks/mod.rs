//! The checks: one per kind of exercise, found by the name curriculum.toml gives.

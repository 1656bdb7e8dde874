//! No code: this crate only depends on the course's dependencies with the union of the
//! features every session uses (see `.config/hakari.toml`), so cargo builds each of them
//! once for the whole workspace, whichever package a command names.

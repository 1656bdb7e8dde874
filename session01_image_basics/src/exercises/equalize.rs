//! Exercise 1.4: histogram equalisation. Replace the `todo!` with your code; grade with
//! `cargo xtask grade 1 --exercise ex01_4`.
// The stub stops at `todo!` without using its argument, on purpose: the workspace builds and
// every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use crate::pixels::{Buffer, Pixel8};

// ANCHOR: equalize
/// Exercise 1.4: histogram equalisation, one mapping for all colour channels.
///
/// Count one histogram over every colour sample of the image (red, green and blue together;
/// alpha is never counted nor touched), so `n` is the number of pixels times the number of
/// colour channels. Let `cdf(v)` count the samples `<= v` and `cdf_min` be the `cdf` of the
/// smallest value present. Map every colour sample `v` through the same table:
/// `round((cdf(v) - cdf_min) * 255 / (n - cdf_min))`. An image whose colour samples all have
/// one value (`n == cdf_min`) comes back unchanged. Because all channels share the mapping,
/// a gray pixel (`r == g == b`) stays gray and the colours do not drift.
pub fn equalize<P: Pixel8>(image: &Buffer<P>) -> Buffer<P> {
    todo!("exercise 1.4: histogram equalisation")
}
// ANCHOR_END: equalize

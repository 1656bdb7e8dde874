//! Shortcut for exercise 1.3: shrink with `image::imageops::thumbnail` (which averages the
//! source pixels under each target pixel) to one pixel per block, then enlarge back with
//! nearest-neighbour. Right when the size is a multiple of the block, but the areas
//! `thumbnail` averages are not the spec's cells when the last cells are partial:
//! `ex01_3_pixelate_handles_partial_blocks_at_the_edges` and
//! `ex01_3_pixelate_gives_each_block_its_mean` fail.

use image::imageops::{self, FilterType};

use crate::pixels::{Buffer, Pixel8};

/// Exercise 1.3: pixelate, by shrinking and enlarging.
pub fn pixelate<P: Pixel8>(image: &Buffer<P>, block: u32) -> Buffer<P> {
    let (width, height) = image.dimensions();
    let small = imageops::thumbnail(image, width.div_ceil(block), height.div_ceil(block));
    imageops::resize(&small, width, height, FilterType::Nearest)
}

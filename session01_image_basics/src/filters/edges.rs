//! Edge detection with the Sobel operator.

use crate::error::FilterError;
use crate::filter::{FilterInfo, FilterKind, PixelFilter};
use crate::pixels::{Buffer, Pixel8, colour_channels, luma, to_u8};

/// Sobel edge magnitude: bright where luma changes fast, black where it is flat.
///
/// The two 3x3 Sobel kernels estimate the luma gradient along x and y; the output is its
/// length, divided by 4 (the kernels' gain) so a black-to-white step maps to full white.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Edges;

impl PixelFilter for Edges {
    const INFO: FilterInfo = FilterInfo {
        name: "edges",
        summary: "Sobel gradient magnitude of luma",
        params: &[],
        build: |_| Ok(Box::new(Edges)),
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Neighbourhood { radius: 1 }
    }

    // ANCHOR: sobel
    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let channels = usize::from(P::CHANNEL_COUNT);
        let lumas: Vec<f32> = image
            .chunks_exact(channels)
            .map(|pixel| f32::from(luma(&pixel[..colour_channels::<P>()])))
            .collect();
        // Luma at (x + dx, y + dy), repeating the edge pixels outside the image.
        let at = |x: usize, y: usize, dx: isize, dy: isize| {
            let sx = x.saturating_add_signed(dx).min(width - 1);
            let sy = y.saturating_add_signed(dy).min(height - 1);
            lumas[sy * width + sx]
        };
        let mut out = image.clone();
        for (i, pixel) in out.chunks_exact_mut(channels).enumerate() {
            let (x, y) = (i % width, i / width);
            let gx = at(x, y, 1, -1) + 2.0 * at(x, y, 1, 0) + at(x, y, 1, 1)
                - at(x, y, -1, -1)
                - 2.0 * at(x, y, -1, 0)
                - at(x, y, -1, 1);
            let gy = at(x, y, -1, 1) + 2.0 * at(x, y, 0, 1) + at(x, y, 1, 1)
                - at(x, y, -1, -1)
                - 2.0 * at(x, y, 0, -1)
                - at(x, y, 1, -1);
            let magnitude = to_u8(gx.hypot(gy) / 4.0);
            pixel[..colour_channels::<P>()].fill(magnitude);
        }
        Ok(out)
    }
    // ANCHOR_END: sobel
}

//! PNG plots with plotters, and the font they need.
//!
//! Plotters draws into any backend; an SVG file leaves the text to whoever views it, but
//! a bitmap needs real glyphs. So [`png`] registers the DejaVu Sans font (compiled into
//! the program by the `dejavu` crate, no system fonts needed) once, lets the caller draw
//! on an in-memory RGB buffer, and encodes that buffer as a PNG file with the `image`
//! crate.
//!
//! ```no_run
//! use plotters::prelude::*;
//! use session08_scaling::plot;
//!
//! plot::png("line.png".as_ref(), (640, 360), |area| {
//!     let mut chart = ChartBuilder::on(area)
//!         .caption("y = x", ("sans-serif", 20))
//!         .x_label_area_size(30)
//!         .y_label_area_size(40)
//!         .build_cartesian_2d(0.0..10.0, 0.0..10.0)?;
//!     chart.configure_mesh().x_desc("x").y_desc("y").draw()?;
//!     chart.draw_series(LineSeries::new((0..=10).map(|x| (x as f64, x as f64)), plot::colour(0)))?;
//!     Ok(())
//! })
//! .unwrap();
//! ```

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use image::{ImageFormat, RgbImage};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// The largest width or height [`png`] accepts, in pixels (4096 x 4096 x 3 bytes = 48 MiB).
pub const MAX_SIDE: u32 = 4096;

/// The series colours, in order: the Okabe-Ito palette, told apart by colour-blind readers.
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(240, 228, 66),  // yellow
];

/// The colour of series number `index` (0, 1, 2, ...), cycling through [`PALETTE`].
pub fn colour(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Registers DejaVu Sans as the "sans-serif" font, once per process.
fn register_sans_serif() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if !ok {
        bail!("the DejaVu Sans font could not be read");
    }
    Ok(())
}

// ANCHOR: png
/// Draws a `width` x `height` PNG file at `path` with `draw`, on a white background.
///
/// Text drawn with the font family `"sans-serif"` (plotters' default) uses DejaVu Sans.
/// Refuses a side of 0 or above [`MAX_SIDE`] before drawing anything.
pub fn png(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
) -> Result<()> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        bail!("a plot is 1 to {MAX_SIDE} pixels on each side, not {width} x {height}");
    }
    register_sans_serif()?;
    // Three bytes (red, green, blue) per pixel, row after row.
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let backend = BitMapBackend::with_buffer_and_format(&mut pixels, (width, height))
            .map_err(|error| anyhow::anyhow!("plot buffer: {error}"))?;
        let area = backend.into_drawing_area();
        area.fill(&WHITE)?;
        draw(&area)?;
        area.present()?;
    }
    let image = RgbImage::from_raw(width, height, pixels)
        .context("the plot buffer does not match its size")?;
    image
        .save_with_format(path, ImageFormat::Png)
        .with_context(|| format!("writing the plot {}", path.display()))
}
// ANCHOR_END: png

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_plot_with_text_encodes_to_a_png_of_the_right_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.png");
        png(&path, (320, 200), |area| {
            let mut chart = ChartBuilder::on(area)
                .caption("tiny", ("sans-serif", 16))
                .x_label_area_size(24)
                .y_label_area_size(32)
                .build_cartesian_2d(0.0..3.0, 0.0..3.0)?;
            chart
                .configure_mesh()
                .x_desc("seconds")
                .y_desc("workers")
                .draw()?;
            chart.draw_series(LineSeries::new([(0.0, 1.0), (3.0, 2.0)], colour(0)))?;
            Ok(())
        })
        .unwrap();
        let decoded = image::open(&path).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (320, 200));
        // The text and the line left marks on the white background.
        let rgb = decoded.to_rgb8();
        assert!(rgb.pixels().any(|pixel| pixel.0 != [255, 255, 255]));
    }

    #[test]
    fn a_plot_of_no_pixels_is_refused_with_the_rule() {
        let dir = tempfile::tempdir().unwrap();
        let error = png(&dir.path().join("empty.png"), (0, 10), |_| Ok(())).unwrap_err();
        assert!(error.to_string().contains("1 to 4096 pixels"), "{error}");
        assert!(!dir.path().join("empty.png").exists());
    }

    #[test]
    fn colours_cycle_through_the_palette() {
        assert_eq!(colour(0), PALETTE[0]);
        assert_eq!(colour(PALETTE.len() + 1), PALETTE[1]);
    }
}

//! Tiles: cutting a large image into pieces that workers process apart, and stitching the
//! results into exactly the image one process would have made.
//!
//! A filter that reads a neighbourhood needs pixels beyond the tile it writes. The original
//! course cut the image into plain strips, so each strip's border was computed from a
//! border that was not there: seams. Here each tile is read with a *halo*, a margin as wide
//! as the pipeline's reach (the sum of its filters' radii, see
//! [`Pipeline`](session02_pipelines::Pipeline)'s `kind`), and only the tile's core is kept.
//! At the image's own edges the halo is cut off, so the filter sees the same edge as it
//! would on the whole image.
//!
//! ```text
//!  read (core + halo, cut at the image's edges)
//!  ┌──────────────────┐
//!  │ halo             │
//!  │   ┌──────────┐   │
//!  │   │   core   │   │   the worker filters `read`; the stitcher keeps `core`
//!  │   └──────────┘   │
//!  │                  │
//!  └──────────────────┘
//! ```
//!
//! Filters that move pixels or change the size (resize, rotate, crop) cannot run on a tile:
//! [`split_pipeline`] keeps them for after assembly, or refuses when nothing before them
//! could run in tiles.

use std::fmt;

use image::{DynamicImage, GenericImage, GenericImageView};
use serde::{Deserialize, Serialize};
use session01_image_basics::{Filter, FilterKind};
use session02_pipelines::{FilterSpec, PipelineSpec};

/// A rectangle of pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Rect {
    /// Its area in pixels.
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// One tile: the part of the result it makes, and the part of the input it reads.
// ANCHOR: tile
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tile {
    /// Its place in the plan, row by row.
    pub index: usize,
    /// The pixels of the result this tile makes.
    pub core: Rect,
    /// The input pixels it reads: the core grown by the halo, cut at the image's edges.
    pub read: Rect,
}
// ANCHOR_END: tile

impl Tile {
    /// Where the core starts inside the read rectangle.
    pub fn core_offset(&self) -> (u32, u32) {
        (self.core.x - self.read.x, self.core.y - self.read.y)
    }
}

/// Why an image or a pipeline cannot be tiled, or tiles cannot be stitched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// The image or the tile has no pixels.
    #[error("cannot tile: {0}")]
    Empty(String),
    /// A filter changes geometry and nothing before it can run in tiles.
    #[error(
        "cannot tile this pipeline: {filter} changes the image's geometry, so it runs on the \
         whole image after the tiles are stitched, and no filter comes before it to run in tiles"
    )]
    GeometryFirst {
        /// The filter that changes geometry.
        filter: String,
    },
    /// The pipeline does not build.
    #[error("cannot tile this pipeline: {0}")]
    Spec(String),
    /// A processed tile has another size than the tile it came from.
    #[error("tile {index} came back {got_width}x{got_height}, expected {width}x{height}")]
    WrongSize {
        /// The tile.
        index: usize,
        /// The size it should have.
        width: u32,
        /// The size it should have.
        height: u32,
        /// The size it has.
        got_width: u32,
        /// The size it has.
        got_height: u32,
    },
    /// A tile index outside the plan.
    #[error("tile {index} is not in the plan of {count} tiles")]
    UnknownTile {
        /// The index given.
        index: usize,
        /// Tiles in the plan.
        count: usize,
    },
    /// More tiles than a job may have.
    #[error("{count} tiles is more than the {max} a job may have: use larger tiles")]
    TooMany {
        /// Tiles the plan would have.
        count: u64,
        /// The most allowed.
        max: u64,
    },
    /// A tile whose core lies outside the band being stitched.
    #[error("tile {index} is not in the band being stitched")]
    OutsideArea {
        /// The tile.
        index: usize,
    },
    /// Stitching was asked to finish before every tile arrived.
    #[error("{missing} of {count} tiles missing (first: tile {first})")]
    Missing {
        /// How many are missing.
        missing: usize,
        /// Tiles in the plan.
        count: usize,
        /// The first missing one.
        first: usize,
    },
}

/// The most tiles one job may have: each is a task, a blob and a line of its record.
pub const MAX_TILES: u64 = 10_000;

// ANCHOR: read_align
/// Columns to which the left and right edges of a tile's read rectangle are rounded out.
///
/// The fast Gaussian (session 02) works along a row in SIMD strips of 64 samples counted
/// from the row's start and finishes the row's tail on another path whose rounding can
/// differ by one level. A read that starts and ends on the same strip boundaries as
/// the whole image gives every kept pixel the same arithmetic, so the stitched result is
/// identical, not merely close; the extra columns are real pixels, read and thrown away.
pub const READ_ALIGN: u32 = 64;

/// The fewest columns and rows a read rectangle has (when the image has as many), or the
/// pipeline's whole window (2 x halo + 1) when that is more.
///
/// A fast kernel that handed small images to another kernel would round them differently
/// (libblur's Gaussian did, below 16 pixels or its window); a read this large keeps each
/// tile on the kernel the whole image runs on. Identical also takes the same instruction
/// set on every worker: a CPU without AVX2 runs the Gaussian's exact path, up to 1 level
/// away from the SIMD one.
pub const MIN_READ: u32 = 64;
// ANCHOR_END: read_align

/// Grows `start..end` to at least `min` long, towards the inside of `0..len`.
fn at_least(start: u32, end: u32, min: u32, len: u32) -> (u32, u32) {
    let missing = min.saturating_sub(end - start);
    let end = end.saturating_add(missing).min(len);
    let start = start.saturating_sub(min.saturating_sub(end - start));
    (start, end)
}

/// How an image is cut: a grid of tiles, the last row and column smaller when the tile
/// size does not divide the image.
// ANCHOR: plan
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TilePlan {
    /// The image's width.
    pub width: u32,
    /// The image's height.
    pub height: u32,
    /// The cores' width (the last column's may be less).
    pub tile_width: u32,
    /// The cores' height (the last row's may be less).
    pub tile_height: u32,
    /// Pixels read beyond each side of a core.
    pub halo: u32,
    /// The tiles, row by row.
    pub tiles: Vec<Tile>,
}

impl TilePlan {
    /// Cuts a `width` x `height` image into cores of `tile_width` x `tile_height`, each read
    /// with `halo` more pixels on every side that the image has.
    pub fn new(
        width: u32,
        height: u32,
        tile_width: u32,
        tile_height: u32,
        halo: u32,
    ) -> Result<Self, TileError> {
        if width == 0 || height == 0 {
            return Err(TileError::Empty(format!("the image is {width}x{height}")));
        }
        if tile_width == 0 || tile_height == 0 {
            return Err(TileError::Empty(format!(
                "the tile size is {tile_width}x{tile_height}"
            )));
        }
        let count = u64::from(width.div_ceil(tile_width)) * u64::from(height.div_ceil(tile_height));
        if count > MAX_TILES {
            return Err(TileError::TooMany {
                count,
                max: MAX_TILES,
            });
        }
        // No filter's window is wider than the whole reach, 2 x halo + 1.
        let min_read = MIN_READ.max(halo.saturating_mul(2).saturating_add(1));
        let mut tiles = Vec::new();
        for y in (0..height).step_by(tile_height as usize) {
            for x in (0..width).step_by(tile_width as usize) {
                // ANCHOR: plan_tile
                let core = Rect {
                    x,
                    y,
                    width: tile_width.min(width - x),
                    height: tile_height.min(height - y),
                };
                let top = y.saturating_sub(halo);
                let left = x.saturating_sub(halo) / READ_ALIGN * READ_ALIGN;
                let right = (x + core.width)
                    .saturating_add(halo)
                    .div_ceil(READ_ALIGN)
                    .saturating_mul(READ_ALIGN)
                    .min(width);
                let bottom = (y + core.height).saturating_add(halo).min(height);
                let (left, right) = at_least(left, right, min_read, width);
                // Growing a narrow last column moves its left edge: back onto the alignment.
                let left = left / READ_ALIGN * READ_ALIGN;
                let (top, bottom) = at_least(top, bottom, min_read, height);
                let read = Rect {
                    x: left,
                    y: top,
                    width: right - left,
                    height: bottom - top,
                };
                // ANCHOR_END: plan_tile
                tiles.push(Tile {
                    index: tiles.len(),
                    core,
                    read,
                });
            }
        }
        Ok(Self {
            width,
            height,
            tile_width,
            tile_height,
            halo,
            tiles,
        })
    }

    /// Pixels read in all, halos included, over the image's pixels: the cost of tiling.
    pub fn overhead(&self) -> f64 {
        let read: u64 = self.tiles.iter().map(|t| t.read.pixels()).sum();
        read as f64 / (u64::from(self.width) * u64::from(self.height)) as f64
    }
}
// ANCHOR_END: plan

/// A pipeline split for tiling: what runs on each tile, what runs after stitching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TiledPipeline {
    /// The filters before the first one that changes geometry: they run on each tile.
    pub tiled: PipelineSpec,
    /// From the first geometry filter on: they run once, on the stitched image.
    pub after: PipelineSpec,
    /// How far the tiled part reads: the sum of its filters' radii.
    pub halo: u32,
}

// ANCHOR: split_pipeline
/// Splits `spec` at its first filter that changes geometry.
///
/// Fails when that is the first filter (nothing could run in tiles) or when a filter does
/// not build.
pub fn split_pipeline(spec: &PipelineSpec) -> Result<TiledPipeline, TileError> {
    let mut tiled = Vec::new();
    let mut filters = spec.filters.iter();
    let mut after: Vec<FilterSpec> = Vec::new();
    // ANCHOR: split_loop
    for filter in filters.by_ref() {
        let one = PipelineSpec {
            filters: vec![filter.clone()],
        };
        let built = one.build().map_err(|e| TileError::Spec(e.to_string()))?;
        if built.kind() == FilterKind::Geometry {
            if tiled.is_empty() {
                return Err(TileError::GeometryFirst {
                    filter: filter.name.clone(),
                });
            }
            after.push(filter.clone());
            break;
        }
        tiled.push(filter.clone());
    }
    after.extend(filters.cloned());
    // ANCHOR_END: split_loop
    let tiled = PipelineSpec { filters: tiled };
    let halo = match tiled
        .build()
        .map_err(|e| TileError::Spec(e.to_string()))?
        .kind()
    {
        FilterKind::Neighbourhood { radius } => radius,
        FilterKind::Point | FilterKind::Geometry => 0,
    };
    Ok(TiledPipeline {
        tiled,
        after: PipelineSpec { filters: after },
        halo,
    })
}
// ANCHOR_END: split_pipeline

/// The input pixels `tile` reads.
pub fn cut(image: &DynamicImage, tile: &Tile) -> DynamicImage {
    let r = tile.read;
    image.crop_imm(r.x, r.y, r.width, r.height)
}

/// Puts processed tiles in place, each once, and hands over the result when all are in.
// ANCHOR: stitcher
pub struct Stitcher {
    plan: TilePlan,
    /// The part of the image this stitcher makes: all of it, or a band.
    area: Rect,
    canvas: DynamicImage,
    /// For each tile of the plan: `None` when its core is outside the area, else whether
    /// it is in.
    placed: Vec<Option<bool>>,
}
// ANCHOR_END: stitcher

impl fmt::Debug for Stitcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stitcher")
            .field("width", &self.plan.width)
            .field("height", &self.plan.height)
            .field("tiles", &self.plan.tiles.len())
            .field("area", &self.area)
            .field(
                "placed",
                &self.placed.iter().filter(|p| **p == Some(true)).count(),
            )
            .finish()
    }
}

impl Stitcher {
    /// An empty canvas for `plan`, of the colour type the tiles will have.
    pub fn new(plan: TilePlan, color: image::ColorType) -> Self {
        let area = Rect {
            x: 0,
            y: 0,
            width: plan.width,
            height: plan.height,
        };
        Self::for_band(plan, area, color)
    }

    /// A canvas for the part `area` of the image only (a row of tiles, say): it takes the
    /// tiles whose cores lie in it, so a large image can be assembled a band at a time.
    pub fn for_band(plan: TilePlan, area: Rect, color: image::ColorType) -> Self {
        let canvas = DynamicImage::new(area.width, area.height, color);
        let inside = |c: &Rect| {
            c.x >= area.x
                && c.y >= area.y
                && c.x + c.width <= area.x + area.width
                && c.y + c.height <= area.y + area.height
        };
        let placed = plan
            .tiles
            .iter()
            .map(|t| inside(&t.core).then_some(false))
            .collect();
        Self {
            plan,
            area,
            canvas,
            placed,
        }
    }

    /// Places the core of `processed`, the filtered read rectangle of tile `index`.
    ///
    /// Returns `false` when that tile was already placed: a tile delivered twice is stitched
    /// once. A tile of another size is an error, not a silent crop.
    pub fn place(&mut self, index: usize, processed: &DynamicImage) -> Result<bool, TileError> {
        let count = self.plan.tiles.len();
        let tile = *self
            .plan
            .tiles
            .get(index)
            .ok_or(TileError::UnknownTile { index, count })?;
        if processed.dimensions() != (tile.read.width, tile.read.height) {
            return Err(TileError::WrongSize {
                index,
                width: tile.read.width,
                height: tile.read.height,
                got_width: processed.width(),
                got_height: processed.height(),
            });
        }
        match self.placed[index] {
            None => return Err(TileError::OutsideArea { index }),
            Some(true) => return Ok(false),
            Some(false) => {}
        }
        let processed = if processed.color() == self.canvas.color() {
            std::borrow::Cow::Borrowed(processed)
        } else {
            std::borrow::Cow::Owned(convert(processed, self.canvas.color()))
        };
        let (ox, oy) = tile.core_offset();
        let at = Rect {
            x: tile.core.x - self.area.x,
            y: tile.core.y - self.area.y,
            ..tile.core
        };
        copy_rect(&processed, (ox, oy), &mut self.canvas, at);
        self.placed[index] = Some(true);
        Ok(true)
    }

    /// Whether every tile of the area is in.
    pub fn is_complete(&self) -> bool {
        self.placed.iter().all(|p| *p != Some(false))
    }

    /// The stitched image (or band), once every tile of it is in.
    pub fn finish(self) -> Result<DynamicImage, TileError> {
        let missing = self.placed.iter().filter(|p| **p == Some(false)).count();
        if let Some(first) = self.placed.iter().position(|p| *p == Some(false)) {
            return Err(TileError::Missing {
                missing,
                count: self.placed.iter().flatten().count(),
                first,
            });
        }
        Ok(self.canvas)
    }
}

/// `image` in the colour type `color`.
fn convert(image: &DynamicImage, color: image::ColorType) -> DynamicImage {
    use image::ColorType as C;
    match color {
        C::L8 => image.to_luma8().into(),
        C::La8 => image.to_luma_alpha8().into(),
        C::Rgb8 => image.to_rgb8().into(),
        C::Rgba8 => image.to_rgba8().into(),
        C::L16 => image.to_luma16().into(),
        C::La16 => image.to_luma_alpha16().into(),
        C::Rgb16 => image.to_rgb16().into(),
        C::Rgb32F => image.to_rgb32f().into(),
        _ => image.to_rgba8().into(),
    }
}

/// Copies `core.width` x `core.height` pixels from `from` at `at` into `to` at `core`'s
/// place: row by row as bytes for 8-bit images, pixel by pixel otherwise.
fn copy_rect(from: &DynamicImage, at: (u32, u32), to: &mut DynamicImage, core: Rect) {
    let bpp = usize::from(from.color().bytes_per_pixel());
    let eight_bit = matches!(
        to,
        DynamicImage::ImageLuma8(_)
            | DynamicImage::ImageLumaA8(_)
            | DynamicImage::ImageRgb8(_)
            | DynamicImage::ImageRgba8(_)
    );
    if eight_bit {
        let src = from.as_bytes();
        let src_stride = from.width() as usize * bpp;
        let dst_stride = to.width() as usize * bpp;
        let row_bytes = core.width as usize * bpp;
        let dst: &mut [u8] = match to {
            DynamicImage::ImageLuma8(b) => b,
            DynamicImage::ImageLumaA8(b) => b,
            DynamicImage::ImageRgb8(b) => b,
            DynamicImage::ImageRgba8(b) => b,
            _ => unreachable!("checked above"),
        };
        for row in 0..core.height as usize {
            let s = (at.1 as usize + row) * src_stride + at.0 as usize * bpp;
            let d = (core.y as usize + row) * dst_stride + core.x as usize * bpp;
            dst[d..d + row_bytes].copy_from_slice(&src[s..s + row_bytes]);
        }
    } else {
        for y in 0..core.height {
            for x in 0..core.width {
                let pixel = from.get_pixel(at.0 + x, at.1 + y);
                to.put_pixel(core.x + x, core.y + y, pixel);
            }
        }
    }
}

/// Runs `tiled` on every tile of `image` in this process and stitches the cores: what the
/// workers do between them, for tests and for checking a plan.
pub fn process_in_tiles(
    image: &DynamicImage,
    tiled: &TiledPipeline,
    tile_width: u32,
    tile_height: u32,
) -> anyhow::Result<DynamicImage> {
    let plan = TilePlan::new(
        image.width(),
        image.height(),
        tile_width,
        tile_height,
        tiled.halo,
    )?;
    let pipeline = tiled.tiled.build()?;
    let mut stitcher = Stitcher::new(plan.clone(), image.color());
    for tile in &plan.tiles {
        let processed = pipeline.apply(&cut(image, tile))?;
        stitcher.place(tile.index, &processed)?;
    }
    let stitched = stitcher.finish()?;
    Ok(if tiled.after.filters.is_empty() {
        stitched
    } else {
        tiled.after.build()?.apply(&stitched)?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_covers_every_pixel_once_with_uneven_tiles() {
        let (width, height, halo) = (1000, 701, 7);
        let plan = TilePlan::new(width, height, 256, 300, halo).unwrap();
        assert_eq!(plan.tiles.len(), 4 * 3);
        let mut covered = vec![0u8; (width * height) as usize];
        for tile in &plan.tiles {
            let (c, r) = (tile.core, tile.read);
            for y in c.y..c.y + c.height {
                for x in c.x..c.x + c.width {
                    covered[(y * width + x) as usize] += 1;
                }
            }
            // At least the halo on every side the image has; rows exactly, columns rounded
            // out to the alignment; never past the image.
            assert_eq!(c.y - r.y, c.y.min(halo));
            assert_eq!(
                r.y + r.height - (c.y + c.height),
                (height - c.y - c.height).min(halo)
            );
            assert!(c.x - r.x >= c.x.min(halo) && r.x % READ_ALIGN == 0);
            let right = r.x + r.width;
            assert!(right - (c.x + c.width) >= (width - c.x - c.width).min(halo));
            assert!(right == width || right % READ_ALIGN == 0);
            assert!(right <= width && r.y + r.height <= height);
        }
        assert!(covered.iter().all(|&c| c == 1));
        let last = plan.tiles.last().unwrap();
        assert_eq!((last.core.width, last.core.height), (1000 - 768, 701 - 600));
    }

    #[test]
    fn a_narrow_last_column_still_reads_from_the_alignment() {
        // The last core is 10 wide: its read, grown to 64 columns, would start at 946.
        let plan = TilePlan::new(1010, 300, 100, 300, 9).unwrap();
        for tile in &plan.tiles {
            assert_eq!(tile.read.x % READ_ALIGN, 0, "{tile:?}");
            assert!(tile.read.width >= MIN_READ);
        }
    }

    #[test]
    fn bad_sizes_are_named() {
        assert!(matches!(
            TilePlan::new(0, 10, 4, 4, 1),
            Err(TileError::Empty(_))
        ));
        let error = TilePlan::new(10, 10, 0, 4, 1).unwrap_err().to_string();
        assert!(error.contains("tile size is 0x4"), "{error}");
        let error = TilePlan::new(100_000, 100_000, 64, 64, 1)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("2442969 tiles is more than the 10000"),
            "{error}"
        );
    }

    #[test]
    fn geometry_filters_run_after_stitching_or_refuse() {
        let split =
            split_pipeline(&PipelineSpec::parse("blur:sigma=2|resize:width=100|sharpen").unwrap())
                .unwrap();
        assert_eq!(split.tiled.filters.len(), 1);
        assert_eq!(split.after.filters.len(), 2);
        assert!(split.halo >= 6, "halo {}", split.halo);
        let refused = split_pipeline(&PipelineSpec::parse("rotate:angle=90|blur").unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("rotate changes the image's geometry"),
            "{refused}"
        );
    }

    #[test]
    fn a_tile_placed_twice_counts_once_and_a_wrong_size_is_refused() {
        let image = DynamicImage::new_rgb8(150, 40);
        let plan = TilePlan::new(150, 40, 100, 32, 2).unwrap();
        let mut stitcher = Stitcher::new(plan.clone(), image.color());
        let tile = plan.tiles[0];
        assert!(stitcher.place(0, &cut(&image, &tile)).unwrap());
        assert!(!stitcher.place(0, &cut(&image, &tile)).unwrap());
        assert!(matches!(
            stitcher.place(1, &cut(&image, &tile)),
            Err(TileError::WrongSize { index: 1, .. })
        ));
        assert!(matches!(
            stitcher.place(9, &cut(&image, &tile)),
            Err(TileError::UnknownTile { index: 9, count: 4 })
        ));
        assert!(!stitcher.is_complete());
        let missing = stitcher.finish().unwrap_err().to_string();
        assert_eq!(missing, "3 of 4 tiles missing (first: tile 1)");
    }

    #[test]
    fn bands_stitch_into_the_rows_of_the_whole() {
        let image: DynamicImage = session01_image_basics::samples::generate(300, 170).into();
        let plan = TilePlan::new(300, 170, 128, 64, 3).unwrap();
        let mut bands = Vec::new();
        for row in plan.tiles.chunk_by(|a, b| a.core.y == b.core.y) {
            let area = Rect {
                x: 0,
                y: row[0].core.y,
                width: 300,
                height: row[0].core.height,
            };
            let mut band = Stitcher::for_band(plan.clone(), area, image.color());
            let other = plan.tiles.iter().find(|t| t.core.y != area.y).unwrap();
            assert_eq!(
                band.place(other.index, &cut(&image, other)),
                Err(TileError::OutsideArea { index: other.index })
            );
            for tile in row {
                band.place(tile.index, &cut(&image, tile)).unwrap();
            }
            bands.push(band.finish().unwrap());
        }
        assert_eq!(bands.len(), 3);
        let mut y = 0;
        for band in &bands {
            assert!(*band == image.crop_imm(0, y, 300, band.height()));
            y += band.height();
        }
        assert_eq!(y, 170);
    }
}

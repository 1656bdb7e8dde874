//! A raw image in a file or a Redis string, read and written in rows where they lie: binary PPM
//! (8-bit RGB) and PGM (8-bit gray), a short text header and then the pixels, row by row.
//!
//! Row `y` starts at `offset + y * width * channels`, so a worker reads its tile's rows with
//! one seek and a read to their end, and writes its result's rows into a file made at its
//! final size with one seek and one write: nothing is cut up front, nothing is assembled
//! after.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use image::{ColorType, DynamicImage, GrayImage, RgbImage};

/// The most bytes a header may take: magic, sizes, maxval, and room for comments.
pub const MAX_HEADER: usize = 4096;

/// Where a raw image's pixels are in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLayout {
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Bytes per pixel: 3 for RGB, 1 for gray.
    pub channels: u8,
    /// Where the first row starts.
    pub offset: u64,
}

impl RawLayout {
    /// The layout of a new raw image of `color`, or an error naming a colour type that has
    /// no raw form here.
    pub fn for_color(width: u32, height: u32, color: ColorType) -> Result<Self, String> {
        let channels = match color {
            ColorType::Rgb8 => 3,
            ColorType::L8 => 1,
            other => {
                return Err(format!(
                    "a raw image for bands in place is 8-bit RGB or gray, not {other:?}"
                ));
            }
        };
        let mut layout = Self {
            width,
            height,
            channels,
            offset: 0,
        };
        layout.offset = layout.header().len() as u64;
        Ok(layout)
    }

    /// The header this layout is written with.
    pub fn header(&self) -> String {
        let magic = if self.channels == 3 { "P6" } else { "P5" };
        format!("{magic}\n{} {}\n255\n", self.width, self.height)
    }

    /// Bytes per row.
    pub fn row_bytes(&self) -> u64 {
        u64::from(self.width) * u64::from(self.channels)
    }

    /// The file's length: header and pixels.
    pub fn file_len(&self) -> u64 {
        self.offset + self.row_bytes() * u64::from(self.height)
    }

    /// The colour type of its pixels.
    pub fn color(&self) -> ColorType {
        if self.channels == 3 {
            ColorType::Rgb8
        } else {
            ColorType::L8
        }
    }

    /// Reads the header of `file` and checks that the file holds every row.
    pub fn read(file: &mut File) -> Result<Self, String> {
        let mut head = Vec::with_capacity(MAX_HEADER);
        file.seek(SeekFrom::Start(0))
            .and_then(|_| {
                Read::by_ref(file)
                    .take(MAX_HEADER as u64)
                    .read_to_end(&mut head)
            })
            .map_err(|error| format!("cannot read the header: {error}"))?;
        let len = file
            .metadata()
            .map_err(|error| format!("cannot read the file's size: {error}"))?
            .len();
        Self::parse(&head, len)
    }

    /// The layout of an image of `len` bytes whose first bytes are `head` (at least
    /// `MAX_HEADER` of them, or all there are), checked to hold every row.
    pub fn parse(head: &[u8], len: u64) -> Result<Self, String> {
        let layout = parse_header(head)?;
        if len < layout.file_len() {
            return Err(format!(
                "the image is truncated: {len} bytes, and a {}x{} image needs {}",
                layout.width,
                layout.height,
                layout.file_len()
            ));
        }
        Ok(layout)
    }

    /// Where rows `y..y + rows` are: their first byte and their length, checked against
    /// the image's height.
    pub fn rows(&self, y: u32, rows: u32) -> Result<(u64, u64), String> {
        if u64::from(y) + u64::from(rows) > u64::from(self.height) {
            return Err(format!(
                "rows {y}..{} are outside the image's {} rows",
                u64::from(y) + u64::from(rows),
                self.height
            ));
        }
        Ok((
            self.offset + self.row_bytes() * u64::from(y),
            self.row_bytes() * u64::from(rows),
        ))
    }

    /// `pixels`, whole rows of this layout, as an image.
    pub fn image(&self, pixels: Vec<u8>) -> Result<DynamicImage, String> {
        let rows = u32::try_from(pixels.len() as u64 / self.row_bytes().max(1))
            .map_err(|_| "too many rows".to_owned())?;
        let image = if self.channels == 3 {
            RgbImage::from_raw(self.width, rows, pixels).map(DynamicImage::ImageRgb8)
        } else {
            GrayImage::from_raw(self.width, rows, pixels).map(DynamicImage::ImageLuma8)
        };
        image.ok_or_else(|| "the rows do not make an image".to_owned())
    }

    /// Where `bytes`, rows of pixels `width` wide from column `x` of row `y` on, go: the
    /// offset of each row's first byte, and each row's length.
    pub fn placement(
        &self,
        x: u32,
        y: u32,
        width: u32,
        bytes: usize,
    ) -> Result<impl Iterator<Item = u64> + use<>, String> {
        let row = u64::from(width) * u64::from(self.channels);
        if x.checked_add(width).is_none_or(|end| end > self.width)
            || row == 0
            || !(bytes as u64).is_multiple_of(row)
            || u64::from(y) + bytes as u64 / row > u64::from(self.height)
        {
            return Err(format!(
                "{bytes} bytes of rows {width} pixels wide at ({x}, {y}) do not fit a {}x{} image",
                self.width, self.height
            ));
        }
        let start =
            self.offset + self.row_bytes() * u64::from(y) + u64::from(x) * u64::from(self.channels);
        let stride = self.row_bytes();
        Ok((0..bytes as u64 / row).map(move |i| start + i * stride))
    }

    /// Opens `path` and reads its layout.
    pub fn open(path: &Path) -> Result<(File, Self), String> {
        let mut file = File::open(path).map_err(|error| format!("{}: {error}", path.display()))?;
        let layout =
            Self::read(&mut file).map_err(|error| format!("{}: {error}", path.display()))?;
        Ok((file, layout))
    }

    /// Creates `path` at its final size: the header, then rows of zeros that writers fill.
    pub fn create(&self, path: &Path) -> std::io::Result<File> {
        let mut file = File::create(path)?;
        file.write_all(self.header().as_bytes())?;
        reserve(&file, self.file_len())?;
        file.set_len(self.file_len())?;
        Ok(file)
    }

    /// Rows `y..y + rows` of `file`, as an image.
    pub fn read_rows(&self, mut file: &File, y: u32, rows: u32) -> Result<DynamicImage, String> {
        let (start, bytes) = self.rows(y, rows)?;
        let len =
            usize::try_from(bytes).map_err(|_| format!("{rows} rows do not fit in memory"))?;
        // Read into spare capacity: the buffer is never filled with zeros first.
        let mut pixels = Vec::with_capacity(len);
        let read = file
            .seek(SeekFrom::Start(start))
            .and_then(|_| file.take(bytes).read_to_end(&mut pixels))
            .map_err(|error| format!("cannot read rows {y}..{}: {error}", y + rows))?;
        if read != len {
            return Err(format!(
                "cannot read rows {y}..{}: only {read} of their {len} bytes are in the file",
                y + rows
            ));
        }
        self.image(pixels)
    }

    /// Writes `bytes`, whole rows of this layout's pixels `width` wide, into `file` from
    /// column `x` of row `y` on: one write when the rows are whole, one per row otherwise.
    pub fn write_rows(
        &self,
        mut file: &File,
        x: u32,
        y: u32,
        width: u32,
        bytes: &[u8],
    ) -> Result<(), String> {
        let starts = self.placement(x, y, width, bytes.len())?;
        let mut write = |at: u64, bytes: &[u8]| {
            file.seek(SeekFrom::Start(at))
                .and_then(|_| file.write_all(bytes))
                .map_err(|error| format!("cannot write at byte {at}: {error}"))
        };
        if width == self.width {
            return write(self.offset + self.row_bytes() * u64::from(y), bytes);
        }
        let row = width as usize * usize::from(self.channels);
        for (at, piece) in starts.zip(bytes.chunks_exact(row)) {
            write(at, piece)?;
        }
        Ok(())
    }
}

/// Reserves `len` bytes of disk for `file` where the filesystem can (Linux's `fallocate`).
/// A write into reserved space only copies the bytes: on ext4, writing a large result into
/// a file that was only extended took several times as long, allocating blocks as it went.
/// A full disk is an error now rather than at the first band.
fn reserve(file: &File, len: u64) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    if let Ok(len) = i64::try_from(len) {
        use nix::errno::Errno;
        // Where it cannot (some network filesystems), the writes allocate as they go.
        let reserved = nix::fcntl::fallocate(file, nix::fcntl::FallocateFlags::empty(), 0, len);
        if let Err(error @ (Errno::ENOSPC | Errno::EDQUOT | Errno::EFBIG)) = reserved {
            return Err(error.into());
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, len);
    Ok(())
}

/// The layout a PPM or PGM header describes: `P6` or `P5`, width, height and a maxval of
/// 255, separated by whitespace and `#` comments, then one whitespace byte.
fn parse_header(head: &[u8]) -> Result<RawLayout, String> {
    let mut at = 0;
    let mut fields = [0u64; 3];
    let channels = match head.get(..2) {
        Some(b"P6") => 3,
        Some(b"P5") => 1,
        _ => return Err("not a binary PPM (P6) or PGM (P5) image".to_owned()),
    };
    at += 2;
    for field in &mut fields {
        // Whitespace and comments, then digits.
        loop {
            match head.get(at) {
                Some(byte) if byte.is_ascii_whitespace() => at += 1,
                Some(b'#') => {
                    while head.get(at).is_some_and(|&b| b != b'\n') {
                        at += 1;
                    }
                }
                Some(_) => break,
                None if head.len() >= MAX_HEADER => {
                    return Err(format!("the header is longer than {MAX_HEADER} bytes"));
                }
                None => return Err("the header ends early".to_owned()),
            }
        }
        let start = at;
        while head.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at - start > 10 {
            return Err(format!("a number too long at byte {start} of the header"));
        }
        *field = std::str::from_utf8(&head[start..at])
            .ok()
            .and_then(|digits| digits.parse().ok())
            .ok_or_else(|| format!("a malformed number at byte {start} of the header"))?;
    }
    if !head.get(at).is_some_and(u8::is_ascii_whitespace) {
        return Err("the header ends early".to_owned());
    }
    let [width, height, maxval] = fields;
    if maxval != 255 {
        return Err(format!(
            "the samples go up to {maxval}: only 8-bit images (maxval 255) are read in place"
        ));
    }
    let (Ok(width), Ok(height)) = (u32::try_from(width), u32::try_from(height)) else {
        return Err(format!("a {width}x{height} image is too large"));
    };
    if width == 0 || height == 0 {
        return Err(format!("the image is {width}x{height}"));
    }
    let layout = RawLayout {
        width,
        height,
        channels,
        offset: at as u64 + 1,
    };
    // Every offset within the image then fits, in a u64 and in a file's i64.
    u64::from(width)
        .checked_mul(u64::from(height))
        .and_then(|pixels| pixels.checked_mul(u64::from(channels)))
        .and_then(|bytes| bytes.checked_add(layout.offset))
        .filter(|&len| i64::try_from(len).is_ok())
        .ok_or_else(|| format!("a {width}x{height} image is too large"))?;
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_with_comments_and_written_plainly() {
        let layout = parse_header(b"P6 # made here\n12 # wide\n 3\n255\nxyz").unwrap();
        assert_eq!((layout.width, layout.height, layout.channels), (12, 3, 3));
        assert_eq!(layout.offset, 32);
        let new = RawLayout::for_color(12, 3, ColorType::L8).unwrap();
        assert_eq!(new.header(), "P5\n12 3\n255\n");
        assert_eq!(parse_header(new.header().as_bytes()).unwrap(), new);
    }

    #[test]
    fn bad_headers_are_named() {
        for (head, problem) in [
            (&b"P3\n1 1\n255\n"[..], "not a binary PPM"),
            (b"P6\n1 1\n65535\n", "only 8-bit"),
            (b"P6\n0 1\n255\n", "is 0x1"),
            (b"P6\n1 x\n255\n", "malformed number"),
            (b"P6\n1 1\n255", "ends early"),
            (b"P6\n99999999999 1\n255\n", "too long"),
            (b"P6\n9999999999 1\n255\n", "too large"),
            (b"P6 4294967295 4294967295 255\n", "too large"),
        ] {
            let error = parse_header(head).unwrap_err();
            assert!(error.contains(problem), "{error}");
        }
        assert!(RawLayout::for_color(1, 1, ColorType::Rgba8).is_err());
    }

    #[test]
    fn rows_go_back_where_they_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.ppm");
        let layout = RawLayout::for_color(5, 4, ColorType::Rgb8).unwrap();
        let file = layout.create(&path).unwrap();
        let rows: Vec<u8> = (0..2 * 5 * 3).map(|i| i as u8).collect();
        layout.write_rows(&file, 0, 1, 5, &rows).unwrap();
        layout.write_rows(&file, 3, 3, 2, &[9; 6]).unwrap();
        assert!(layout.write_rows(&file, 4, 3, 2, &[9; 6]).is_err());
        assert!(layout.write_rows(&file, 0, 3, 5, &rows).is_err());
        let (file, read) = RawLayout::open(&path).unwrap();
        assert_eq!(read, layout);
        let image = read.read_rows(&file, 0, 4).unwrap().into_rgb8();
        assert_eq!(&image.as_raw()[15..45], &rows[..]);
        assert_eq!(image.get_pixel(3, 3).0, [9, 9, 9]);
        assert_eq!(image.get_pixel(2, 3).0, [0, 0, 0]);
        assert!(read.read_rows(&file, 3, 2).is_err());
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(20)
            .unwrap();
        assert!(RawLayout::open(&path).unwrap_err().contains("truncated"));
        // Cut short after its layout was read: a band's read says so.
        let short = File::open(&path).unwrap();
        let error = layout.read_rows(&short, 0, 4).unwrap_err();
        assert!(error.contains("only 9 of their 60 bytes"), "{error}");
        assert!(layout.rows(3, 2).is_err());
        let starts: Vec<u64> = layout.placement(3, 1, 2, 12).unwrap().collect();
        assert_eq!(starts, [layout.offset + 15 + 9, layout.offset + 30 + 9]);
    }
}

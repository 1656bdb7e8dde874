//! The course's first program: load a bundled photo, turn it gray by looping over its pixels
//! by hand, and save the result (`cargo run -p session01_image_basics --example first_pixels`).

// ANCHOR: main
use image::{DynamicImage, GrayImage, Luma};
use session01_image_basics::{load, samples, save};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let photo = load(samples::path("astronaut.png"))?;
    let rgb = photo.to_rgb8(); // a copy with 3 samples per pixel: red, green, blue
    let (width, height) = rgb.dimensions();

    let mut gray = GrayImage::new(width, height); // all black, 1 sample per pixel
    for y in 0..height {
        for x in 0..width {
            let [r, g, b] = rgb.get_pixel(x, y).0;
            // Widen to u32 first: 587 * g does not fit in a u8.
            let total = 299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b);
            let luma = ((total + 500) / 1000) as u8; // rounded, 0..=255
            gray.put_pixel(x, y, Luma([luma]));
        }
    }

    let (before, after) = (rgb.get_pixel(0, 0).0, gray.get_pixel(0, 0).0);
    std::fs::create_dir_all("output")?;
    let path = "output/first-pixels.png";
    save(&DynamicImage::ImageLuma8(gray), path)?;
    let colour = photo.color();
    println!("loaded astronaut.png: {width}x{height} pixels, {colour:?}");
    println!("pixel (0, 0): {before:?} -> {after:?}");
    println!("wrote {path}");
    Ok(())
}
// ANCHOR_END: main

//! Blurring and sharpening: neighbourhood operations built on convolution.

use crate::convolve::{convolve3x3, gaussian_kernel, gaussian_radius, separable};
use crate::error::{FilterError, ParamError};
use crate::filter::{FilterInfo, FilterKind, PixelFilter};
use crate::params::{Args, ParamDefault, ParamKind, ParamSpec};
use crate::pixels::{Buffer, Pixel8, colour_channels, to_u8};

/// The standard deviation parameter shared by the Gaussian blur and the unsharp mask.
const SIGMA: ParamSpec = ParamSpec {
    name: "sigma",
    kind: ParamKind::Float {
        min: 0.1,
        max: 100.0,
    },
    default: ParamDefault::Value("2"),
    help: "standard deviation of the Gaussian, in pixels; it reaches 3 sigma",
};

/// Gaussian blur: a weighted average of the neighbours, weights falling off as a bell curve.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianBlur {
    sigma: f32,
}

// ANCHOR: gaussian
impl GaussianBlur {
    /// Checks `sigma` against `0.1..=100`.
    pub fn new(sigma: f64) -> Result<Self, ParamError> {
        let sigma = SIGMA.check_float(Self::INFO.name, sigma)? as f32;
        Ok(Self { sigma })
    }

    /// The standard deviation, in pixels.
    pub fn sigma(&self) -> f32 {
        self.sigma
    }
}

impl PixelFilter for GaussianBlur {
    const INFO: FilterInfo = FilterInfo {
        name: "blur",
        summary: "Gaussian blur",
        params: &[SIGMA],
        build: |args: &Args| Ok(Box::new(Self::new(args.float("sigma")?)?)),
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![("sigma", self.sigma.to_string())]
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Neighbourhood {
            radius: gaussian_radius(self.sigma),
        }
    }

    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(separable(image, &gaussian_kernel(self.sigma)))
    }
}
// ANCHOR_END: gaussian

/// Box blur: the plain mean of the `(2 radius + 1)^2` square around each pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxBlur {
    radius: u32,
}

impl BoxBlur {
    const RADIUS: ParamSpec = ParamSpec {
        name: "radius",
        kind: ParamKind::Int { min: 1, max: 100 },
        default: ParamDefault::Value("3"),
        help: "half the side of the square, in pixels (3 averages 7x7)",
    };

    /// Checks `radius` against `1..=100`.
    pub fn new(radius: i64) -> Result<Self, ParamError> {
        let radius = Self::RADIUS.check_int(Self::INFO.name, radius)? as u32;
        Ok(Self { radius })
    }

    /// Half the side of the square, in pixels.
    pub fn radius(&self) -> u32 {
        self.radius
    }
}

impl PixelFilter for BoxBlur {
    const INFO: FilterInfo = FilterInfo {
        name: "box-blur",
        summary: "mean of the square around each pixel",
        params: &[Self::RADIUS],
        build: |args: &Args| Ok(Box::new(Self::new(args.int("radius")?)?)),
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![("radius", self.radius.to_string())]
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Neighbourhood {
            radius: self.radius,
        }
    }

    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        let taps = 2 * self.radius as usize + 1;
        Ok(separable(image, &vec![1.0 / taps as f32; taps]))
    }
}

/// Sharpen: adds `amount` times the difference between a pixel and its four neighbours
/// (a Laplacian), which steepens every edge.
#[derive(Debug, Clone, PartialEq)]
pub struct Sharpen {
    amount: f32,
}

impl Sharpen {
    const AMOUNT: ParamSpec = ParamSpec {
        name: "amount",
        kind: ParamKind::Float {
            min: 0.0,
            max: 10.0,
        },
        default: ParamDefault::Value("1"),
        help: "strength: 0 unchanged, 1 the classic 3x3 sharpen kernel",
    };

    /// Checks `amount` against `0..=10`.
    pub fn new(amount: f64) -> Result<Self, ParamError> {
        let amount = Self::AMOUNT.check_float(Self::INFO.name, amount)? as f32;
        Ok(Self { amount })
    }

    /// The strength.
    pub fn amount(&self) -> f32 {
        self.amount
    }
}

impl PixelFilter for Sharpen {
    const INFO: FilterInfo = FilterInfo {
        name: "sharpen",
        summary: "3x3 Laplacian sharpening",
        params: &[Self::AMOUNT],
        build: |args: &Args| Ok(Box::new(Self::new(args.float("amount")?)?)),
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![("amount", self.amount.to_string())]
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Neighbourhood { radius: 1 }
    }

    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        let a = self.amount;
        let kernel = [[0.0, -a, 0.0], [-a, 1.0 + 4.0 * a, -a], [0.0, -a, 0.0]];
        Ok(convolve3x3(image, kernel))
    }
}

/// Unsharp mask, as in Pillow and photo editors: where a pixel differs from its blurred self
/// by at least `threshold`, push it further away by `amount` times the difference.
#[derive(Debug, Clone, PartialEq)]
pub struct UnsharpMask {
    sigma: f32,
    amount: f32,
    threshold: u8,
}

impl UnsharpMask {
    const AMOUNT: ParamSpec = ParamSpec {
        name: "amount",
        kind: ParamKind::Float {
            min: 0.0,
            max: 10.0,
        },
        default: ParamDefault::Value("1.5"),
        help: "strength: 1.5 adds 150% of the detail (Pillow's percent=150)",
    };
    const THRESHOLD: ParamSpec = ParamSpec {
        name: "threshold",
        kind: ParamKind::Int { min: 0, max: 255 },
        default: ParamDefault::Value("3"),
        help: "smallest difference that is sharpened, so flat noise is left alone",
    };

    /// Checks `sigma` (`0.1..=100`), `amount` (`0..=10`) and `threshold` (`0..=255`).
    pub fn new(sigma: f64, amount: f64, threshold: i64) -> Result<Self, ParamError> {
        let name = Self::INFO.name;
        Ok(Self {
            sigma: SIGMA.check_float(name, sigma)? as f32,
            amount: Self::AMOUNT.check_float(name, amount)? as f32,
            threshold: Self::THRESHOLD.check_int(name, threshold)? as u8,
        })
    }

    /// The standard deviation of the blur, the strength and the threshold.
    pub fn settings(&self) -> (f32, f32, u8) {
        (self.sigma, self.amount, self.threshold)
    }
}

impl PixelFilter for UnsharpMask {
    const INFO: FilterInfo = FilterInfo {
        name: "unsharp",
        summary: "unsharp mask: amplify the difference from a Gaussian blur",
        params: &[SIGMA, Self::AMOUNT, Self::THRESHOLD],
        build: |args: &Args| {
            let filter = Self::new(
                args.float("sigma")?,
                args.float("amount")?,
                args.int("threshold")?,
            )?;
            Ok(Box::new(filter))
        },
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("sigma", self.sigma.to_string()),
            ("amount", self.amount.to_string()),
            ("threshold", self.threshold.to_string()),
        ]
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Neighbourhood {
            radius: gaussian_radius(self.sigma),
        }
    }

    // ANCHOR: unsharp
    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        let blurred = separable(image, &gaussian_kernel(self.sigma));
        let channels = usize::from(P::CHANNEL_COUNT);
        let colour = colour_channels::<P>();
        let mut out = image.clone();
        for (pixel, soft) in out
            .chunks_exact_mut(channels)
            .zip(blurred.chunks_exact(channels))
        {
            for (sample, soft) in pixel[..colour].iter_mut().zip(soft) {
                let detail = f32::from(*sample) - f32::from(*soft);
                if detail.abs() >= f32::from(self.threshold) {
                    *sample = to_u8(f32::from(*sample) + self.amount * detail);
                }
            }
        }
        Ok(out)
    }
    // ANCHOR_END: unsharp
}

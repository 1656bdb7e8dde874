//! Sobel's magnitude, `|g| / 4` rounded, from `gx² + gy²`: eight pixels per instruction.
//!
//! Rust's `as` from a float to an integer saturates (a value out of range becomes the
//! nearest one the integer holds, and NaN becomes 0), and LLVM turned that into a
//! comparison and a conversion per pixel. On x86-64 CPUs with AVX2, `cvttps2dq` converts
//! eight at once instead, through `pulp`'s safe wrappers: every value here lies between
//! 0.5 and 255, where the two agree. Other CPUs, and the last few pixels of a row, run
//! [`root`], the reference; the tests compare the filter with session 01's.

/// `|g| / 4` rounded, from `squared = gx² + gy²`. Session 01 rounds `hypot(gx, gy) / 4`;
/// `|g|` is never negative, and for it `+ 0.5` then truncation is the same rounding.
#[inline(always)]
fn root(squared: i32) -> i32 {
    ((squared as f32).sqrt() * 0.25 + 0.5).min(255.0) as i32
}

/// Replaces each `gx² + gy²` in `values` with its magnitude, 0 to 255.
#[inline(always)]
pub(crate) fn roots(values: &mut [i32]) {
    let done = simd_roots(values);
    for value in &mut values[done..] {
        *value = root(*value);
    }
}

/// How many values the SIMD loop replaced; none where there is no such loop.
#[cfg(not(target_arch = "x86_64"))]
fn simd_roots(_: &mut [i32]) -> usize {
    0
}

#[cfg(target_arch = "x86_64")]
use avx2::roots as simd_roots;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use pulp::bytemuck::cast;
    use pulp::x86::V3;
    use pulp::{Simd, WithSimd};

    /// Replaces whole groups of eight values with their roots, as [`super::root`], and
    /// returns how many it replaced: none on a CPU without AVX2.
    pub(super) fn roots(values: &mut [i32]) -> usize {
        let Some(simd) = V3::try_new() else {
            return 0;
        };
        Simd::vectorize(simd, Roots { simd, values })
    }

    /// The loop, as a `pulp` operation compiled with AVX2 enabled.
    struct Roots<'a> {
        simd: V3,
        values: &'a mut [i32],
    }

    impl WithSimd for Roots<'_> {
        type Output = usize;

        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) -> usize {
            let Self { simd, values } = self;
            let avx = simd.avx;
            let quarter = avx._mm256_set1_ps(0.25);
            let half = avx._mm256_set1_ps(0.5);
            let top = avx._mm256_set1_ps(255.0);
            let (groups, _) = values.as_chunks_mut::<8>();
            for group in groups.iter_mut() {
                let root = avx._mm256_sqrt_ps(avx._mm256_cvtepi32_ps(cast(*group)));
                // A multiply, then an add, each rounded, as the reference (not one fused
                // multiply-add).
                let rounded = avx._mm256_add_ps(avx._mm256_mul_ps(root, quarter), half);
                *group = cast(avx._mm256_cvttps_epi32(avx._mm256_min_ps(rounded, top)));
            }
            groups.len() * 8
        }
    }
}

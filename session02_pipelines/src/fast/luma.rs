//! Gray levels and thresholds of RGB(A) pixels, sixteen pixels per step.
//!
//! Luma mixes three samples of a pixel, which sit side by side in memory: `r g b r g b …`.
//! A compiler cannot turn that loop into wide instructions by itself, so on x86-64 CPUs with
//! AVX2 it is written out with explicit SIMD, through `pulp`'s safe wrappers:
//!
//! 1. **Shuffle** (`pshufb`) the `CN` vectors of sixteen pixels into one vector of reds,
//!    one of greens and one of blues.
//! 2. **Multiply-add** (`pmaddwd`) pairs: `299 r + 587 g` and `114 b + 500 * 1`, in 32-bit
//!    lanes, eight pixels per instruction.
//! 3. **Divide by 1000** exactly, without a division (see [`super::luma()`]), or compare with
//!    the threshold.
//! 4. **Pack** the lanes back to bytes and shuffle each gray level into the colour samples;
//!    alpha is kept.
//!
//! Sobel uses the two ends apart: [`plane`] stops at sixteen gray levels packed into bytes,
//! one per pixel, and [`spread`] starts from any bytes, one per pixel (Sobel's magnitudes),
//! and shuffles them into the colour samples with step 4's masks.
//!
//! Every other CPU runs the same arithmetic one pixel at a time ([`super::luma()`]). The tests
//! compare both with session 01's filters, bit for bit.

use super::{luma, luma_x1000};

/// What becomes of a pixel's colour samples.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LumaOp {
    /// Each becomes the luma.
    Gray,
    /// Each becomes 255 where the luma is at least the level, else 0.
    Threshold(u8),
}

/// Writes `op` of every pixel of `src` into `dst` (as long), pixels of `CN` samples (3 or
/// 4) whose fourth, if any, is alpha.
pub(crate) fn map<const CN: usize>(src: &[u8], dst: &mut [u8], op: LumaOp) {
    let simd_len = src.len() / (16 * CN) * (16 * CN);
    let (blocks, rest) = src.split_at(simd_len);
    let (dst_blocks, dst_rest) = dst.split_at_mut(simd_len);
    if !avx2::map::<CN>(blocks, dst_blocks, op) {
        scalar::<CN>(blocks, dst_blocks, op);
    }
    scalar::<CN>(rest, dst_rest, op);
}

/// The luma of every pixel of `src` (pixels of `CN` samples, 3 or 4) into `dst`, one byte
/// per pixel.
pub(crate) fn plane<const CN: usize>(src: &[u8], dst: &mut [u8]) {
    let done = avx2::plane::<CN>(src, dst);
    for (pixel, out) in src.chunks_exact(CN).zip(dst).skip(done) {
        *out = luma(pixel);
    }
}

/// Each of `values`, one per pixel, into every colour sample of that pixel of `dst`
/// (pixels of `CN` samples, 3 or 4); a fourth sample, alpha, comes from `src`.
pub(crate) fn spread<const CN: usize>(values: &[u8], src: &[u8], dst: &mut [u8]) {
    let done = avx2::spread::<CN>(values, src, dst);
    let pixels = dst.chunks_exact_mut(CN).zip(src.chunks_exact(CN));
    for ((out, pixel), &value) in pixels.zip(values).skip(done) {
        out[..3].fill(value);
        out[3..].copy_from_slice(&pixel[3..]);
    }
}

/// The reference: one pixel at a time.
fn scalar<const CN: usize>(src: &[u8], dst: &mut [u8], op: LumaOp) {
    for (pixel, out) in src.chunks_exact(CN).zip(dst.chunks_exact_mut(CN)) {
        let y = match op {
            LumaOp::Gray => luma(pixel),
            LumaOp::Threshold(level) => {
                if luma_x1000(pixel) >= 1000 * u32::from(level) {
                    255
                } else {
                    0
                }
            }
        };
        out[..3].fill(y);
        out[3..].copy_from_slice(&pixel[3..]);
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod avx2 {
    /// No x86 SIMD here: the caller runs the scalar path.
    pub(super) fn map<const CN: usize>(_: &[u8], _: &mut [u8], _: super::LumaOp) -> bool {
        false
    }

    /// No pixels done here: the caller does them all.
    pub(super) fn plane<const CN: usize>(_: &[u8], _: &mut [u8]) -> usize {
        0
    }

    /// No pixels done here: the caller does them all.
    pub(super) fn spread<const CN: usize>(_: &[u8], _: &[u8], _: &mut [u8]) -> usize {
        0
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::{__m128i, __m256i};

    use pulp::bytemuck::cast;
    use pulp::x86::V3;
    use pulp::{Simd, WithSimd};

    use super::LumaOp;

    /// Maps `src` (a whole number of 16-pixel blocks) into `dst` with AVX2, if this CPU has
    /// it; `false` if it has not and nothing was done.
    // ANCHOR: dispatch
    pub(super) fn map<const CN: usize>(src: &[u8], dst: &mut [u8], op: LumaOp) -> bool {
        let Some(simd) = V3::try_new() else {
            return false;
        };
        Simd::vectorize(simd, Blocks::<CN> { simd, src, dst, op });
        true
    }

    /// The loop over the blocks, as a `pulp` operation: `vectorize` compiles its
    /// `with_simd` with AVX2 enabled, and the intrinsics inline into it.
    struct Blocks<'a, const CN: usize> {
        simd: V3,
        src: &'a [u8],
        dst: &'a mut [u8],
        op: LumaOp,
    }

    impl<const CN: usize> WithSimd for Blocks<'_, CN> {
        type Output = ();

        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            let blocks = self.src.chunks_exact(16 * CN);
            for (block, out) in blocks.zip(self.dst.chunks_exact_mut(16 * CN)) {
                block16::<CN>(self.simd, block, out, self.op);
            }
        }
    }
    // ANCHOR_END: dispatch

    /// Writes the luma of the whole 16-pixel blocks of `src` into `dst`, one byte per
    /// pixel, and returns how many pixels it did: none on a CPU without AVX2.
    pub(super) fn plane<const CN: usize>(src: &[u8], dst: &mut [u8]) -> usize {
        let Some(simd) = V3::try_new() else {
            return 0;
        };
        Simd::vectorize(simd, Plane::<CN> { simd, src, dst })
    }

    /// The loop of [`plane`], as a `pulp` operation.
    struct Plane<'a, const CN: usize> {
        simd: V3,
        src: &'a [u8],
        dst: &'a mut [u8],
    }

    impl<const CN: usize> WithSimd for Plane<'_, CN> {
        type Output = usize;

        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) -> usize {
            let Self { simd, src, dst } = self;
            let mut done = 0;
            for (block, out) in src.chunks_exact(16 * CN).zip(dst.chunks_exact_mut(16)) {
                let pixels = vectors::<CN>(simd, block);
                let levels = levels16::<CN>(simd, &pixels, LumaOp::Gray);
                let levels: [u8; 16] = cast(levels);
                out.copy_from_slice(&levels);
                done += 16;
            }
            done
        }
    }

    /// Spreads each of the values of whole 16-pixel blocks into its pixel's colour samples
    /// (see [`super::spread`]), and returns how many pixels it did: none on a CPU without
    /// AVX2.
    pub(super) fn spread<const CN: usize>(values: &[u8], src: &[u8], dst: &mut [u8]) -> usize {
        let Some(simd) = V3::try_new() else {
            return 0;
        };
        Simd::vectorize(
            simd,
            Spread::<CN> {
                simd,
                values,
                src,
                dst,
            },
        )
    }

    /// The loop of [`spread`], as a `pulp` operation.
    struct Spread<'a, const CN: usize> {
        simd: V3,
        values: &'a [u8],
        src: &'a [u8],
        dst: &'a mut [u8],
    }

    impl<const CN: usize> WithSimd for Spread<'_, CN> {
        type Output = usize;

        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) -> usize {
            let Self {
                simd,
                values,
                src,
                dst,
            } = self;
            let (groups, _) = values.as_chunks::<16>();
            let blocks = src.chunks_exact(16 * CN).zip(dst.chunks_exact_mut(16 * CN));
            let mut done = 0;
            for (&group, (block, out)) in groups.iter().zip(blocks) {
                let pixels = vectors::<CN>(simd, block);
                spread16::<CN>(simd, cast(group), &pixels, out);
                done += 16;
            }
            done
        }
    }

    /// `pshufb` indices that gather channel `channel` of sixteen `CN`-sample pixels from the
    /// block's vector `vector`; -1 (high bit set) makes a zero byte.
    const fn gather_mask(cn: usize, channel: usize, vector: usize) -> [i8; 16] {
        let mut mask = [-1; 16];
        let mut pixel = 0;
        while pixel < 16 {
            let at = cn * pixel + channel;
            if at / 16 == vector {
                mask[pixel] = (at % 16) as i8;
            }
            pixel += 1;
        }
        mask
    }

    /// `pshufb` indices that spread sixteen gray levels over the colour samples of the
    /// block's vector `vector`; alpha samples get zero.
    const fn spread_mask(cn: usize, vector: usize) -> [i8; 16] {
        let mut mask = [-1; 16];
        let mut byte = 0;
        while byte < 16 {
            let at = 16 * vector + byte;
            if at % cn < 3 {
                mask[byte] = (at / cn) as i8;
            }
            byte += 1;
        }
        mask
    }

    /// The masks for `CN`-sample pixels: gathers by channel and vector, then spreads.
    struct Masks<const CN: usize>;

    impl<const CN: usize> Masks<CN> {
        const GATHER: [[[i8; 16]; 4]; 3] = {
            let mut all = [[[0; 16]; 4]; 3];
            let mut channel = 0;
            while channel < 3 {
                let mut vector = 0;
                while vector < 4 {
                    all[channel][vector] = gather_mask(CN, channel, vector);
                    vector += 1;
                }
                channel += 1;
            }
            all
        };
        const SPREAD: [[i8; 16]; 4] = [
            spread_mask(CN, 0),
            spread_mask(CN, 1),
            spread_mask(CN, 2),
            spread_mask(CN, 3),
        ];
        /// Which bytes are alpha (0xFF) in each vector of the block.
        const ALPHA: [[i8; 16]; 4] = {
            let mut all = [[0; 16]; 4];
            let mut vector = 0;
            while vector < 4 {
                let mut byte = 0;
                while byte < 16 {
                    if (16 * vector + byte) % CN == 3 {
                        all[vector][byte] = -1;
                    }
                    byte += 1;
                }
                vector += 1;
            }
            all
        };
    }

    /// Sixteen pixels, `16 * CN` samples, from `block` to `out`.
    ///
    /// No closures here: each would be a function of its own, compiled without AVX2, where
    /// the intrinsics become calls instead of single instructions.
    #[inline(always)]
    fn block16<const CN: usize>(simd: V3, block: &[u8], out: &mut [u8], op: LumaOp) {
        let pixels = vectors::<CN>(simd, block);
        let levels = levels16::<CN>(simd, &pixels, op);
        spread16::<CN>(simd, levels, &pixels, out);
    }

    /// The `CN` vectors of sixteen pixels.
    #[inline(always)]
    fn vectors<const CN: usize>(simd: V3, block: &[u8]) -> [__m128i; CN] {
        let (vectors, _) = block.as_chunks::<16>();
        let mut pixels = [simd.sse2._mm_setzero_si128(); CN];
        for v in 0..CN {
            pixels[v] = cast(vectors[v]);
        }
        pixels
    }

    /// The level of each of sixteen pixels, `op` of its luma.
    #[inline(always)]
    fn levels16<const CN: usize>(simd: V3, pixels: &[__m128i; CN], op: LumaOp) -> __m128i {
        let (sse2, ssse3, avx, avx2) = (simd.sse2, simd.ssse3, simd.avx, simd.avx2);
        // 1. One vector per channel: each byte of it from whichever vector holds it.
        let mut planes = [sse2._mm_setzero_si128(); 3];
        for (c, plane) in planes.iter_mut().enumerate() {
            for (v, &source) in pixels.iter().enumerate() {
                let picked = ssse3._mm_shuffle_epi8(source, cast(Masks::<CN>::GATHER[c][v]));
                *plane = sse2._mm_or_si128(*plane, picked);
            }
        }
        let r = avx2._mm256_cvtepu8_epi16(planes[0]);
        let g = avx2._mm256_cvtepu8_epi16(planes[1]);
        let b = avx2._mm256_cvtepu8_epi16(planes[2]);
        // 2. 299 r + 587 g + 114 b + 500, as pairs (r, g) and (b, 1) multiplied and added.
        let rg_weights = avx._mm256_set1_epi32(299 | (587 << 16));
        let b1_weights = avx._mm256_set1_epi32(114 | (500 << 16));
        let one = avx._mm256_set1_epi16(1);
        let low = avx2._mm256_add_epi32(
            avx2._mm256_madd_epi16(avx2._mm256_unpacklo_epi16(r, g), rg_weights),
            avx2._mm256_madd_epi16(avx2._mm256_unpacklo_epi16(b, one), b1_weights),
        );
        let high = avx2._mm256_add_epi32(
            avx2._mm256_madd_epi16(avx2._mm256_unpackhi_epi16(r, g), rg_weights),
            avx2._mm256_madd_epi16(avx2._mm256_unpackhi_epi16(b, one), b1_weights),
        );
        // 3. The level of each pixel, 0 to 255, in 32-bit lanes.
        let (low, high) = match op {
            LumaOp::Gray => (divide_by_1000(simd, low), divide_by_1000(simd, high)),
            LumaOp::Threshold(level) => {
                let bar = avx._mm256_set1_epi32(1000 * i32::from(level) - 1);
                let white = avx._mm256_set1_epi32(255);
                (
                    avx2._mm256_and_si256(avx2._mm256_cmpgt_epi32(low, bar), white),
                    avx2._mm256_and_si256(avx2._mm256_cmpgt_epi32(high, bar), white),
                )
            }
        };
        // 4. Back to sixteen bytes, in pixel order: the unpacks and packs both work within
        // 128-bit halves, so one undoes the other's order.
        let words = avx2._mm256_packus_epi32(low, high);
        sse2._mm_packus_epi16(
            avx2._mm256_extracti128_si256::<0>(words),
            avx2._mm256_extracti128_si256::<1>(words),
        )
    }

    /// Sixteen levels into the colour samples of sixteen pixels of `out`, alpha from
    /// `pixels`.
    #[inline(always)]
    fn spread16<const CN: usize>(
        simd: V3,
        levels: __m128i,
        pixels: &[__m128i; CN],
        out: &mut [u8],
    ) {
        let (sse2, ssse3) = (simd.sse2, simd.ssse3);
        let (outs, _) = out.as_chunks_mut::<16>();
        for v in 0..CN {
            let colour = ssse3._mm_shuffle_epi8(levels, cast(Masks::<CN>::SPREAD[v]));
            let alpha = sse2._mm_and_si128(pixels[v], cast(Masks::<CN>::ALPHA[v]));
            outs[v] = cast(sse2._mm_or_si128(colour, alpha));
        }
    }

    /// `x / 1000` in each 32-bit lane, for `x` below 256 000: `((x >> 3) * 33555) >> 22`.
    #[inline(always)]
    fn divide_by_1000(simd: V3, x: __m256i) -> __m256i {
        let (avx, avx2) = (simd.avx, simd.avx2);
        let eighth = avx2._mm256_srli_epi32::<3>(x);
        avx2._mm256_srli_epi32::<22>(avx2._mm256_mullo_epi32(eighth, avx._mm256_set1_epi32(33_555)))
    }
}

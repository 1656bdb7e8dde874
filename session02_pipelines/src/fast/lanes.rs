//! Strips of 64 samples in 16-bit lanes with AVX2, for the kernels that keep fixed-point
//! sums (the Gaussian and resampling): a strip checked once, bytes widened to 16 bits, and
//! sums rounded back to bytes. Functions, not closures: each is inlined into the `pulp`
//! operation that calls it, and compiled with AVX2 there (see `luma.rs`).

use core::arch::x86_64::{__m128i, __m256i};

use pulp::bytemuck::cast;
use pulp::x86::V3;

/// Samples per step: four vectors of sixteen 16-bit lanes, whose sums stay in registers.
pub(super) const STEP: usize = 64;
/// Vectors per step.
pub(super) const LANES: usize = STEP / 16;

/// `STEP` samples of `row` from `at`: checked once, so the loads from it are not.
#[inline(always)]
pub(super) fn strip<T>(row: &[T], at: usize) -> &[T; STEP] {
    row[at..at + STEP].try_into().unwrap()
}

/// `STEP` samples of `row` from `at`, to write.
#[inline(always)]
pub(super) fn strip_mut<T>(row: &mut [T], at: usize) -> &mut [T; STEP] {
    (&mut row[at..at + STEP]).try_into().unwrap()
}

/// Vector `j` of a strip of bytes, as 16-bit lanes.
#[inline(always)]
pub(super) fn widen(simd: V3, strip: &[u8; STEP], j: usize) -> __m256i {
    let bytes: [u8; 16] = strip[16 * j..16 * (j + 1)].try_into().unwrap();
    let bytes: __m128i = cast(bytes);
    simd.avx2._mm256_cvtepu8_epi16(bytes)
}

/// Sums with `BITS` fractional bits, rounded to bytes (0 to 255) into `out`. `packus`
/// works within 128-bit halves, so the quarters are put back in order.
#[inline(always)]
pub(super) fn round_to_bytes<const BITS: i32>(
    simd: V3,
    acc: [__m256i; LANES],
    out: &mut [u8; STEP],
) {
    let (avx, avx2) = (simd.avx, simd.avx2);
    let half = avx._mm256_set1_epi16(1 << (BITS - 1));
    for (j, pair) in acc.as_chunks::<2>().0.iter().enumerate() {
        let [low, high] = *pair;
        let low = avx2._mm256_srai_epi16::<BITS>(avx2._mm256_adds_epi16(low, half));
        let high = avx2._mm256_srai_epi16::<BITS>(avx2._mm256_adds_epi16(high, half));
        let packed = avx2._mm256_packus_epi16(low, high);
        let packed = avx2._mm256_permute4x64_epi64::<0b11_01_10_00>(packed);
        let bytes: &mut [u8; 32] = (&mut out[32 * j..32 * (j + 1)]).try_into().unwrap();
        *bytes = cast(packed);
    }
}

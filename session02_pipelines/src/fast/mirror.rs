//! A row mirrored left to right, sixteen pixels per step.
//!
//! Reversing the order of 3-byte pixels is no pattern a compiler turns into SIMD code by
//! itself. On x86-64 CPUs with AVX2 each block of sixteen pixels is reversed with byte
//! shuffles (`pshufb`), through `pulp`'s safe wrappers: every output vector gathers its bytes
//! from the source vectors that hold them. Every other CPU copies pixel by pixel, which is
//! also the reference.

/// Writes the pixels of `src` into `dst` (as long) in reverse order, pixels of `CN` samples.
pub(crate) fn mirror<const CN: usize>(src: &[u8], dst: &mut [u8]) {
    let width = src.len() / CN;
    let blocks = width / 16 * 16 * CN;
    // Output pixels 0..16k come from the last 16k source pixels.
    let (dst_blocks, dst_rest) = dst.split_at_mut(blocks);
    let (src_rest, src_blocks) = src.split_at(src.len() - blocks);
    if !avx2::mirror::<CN>(src_blocks, dst_blocks) {
        scalar::<CN>(src_blocks, dst_blocks);
    }
    scalar::<CN>(src_rest, dst_rest);
}

/// The reference: one pixel at a time.
fn scalar<const CN: usize>(src: &[u8], dst: &mut [u8]) {
    let pixels = src.as_chunks::<CN>().0.iter().rev();
    for (out, pixel) in dst.as_chunks_mut::<CN>().0.iter_mut().zip(pixels) {
        *out = *pixel;
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod avx2 {
    /// No x86 SIMD here: the caller runs the scalar path.
    pub(super) fn mirror<const CN: usize>(_: &[u8], _: &mut [u8]) -> bool {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use pulp::bytemuck::cast;
    use pulp::x86::V3;
    use pulp::{Simd, WithSimd};

    /// Mirrors `src` (a whole number of 16-pixel blocks) into `dst` with AVX2's shuffles, if
    /// this CPU has them; `false` if it has not and nothing was done.
    pub(super) fn mirror<const CN: usize>(src: &[u8], dst: &mut [u8]) -> bool {
        let Some(simd) = V3::try_new() else {
            return false;
        };
        Simd::vectorize(simd, Blocks::<CN> { simd, src, dst });
        true
    }

    /// The loop over the blocks as a `pulp` operation (see `luma.rs`). The source is read
    /// forwards and the output written from its end, which measured faster than the
    /// other way round.
    struct Blocks<'a, const CN: usize> {
        simd: V3,
        src: &'a [u8],
        dst: &'a mut [u8],
    }

    impl<const CN: usize> WithSimd for Blocks<'_, CN> {
        type Output = ();

        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            let outs = self.dst.chunks_exact_mut(16 * CN).rev();
            for (block, out) in self.src.chunks_exact(16 * CN).zip(outs) {
                block16::<CN>(self.simd, block, out);
            }
        }
    }

    /// `pshufb` indices that put into output vector `out` of a reversed block the bytes that
    /// source vector `from` holds; -1 (high bit set) makes a zero byte.
    const fn reverse(cn: usize, out: usize, from: usize) -> [i8; 16] {
        let mut mask = [-1; 16];
        let mut byte = 0;
        while byte < 16 {
            let at = 16 * out + byte;
            let source = cn * (15 - at / cn) + at % cn;
            if source / 16 == from {
                mask[byte] = (source % 16) as i8;
            }
            byte += 1;
        }
        mask
    }

    /// The masks for `CN`-sample pixels, by output vector and source vector.
    struct Masks<const CN: usize>;

    impl<const CN: usize> Masks<CN> {
        const REVERSE: [[[i8; 16]; 4]; 4] = {
            let mut all = [[[0; 16]; 4]; 4];
            // Only the first CN of each: a block has CN vectors.
            let mut out = 0;
            while out < CN {
                let mut from = 0;
                while from < CN {
                    all[out][from] = reverse(CN, out, from);
                    from += 1;
                }
                out += 1;
            }
            all
        };
    }

    /// Sixteen pixels from `block` into `out`, last first. No closures here: each would be
    /// compiled without AVX2 (see `luma.rs`).
    #[inline(always)]
    fn block16<const CN: usize>(simd: V3, block: &[u8], out: &mut [u8]) {
        let (sse2, ssse3) = (simd.sse2, simd.ssse3);
        let (vectors, _) = block.as_chunks::<16>();
        let (outs, _) = out.as_chunks_mut::<16>();
        let mut src = [sse2._mm_setzero_si128(); CN];
        for v in 0..CN {
            src[v] = cast(vectors[v]);
        }
        for (o, out) in outs.iter_mut().enumerate().take(CN) {
            let mut acc = sse2._mm_setzero_si128();
            for (v, &source) in src.iter().enumerate() {
                let picked = ssse3._mm_shuffle_epi8(source, cast(Masks::<CN>::REVERSE[o][v]));
                acc = sse2._mm_or_si128(acc, picked);
            }
            *out = cast(acc);
        }
    }
}

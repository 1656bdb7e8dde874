//! A lookup table as arithmetic, where it is a line.
//!
//! Session 01 turns brightness, contrast and invert into a 256-entry table, and each sample
//! is looked up: one load per byte, which no SIMD instruction set up to AVX2 does sixteen at
//! a time. But those tables are lines, rounded and clamped to 0..=255, and a line is a
//! multiply, an add and a shift, which every SIMD unit does on eight or more 16-bit lanes at
//! once. Slopes come in steps of 1/128: factors such as 0.5, 1.5 or 2 are lines here, and a
//! table that needs a finer slope (1.4) stays a table.
//! [`Curve::of`] finds the line that gives every entry of a table, and checks all 256 of
//! them; a table that is no line stays a table.

/// How to compute a table's entries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Curve<'t> {
    /// `255 - v`.
    Negative,
    /// A rising line, rounded and clamped.
    Line(Line),
    /// Anything else: looked up.
    Table(&'t [u8; 256]),
}

/// `min((mul * v + add - sub) >> 7, 255)` in 16-bit lanes, saturating at 0 and 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line {
    mul: u16,
    add: u16,
    sub: u16,
}

/// The line's fractional bits: slopes in steps of 1/128.
const SHIFT: u32 = 7;

impl Line {
    /// The entry for `v`.
    // ANCHOR: line_at
    #[inline(always)]
    pub fn at(self, v: u8) -> u8 {
        let scaled = (u16::from(v) * self.mul)
            .saturating_add(self.add)
            .saturating_sub(self.sub);
        (scaled >> SHIFT).min(255) as u8
    }
    // ANCHOR_END: line_at

    /// The line through every entry of `table`, if there is one with a slope of at most
    /// 257/128.
    fn fit(table: &[u8; 256]) -> Option<Line> {
        let inside = |v: &usize| (1..255).contains(&table[*v]);
        let first = (0..256).find(inside)?;
        let last = (0..256).rfind(inside)?;
        let one = 1 << SHIFT;
        let estimate = if last > first {
            one * (i64::from(table[last]) - i64::from(table[first])) / (last - first) as i64
        } else {
            one
        };
        (estimate - 2..=estimate + 2).find_map(|mul| Self::with_slope(table, mul))
    }

    /// The line of slope `mul / 128` through every entry of `table`, if there is one: each
    /// entry bounds the offset from above, below or both; any offset left fits them all.
    fn with_slope(table: &[u8; 256], mul: i64) -> Option<Line> {
        // `mul * 255` must stay within 16 bits.
        let mul_u16 = u16::try_from(mul).ok().filter(|&m| m <= 257)?;
        let one = 1 << SHIFT;
        let (mut low, mut high) = (i64::MIN, i64::MAX);
        for (v, &entry) in (0i64..).zip(table) {
            let entry = i64::from(entry);
            if entry > 0 {
                low = low.max(one * entry - mul * v);
            }
            if entry < 255 {
                high = high.min(one * entry + one - 1 - mul * v);
            }
        }
        if low > high {
            return None;
        }
        let offset = if low == i64::MIN { high } else { low };
        let line = Line {
            mul: mul_u16,
            add: u16::try_from(offset.max(0)).ok()?,
            sub: u16::try_from((-offset).max(0)).ok()?,
        };
        // The bounds ignore the 16-bit saturation; the entries themselves decide.
        (0..=255u8)
            .all(|v| line.at(v) == table[usize::from(v)])
            .then_some(line)
    }
}

impl<'t> Curve<'t> {
    /// The cheapest way to compute `table`.
    pub fn of(table: &'t [u8; 256]) -> Self {
        if (0..=255u8).all(|v| table[usize::from(v)] == 255 - v) {
            Curve::Negative
        } else if let Some(line) = Line::fit(table) {
            Curve::Line(line)
        } else {
            Curve::Table(table)
        }
    }
}

/// Runs `$body` with `$f` bound to the curve's function of one sample, each curve its own
/// copy of the loop, so the loop sees the arithmetic, not a branch.
macro_rules! with_curve {
    ($curve:expr, $f:ident => $body:expr) => {
        match $curve {
            $crate::fast::curve::Curve::Negative => {
                let $f = |v: u8| 255 - v;
                $body
            }
            $crate::fast::curve::Curve::Line(line) => {
                let $f = move |v: u8| line.at(v);
                $body
            }
            $crate::fast::curve::Curve::Table(table) => {
                let $f = |v: u8| table[usize::from(v)];
                $body
            }
        }
    };
}
pub(crate) use with_curve;

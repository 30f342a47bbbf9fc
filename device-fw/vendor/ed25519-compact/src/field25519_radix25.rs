//! Arithmetic modulo p = 2^255 - 19 in ten 32-bit limbs (radix 2^25.5), for the door board.
//!
//! Porter's patch (see PORTER-PATCH.md), compiled instead of `field25519.rs` under `opt_size`.
//! fiat-crypto's five 51-bit limbs need 64x64->128-bit products, which a Cortex-M4 builds from
//! four 32-bit multiplies each; fully unrolled, its multiply and square were 2.7 KB of the
//! board's flash. Here a limb fits a register, a product is one 32x32->64-bit multiply, and
//! the multiply is a loop over ten columns of ten products each; the square is the multiply of
//! a value by itself. The interface is the one
//! `field25519.rs` offers, so the curve code above it is unchanged.
//!
//! Constant time, as fiat's: no branch and no memory index depends on a value (the loops and
//! the `j > 0` test run on indices), and the Cortex-M4's 32x32->64-bit multiplies take one
//! cycle whatever their operands (the M3's do not: this code is not for it).
//!
//! Limb `i` holds `W(i)` = 26 bits when `i` is even, 25 when odd, at bit offset
//! `ceil(25.5 i)`; the value is `sum(limb[i] << offset(i))`, taken mod p.
//!
//! Bounds (what keeps every sum inside its integer; in tests, `*` and `-` assert theirs):
//! * **tight**: what `carry`, `*`, `square`, `-`, `neg`, `mul32` and `from_bytes` return:
//!   `limb[i] < 2^W(i)`, except limb 1, which may exceed `2^25` by at most `2^17`;
//! * `+` does not carry: the sum of two tight values is *loose* (below twice tight);
//! * `*` accepts anything up to three times tight (`MUL_INPUT_LIMIT`): the curve code adds at
//!   most three tight values before it multiplies (`t0 + r.t` in a point addition, with
//!   `t0 = z + z`);
//! * `-` accepts, on its right, anything up to `4p` limb by limb (it adds `4p` first): four
//!   times tight, or nearly.

#![allow(unused_parens)]

use core::cmp::{Eq, PartialEq};
use core::convert::TryInto;
use core::ops::{Add, Mul, Sub};

use crate::error::*;

#[allow(unused_imports)] // the scalar code's loaders; the compact one uses none
pub use super::field25519_fiat::{load_3i, load_3u, load_4i, load_4u};

/// Bits held by limb `i` (26 or 25).
#[inline(always)]
const fn width(i: usize) -> u32 {
    26 - (i as u32 & 1)
}

/// `2^width(i) - 1`.
#[inline(always)]
const fn mask(i: usize) -> u32 {
    (1u32 << width(i)) - 1
}

/// `4p` limb by limb (limb 0 is `4 (2^26 - 19)`, the others `4 (2^W - 1)`): what `-` adds so
/// that no limb of the difference goes below zero.
const FOUR_P: [u32; 10] = [
    0x0fff_ffb4,
    0x07ff_fffc,
    0x0fff_fffc,
    0x07ff_fffc,
    0x0fff_fffc,
    0x07ff_fffc,
    0x0fff_fffc,
    0x07ff_fffc,
    0x0fff_fffc,
    0x07ff_fffc,
];

/// The largest limb `*` accepts, three times tight: `19 * 3 * 2^26 < 2^32` (an even limb
/// times 19) and `38 * 3 * (2^25 + 2^17) < 2^32` (an odd limb times 19, doubled), so the
/// multiply's scaled copies fit 32 bits.
#[cfg(test)]
const MUL_INPUT_LIMIT: [u32; 10] = {
    let mut limit = [0u32; 10];
    let mut i = 0;
    while i < 10 {
        limit[i] = 3 * ((1 << width(i)) + if i == 1 { 1 << 17 } else { 0 });
        i += 1;
    }
    limit
};

#[derive(Clone, Default, Copy)]
pub struct Fe(pub [u32; 10]);

impl PartialEq for Fe {
    fn eq(&self, other: &Fe) -> bool {
        self.0 == other.0
    }
}
impl Eq for Fe {}

pub static FE_ZERO: Fe = Fe([0; 10]);
pub static FE_ONE: Fe = Fe([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
pub static FE_SQRTM1: Fe = Fe::from_limbs51([
    1718705420411056,
    234908883556509,
    2233514472574048,
    2117202627021982,
    765476049583133,
]);
pub(crate) static FE_D: Fe = Fe::from_limbs51([
    929955233495203,
    466365720129213,
    1662059464998953,
    2033849074728123,
    1442794654840575,
]);
pub(crate) static FE_D2: Fe = Fe::from_limbs51([
    1859910466990425,
    932731440258426,
    1072319116312658,
    1815898335770999,
    633789495995903,
]);

/// `limbs[i] <= limit[i]` for every limb (the tests' check of the bounds above).
#[cfg(test)]
fn within(limbs: &[u32; 10], limit: &[u32; 10]) -> bool {
    limbs.iter().zip(limit).all(|(l, m)| l <= m)
}

impl Add for Fe {
    type Output = Fe;

    /// Limb by limb, without a carry (the result is loose: see the module's bounds).
    #[inline(never)]
    fn add(self, rhs: Fe) -> Fe {
        let mut h = self;
        for (h, g) in h.0.iter_mut().zip(rhs.0) {
            *h += g;
        }
        h
    }
}

impl Sub for Fe {
    type Output = Fe;

    /// `self + 4p - rhs`, carried (tight).
    #[inline(never)]
    fn sub(self, rhs: Fe) -> Fe {
        #[cfg(test)]
        assert!(within(&rhs.0, &FOUR_P), "subtrahend above 4p: {:?}", rhs.0);
        let mut h = self;
        for i in 0..10 {
            h.0[i] = h.0[i] + FOUR_P[i] - rhs.0[i];
        }
        h.carry()
    }
}

impl Mul for Fe {
    type Output = Fe;

    /// Schoolbook product in ten columns, reduced with `2^255 = 19 (mod p)`, carried (tight).
    ///
    /// Column `k` of `f g` is `sum f[i] g[j]` over `i + j = k`, plus `19 sum f[i] g[j]` over
    /// `i + j = k + 10` (those terms sit 2^255 higher). Where `i` and `j` are both odd the two
    /// 25.5-bit offsets round up twice, so that product counts double. With `m = j` or
    /// `m = j - 10`, the coefficient of `f[i]` in column `k = i + m` depends only on `m` and
    /// on whether `i` is odd: `even` and `odd` hold it for `m` in -9..=9, and each column is
    /// then ten multiply-accumulates.
    #[inline(never)]
    fn mul(self, rhs: Fe) -> Fe {
        let f = &self.0;
        let g = &rhs.0;
        #[cfg(test)]
        assert!(
            within(f, &MUL_INPUT_LIMIT) && within(g, &MUL_INPUT_LIMIT),
            "factor above three times tight: {:?} {:?}",
            f,
            g
        );
        // Indexed by n = m + 9: g[j] with j = n - 9 where the term stays in its column,
        // 19 g[j] with j = n + 1 where it wraps round; in `odd`, doubled where j is odd too.
        let mut even = [0u32; 19];
        let mut odd = [0u32; 19];
        for j in 0..10 {
            even[9 + j] = g[j];
            odd[9 + j] = g[j] << (j & 1);
            if j > 0 {
                even[j - 1] = 19 * g[j];
                odd[j - 1] = (19 * g[j]) << (j & 1);
            }
        }
        // Each column, summed, then carried into its limb at once (the carry chain runs from
        // column 0 up, as the columns do).
        let mut h = Fe::default();
        let mut carry = 0u64;
        let windows = even.windows(10).zip(odd.windows(10));
        for (k, (h, (e, o))) in h.0.iter_mut().zip(windows).enumerate() {
            // Ten products, unrolled: each a load and a multiply-accumulate.
            let (e, o): (&[u32; 10], &[u32; 10]) = (e.try_into().unwrap(), o.try_into().unwrap());
            let p = |a: u32, b: u32| a as u64 * b as u64;
            let sum = carry
                + p(f[0], e[9])
                + p(f[1], o[8])
                + p(f[2], e[7])
                + p(f[3], o[6])
                + p(f[4], e[5])
                + p(f[5], o[4])
                + p(f[6], e[3])
                + p(f[7], o[2])
                + p(f[8], e[1])
                + p(f[9], o[0]);
            *h = sum as u32 & mask(k);
            carry = sum >> width(k);
        }
        h.fold_top_carry(carry)
    }
}

impl Fe {
    /// The same value from fiat's five 51-bit limbs (each below `2^51`): how the curve
    /// constants, written for `field25519.rs`, are given.
    pub const fn from_limbs51(limbs: [u64; 5]) -> Fe {
        let mut h = [0u32; 10];
        let mut i = 0;
        while i < 5 {
            assert!(limbs[i] < 1 << 51, "a 51-bit limb above 2^51");
            h[2 * i] = (limbs[i] & 0x3ff_ffff) as u32;
            h[2 * i + 1] = (limbs[i] >> 26) as u32;
            i += 1;
        }
        Fe(h)
    }

    /// Ten column sums (each below 2^64) carried into tight limbs.
    fn carry_wide(column: &[u64; 10]) -> Fe {
        let mut h = Fe::default();
        let mut carry = 0u64;
        // Two limbs a step, so that the shifts are constants.
        for (h, c) in h.0.chunks_exact_mut(2).zip(column.chunks_exact(2)) {
            let low = c[0] + carry;
            h[0] = low as u32 & 0x3ff_ffff;
            let high = c[1] + (low >> 26);
            h[1] = high as u32 & 0x1ff_ffff;
            carry = high >> 25;
        }
        h.fold_top_carry(carry)
    }

    /// Adds the carry out of limb 9, worth 2^255 = 19 (it is below 2^39, so times 19 it is
    /// below 2^44), into limb 0, and limb 0's carry into limb 1.
    fn fold_top_carry(mut self, carry: u64) -> Fe {
        let c = self.0[0] as u64 + carry * 19;
        self.0[0] = c as u32 & 0x3ff_ffff;
        self.0[1] += (c >> 26) as u32;
        self
    }

    /// Limbs up to 2^32 - 2^7 carried into tight limbs.
    #[inline(never)]
    pub fn carry(&self) -> Fe {
        let mut column = [0u64; 10];
        for (c, l) in column.iter_mut().zip(self.0) {
            *c = l as u64;
        }
        Fe::carry_wide(&column)
    }

    /// The low 255 bits of `s` (the top bit is ignored); not reduced mod p.
    pub fn from_bytes(s: &[u8]) -> Fe {
        if s.len() != 32 {
            panic!("Invalid compressed length")
        }
        let mut h = Fe::default();
        let mut bits = 0u64;
        let mut held = 0;
        let mut next = s.iter();
        for i in 0..10 {
            while held < width(i) {
                bits |= (*next.next().unwrap_or(&0) as u64) << held;
                held += 8;
            }
            h.0[i] = bits as u32 & mask(i);
            bits >>= width(i);
            held -= width(i);
        }
        h
    }

    /// The canonical encoding: the value reduced mod p, in 32 little-endian bytes.
    #[inline(never)]
    pub fn to_bytes(&self) -> [u8; 32] {
        let h = self.carry();
        // A tight value is below 2p: it is at least p exactly when value + 19 reaches 2^255,
        // and q, the carry out of that sum, says so (0 or 1).
        let mut q = 19u32;
        for i in 0..10 {
            q = (h.0[i] + q) >> width(i);
        }
        // value - q p = value + 19 q - q 2^255: add 19 q and drop the carry out of limb 9.
        let mut s = [0u8; 32];
        let mut carry = 19 * q;
        let mut bits = 0u64;
        let mut held = 0;
        let mut at = 0;
        for i in 0..10 {
            let c = h.0[i] + carry;
            bits |= ((c & mask(i)) as u64) << held;
            carry = c >> width(i);
            held += width(i);
            while held >= 8 {
                s[at] = bits as u8;
                bits >>= 8;
                held -= 8;
                at += 1;
            }
        }
        s[31] = bits as u8;
        s
    }

    /// `self = other` when `do_swap` is 1, unchanged when 0, in constant time.
    #[inline(never)]
    pub fn maybe_set(&mut self, other: &Fe, do_swap: u8) {
        let mask = 0u32.wrapping_sub((do_swap & 1) as u32);
        for i in 0..10 {
            self.0[i] ^= mask & (self.0[i] ^ other.0[i]);
        }
    }

    #[inline(never)]
    pub fn square(&self) -> Fe {
        *self * *self
    }

    pub fn square_and_double(&self) -> Fe {
        let h = self.square();
        (h + h)
    }

    /// `self^(p - 2)`, the inverse (zero for zero), as `self^(2^252 - 3)` (`pow25523`)
    /// raised to 8, times `self^3`: `8 (2^252 - 3) + 3 = 2^255 - 21 = p - 2`. Four
    /// multiplies more than a chain of its own, and one chain's code less.
    pub fn invert(&self) -> Fe {
        let z = self.pow25523().square().square().square();
        z * self.square() * *self
    }

    #[inline(never)]
    pub fn is_zero(&self) -> bool {
        self.to_bytes().iter().fold(0, |acc, x| acc | x) == 0
    }

    #[inline(never)]
    pub fn is_negative(&self) -> bool {
        (self.to_bytes()[0] & 1) != 0
    }

    /// `0 - self` (tight).
    pub fn neg(&self) -> Fe {
        FE_ZERO - *self
    }

    pub fn pow25523(&self) -> Fe {
        let z2 = self.square();
        let z8 = (0..2).fold(z2, |x, _| x.square());
        let z9 = *self * z8;
        let z11 = z2 * z9;
        let z22 = z11.square();
        let z_5_0 = z9 * z22;
        let z_10_5 = (0..5).fold(z_5_0, |x, _| x.square());
        let z_10_0 = z_10_5 * z_5_0;
        let z_20_10 = (0..10).fold(z_10_0, |x, _| x.square());
        let z_20_0 = z_20_10 * z_10_0;
        let z_40_20 = (0..20).fold(z_20_0, |x, _| x.square());
        let z_40_0 = z_40_20 * z_20_0;
        let z_50_10 = (0..10).fold(z_40_0, |x, _| x.square());
        let z_50_0 = z_50_10 * z_10_0;
        let z_100_50 = (0..50).fold(z_50_0, |x, _| x.square());
        let z_100_0 = z_100_50 * z_50_0;
        let z_200_100 = (0..100).fold(z_100_0, |x, _| x.square());
        let z_200_0 = z_200_100 * z_100_0;
        let z_250_50 = (0..50).fold(z_200_0, |x, _| x.square());
        let z_250_0 = z_250_50 * z_50_0;
        let z_252_2 = (0..2).fold(z_250_0, |x, _| x.square());
        let z_252_3 = z_252_2 * *self;

        z_252_3
    }

    /// Swaps `a0` with `b0` and `a1` with `b1` when `c` is 1, in constant time.
    #[cfg(feature = "x25519")]
    #[inline(never)]
    pub fn cswap2(a0: &mut Fe, b0: &mut Fe, a1: &mut Fe, b1: &mut Fe, c: u8) {
        let mask = 0u32.wrapping_sub(c as u32);
        for i in 0..10 {
            let x0 = (a0.0[i] ^ b0.0[i]) & mask;
            let x1 = (a1.0[i] ^ b1.0[i]) & mask;
            a0.0[i] ^= x0;
            b0.0[i] ^= x0;
            a1.0[i] ^= x1;
            b1.0[i] ^= x1;
        }
    }

    /// `self * n` for a tight `self` (tight).
    #[cfg(feature = "x25519")]
    #[inline(never)]
    pub fn mul32(&self, n: u32) -> Fe {
        let mut column = [0u64; 10];
        for (c, l) in column.iter_mut().zip(self.0) {
            *c = l as u64 * n as u64;
        }
        Fe::carry_wide(&column)
    }

    pub fn reject_noncanonical(s: &[u8]) -> Result<(), Error> {
        if s.len() != 32 {
            panic!("Invalid compressed length")
        }
        let mut c = s[31];
        c ^= 0x7f;
        let mut i: usize = 30;
        while i > 0 {
            c |= s[i] ^ 0xff;
            i -= 1;
        }
        c = ((c as u16).wrapping_sub(1) >> 8) as u8;
        let d = (((0xed - 1) as u16).wrapping_sub(s[0] as u16) >> 8) as u8;
        if c & d & 1 == 0 {
            Ok(())
        } else {
            Err(Error::NonCanonical)
        }
    }
}

/// Porter's patch: the 32-bit limbs give fiat's results (`field25519.rs`, the reference) for
/// every operation, on pseudo-random values anywhere within the bounds the module states and
/// on the edges; RFC 7748's X25519 vectors pass. The bound checks inside `*` and `-` are on in
/// these tests, so the curve tests of the same build (`porter_patch_*`) check that the curve
/// code keeps within them.
#[cfg(test)]
mod porter_patch_field_tests {
    extern crate std;
    use std::{vec, vec::Vec};

    use super::super::field25519_fiat as fiat;
    use super::*;

    /// SplitMix64: a fixed, seedable source of test inputs.
    struct Inputs(u64);

    impl Inputs {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// A number in `0..=limit`, most often at or near its ends.
        fn up_to(&mut self, limit: u32) -> u32 {
            let r = self.next();
            match r % 8 {
                0 => limit,
                1 => limit - (r >> 8) as u32 % 64.min(limit + 1),
                2 => (r >> 8) as u32 % 64.min(limit + 1),
                _ => ((r >> 8) % (limit as u64 + 1)) as u32,
            }
        }

        /// Limbs each in `0..=limit[i]`.
        fn limbs(&mut self, limit: &[u32; 10]) -> Fe {
            let mut h = Fe::default();
            for i in 0..10 {
                h.0[i] = self.up_to(limit[i]);
            }
            h
        }

        fn bytes(&mut self) -> [u8; 32] {
            let mut s = [0u8; 32];
            for chunk in s.chunks_mut(8) {
                chunk.copy_from_slice(&self.next().to_le_bytes());
            }
            s
        }
    }

    /// The tight bound: `2^W - 1`, and `2^25 + 2^17` for limb 1.
    fn tight() -> [u32; 10] {
        let mut limit = [0u32; 10];
        for i in 0..10 {
            limit[i] = mask(i) + if i == 1 { 1 << 17 } else { 0 };
        }
        limit
    }

    fn times(limit: [u32; 10], n: u32) -> [u32; 10] {
        limit.map(|l| l * n)
    }

    /// The same value in fiat's limbs (each 51-bit limb gathers two of ours, then carried).
    fn reference(f: &Fe) -> fiat::Fe {
        let mut limbs = [0u64; 5];
        for k in 0..5 {
            limbs[k] = f.0[2 * k] as u64 + ((f.0[2 * k + 1] as u64) << 26);
        }
        fiat::Fe(limbs).carry()
    }

    fn assert_same(ours: Fe, theirs: fiat::Fe, what: &str) {
        assert_eq!(ours.to_bytes(), theirs.to_bytes(), "{}: {:?}", what, ours.0);
        assert!(
            within(&ours.0, &tight()) || what.starts_with("sum"),
            "{} not tight: {:?}",
            what,
            ours.0
        );
    }

    /// The edges as 32 bytes: 0, 1, p - 1, p, p + 1, 2^255 - 20..2^255 - 1 (non-canonical),
    /// all ones (the top bit is ignored) and 2^254.
    fn edge_encodings() -> Vec<[u8; 32]> {
        let p_minus = |k: u8| {
            let mut s = [0xffu8; 32];
            s[31] = 0x7f;
            s[0] = 0xed - k;
            s
        };
        let mut edges = vec![[0u8; 32], {
            let mut one = [0u8; 32];
            one[0] = 1;
            one
        }];
        edges.push(p_minus(1));
        edges.push(p_minus(0));
        for k in 0..=18u8 {
            let mut s = [0xffu8; 32];
            s[31] = 0x7f;
            s[0] = 0xee + k;
            edges.push(s);
        }
        edges.push([0xff; 32]);
        let mut half = [0u8; 32];
        half[31] = 0x40;
        edges.push(half);
        edges
    }

    #[test]
    fn porter_patch_field_encoding_round_trips_and_reduces() {
        let mut inputs = Inputs(1);
        let mut encodings = edge_encodings();
        for _ in 0..20_000 {
            encodings.push(inputs.bytes());
        }
        for s in encodings {
            let ours = Fe::from_bytes(&s);
            let theirs = fiat::Fe::from_bytes(&s);
            assert_same(ours, theirs, "from_bytes");
            assert_eq!(ours.is_zero(), theirs.is_zero());
            assert_eq!(ours.is_negative(), theirs.is_negative());
            // A canonical encoding (below p, top bit clear) comes back as it went in.
            if Fe::reject_noncanonical(&s).is_ok() && s[31] < 0x80 {
                assert_eq!(ours.to_bytes(), s);
            }
        }
        // Every limb at its tight maximum, and at three times it: to_bytes reduces both.
        for limit in [tight(), times(tight(), 3), times(tight(), 4)] {
            assert_same(Fe(limit).carry(), reference(&Fe(limit)), "carry of the bound");
        }
    }

    #[test]
    fn porter_patch_field_arithmetic_equals_fiat() {
        let mut inputs = Inputs(2);
        let mul_limit = MUL_INPUT_LIMIT;
        let edges: Vec<Fe> = edge_encodings().iter().map(|s| Fe::from_bytes(s)).collect();
        for round in 0..100_000 {
            // Factors anywhere up to the multiply's limit; every tenth pair from the edges.
            let (a, b) = if round % 10 == 0 {
                let n = edges.len();
                (edges[round / 10 % n], edges[round / 100 % n])
            } else {
                (inputs.limbs(&mul_limit), inputs.limbs(&mul_limit))
            };
            let (fa, fb) = (reference(&a), reference(&b));
            assert_same(a * b, fa * fb, "product");
            assert_same(a.square(), fa.square(), "square");
            // Sums of two tight values, and the difference of anything up to 4p.
            let (ta, tb) = (inputs.limbs(&tight()), inputs.limbs(&tight()));
            assert_same(ta + tb, reference(&ta) + reference(&tb), "sum");
            let big = inputs.limbs(&FOUR_P);
            assert_same(a - big, fa - reference(&big), "difference");
            assert_same(ta.neg(), reference(&ta).neg(), "negation");
            #[cfg(feature = "x25519")]
            assert_same(ta.mul32(121666), reference(&ta).mul32(121666), "mul32");
        }
    }

    #[test]
    fn porter_patch_field_chains_equal_fiat() {
        // Long chains of mixed operations on tight and loose values, as the curve code runs
        // them (y stays tight, x may be loose): errors that a single operation hides (a
        // bound drifting up) show here.
        let mut inputs = Inputs(3);
        for _ in 0..200 {
            let mut x = Fe::from_bytes(&inputs.bytes());
            let mut y = Fe::from_bytes(&inputs.bytes());
            let (mut fx, mut fy) = (reference(&x), reference(&y));
            for _ in 0..200 {
                match inputs.next() % 6 {
                    0 => (x, fx) = ((x + y) * (y + x), (fx + fy) * (fy + fx)),
                    // fiat's `-` and `neg` want a tight right side (they add 2p, not 4p).
                    1 => (x, fx) = (x.square_and_double() - y, fx.square_and_double() - fy),
                    // Minus one, so that a chain that met x = y does not stay at zero.
                    2 => (y, fy) = ((x - y).square() - FE_ONE, (fx - fy).square() - fiat::FE_ONE),
                    3 => (y, fy) = (y.neg() * x, fy.neg() * fx),
                    4 => {
                        let swap = (inputs.next() & 1) as u8;
                        x.maybe_set(&y, swap);
                        fx.maybe_set(&fy, swap);
                    }
                    _ => (x, fx) = (x * y + y, fx * fy + fy),
                }
                assert_eq!(x.to_bytes(), fx.to_bytes());
                assert_eq!(y.to_bytes(), fy.to_bytes());
            }
            assert_same(x.invert(), fx.invert(), "inverse");
            assert_same(x.pow25523(), fx.pow25523(), "pow25523");
            if !x.is_zero() {
                assert_eq!((x * x.invert()).to_bytes(), FE_ONE.to_bytes());
            }
        }
    }

    #[cfg(feature = "x25519")]
    #[test]
    fn porter_patch_field_cswap2_swaps_exactly_when_asked() {
        let mut inputs = Inputs(4);
        for c in [0u8, 1] {
            let v: Vec<Fe> = (0..4).map(|_| inputs.limbs(&tight())).collect();
            let (mut a0, mut b0, mut a1, mut b1) = (v[0], v[1], v[2], v[3]);
            Fe::cswap2(&mut a0, &mut b0, &mut a1, &mut b1, c);
            let expected = if c == 1 { [v[1], v[0], v[3], v[2]] } else { [v[0], v[1], v[2], v[3]] };
            assert!([a0, b0, a1, b1] == expected);
        }
    }

    #[test]
    fn porter_patch_field_constants_equal_fiat() {
        assert_same(FE_SQRTM1, fiat::FE_SQRTM1, "sqrt(-1)");
        assert_same(FE_D, fiat::FE_D, "d");
        assert_same(FE_D2, fiat::FE_D2, "2d");
        assert_eq!((FE_SQRTM1 * FE_SQRTM1).to_bytes(), FE_ONE.neg().to_bytes());
    }
}

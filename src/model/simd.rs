//! What the hand-vectorised kernels share: 64-byte aligned buffers, a vector type, and
//! runtime dispatch to the best instruction set the CPU has (through `pulp`, without
//! `unsafe`).
//!
//! A [`Kernel`] run through [`vectorized`] is compiled for AVX-512, AVX2 or plain x86-64 and
//! the one this CPU has is chosen at run time; inside, [`Vector`] holds one register's worth
//! of floats (16, 8 or 1) and spells the arithmetic out, and plain loops are vectorised by
//! the compiler. Only the vector width changes between instruction sets, never the order of
//! the arithmetic (multiply-adds are fused on all of them), so every entry point gives the
//! same bits.

use std::ops::{Add, Mul, Sub};

use pulp::Simd;

/// Floats a kernel handles at once: one AVX-512 register, two AVX2 ones.
pub const LANES: usize = 16;

/// A buffer of floats starting on a 64-byte boundary, so that each lane at a multiple of
/// [`LANES`] fills exactly one cache line.
pub struct AlignedBuf {
    data: Vec<f32>,
    offset: usize,
    len: usize,
}

impl AlignedBuf {
    /// `len` zeros.
    pub fn zeros(len: usize) -> Self {
        let data = vec![0.0f32; len + LANES];
        // `align_offset` may decline to answer; the buffer is then merely unaligned.
        let offset = data.as_ptr().align_offset(64).min(LANES);
        Self { data, offset, len }
    }
}

impl std::ops::Deref for AlignedBuf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.data[self.offset..self.offset + self.len]
    }
}

impl std::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.data[self.offset..self.offset + self.len]
    }
}

/// A piece of work to compile for the best instruction set the CPU has.
pub trait Kernel {
    /// What the work returns.
    type Output;
    /// Does the work with the instruction set `simd`; `#[inline(always)]`, as is everything
    /// it calls that should be vectorised.
    fn run<S: Simd>(self, simd: S) -> Self::Output;
}

/// Runs `kernel` inlined into pulp's entry point for AVX-512, AVX2 or plain x86-64, as this
/// CPU allows; the vector width follows, never the arithmetic, so every entry point gives
/// the same bits.
pub fn vectorized<K: Kernel>(kernel: K) -> K::Output {
    pulp::Arch::new().dispatch(Entry(kernel))
}

/// Runs `kernel` with the instruction set `simd` rather than the best one the CPU has: for
/// the tests that check each width gives the same bits.
pub fn vectorized_with<S: Simd, K: Kernel>(simd: S, kernel: K) -> K::Output {
    simd.vectorize(Entry(kernel))
}

/// A kernel as pulp's entry points take one.
struct Entry<K>(K);

impl<K: Kernel> pulp::WithSimd for Entry<K> {
    type Output = K::Output;
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> K::Output {
        self.0.run(simd)
    }
}

/// The instruction set [`vectorized`] runs kernels with on this CPU, as this build allows:
/// `AVX-512`, `AVX2` or `x86-64` (scalar), named by the width of its float vectors.
pub fn instruction_set() -> &'static str {
    match vector_width() {
        16 => "AVX-512",
        8 => "AVX2",
        _ => "x86-64",
    }
}

/// Floats in one vector of the instruction set [`vectorized`] runs kernels with on this CPU.
pub fn vector_width() -> usize {
    struct Width;
    impl Kernel for Width {
        type Output = usize;
        #[inline(always)]
        fn run<S: Simd>(self, _simd: S) -> usize {
            S::F32_LANES
        }
    }
    vectorized(Width)
}

/// One vector register of floats of the instruction set `S`, with its arithmetic (each
/// operation rounds as the scalar one does; nothing is fused).
#[derive(Clone, Copy)]
pub struct Vector<S: Simd> {
    simd: S,
    value: S::f32s,
}

impl<S: Simd> Vector<S> {
    /// Floats in one vector.
    pub const WIDTH: usize = S::F32_LANES;

    /// The vector at `at` in `s`.
    #[inline(always)]
    pub fn load(simd: S, s: &[f32], at: usize) -> Self {
        let (head, _) = S::as_simd_f32s(&s[at..at + Self::WIDTH]);
        Self {
            simd,
            value: head[0],
        }
    }

    /// Writes the vector at `at` in `s`.
    #[inline(always)]
    pub fn store(self, s: &mut [f32], at: usize) {
        let (head, _) = S::as_mut_simd_f32s(&mut s[at..at + Self::WIDTH]);
        head[0] = self.value;
    }

    /// Every float `x`.
    #[inline(always)]
    pub fn splat(simd: S, x: f32) -> Self {
        Self {
            simd,
            value: simd.splat_f32s(x),
        }
    }

    /// `self * b + c`, fused (one rounding) on every instruction set.
    #[inline(always)]
    pub fn mul_add(self, b: Self, c: Self) -> Self {
        Self {
            simd: self.simd,
            value: self.simd.mul_add_f32s(self.value, b.value, c.value),
        }
    }

    /// Adds the vector to the floats at `at` in `s`.
    #[inline(always)]
    pub fn add_to(self, s: &mut [f32], at: usize) {
        (Self::load(self.simd, s, at) + self).store(s, at);
    }

    /// `if_greater` in the lanes where `self > other`, `otherwise` in the others (where
    /// either is NaN among them).
    #[inline(always)]
    pub fn greater_select(self, other: Self, if_greater: Self, otherwise: Self) -> Self {
        let simd = self.simd;
        let mask = simd.greater_than_f32s(self.value, other.value);
        Self {
            simd,
            value: simd.select_f32s(mask, if_greater.value, otherwise.value),
        }
    }

    /// `if_equal` in the lanes where `self` equals `value`, zero in the others.
    #[inline(always)]
    pub fn where_equal(self, value: f32, if_equal: Self) -> Self {
        let simd = self.simd;
        let mask = simd.equal_f32s(self.value, simd.splat_f32s(value));
        Self {
            simd,
            value: simd.select_f32s(mask, if_equal.value, simd.splat_f32s(0.0)),
        }
    }
}

impl<S: Simd> Add for Vector<S> {
    type Output = Self;
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        Self {
            simd: self.simd,
            value: self.simd.add_f32s(self.value, rhs.value),
        }
    }
}

impl<S: Simd> Sub for Vector<S> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        Self {
            simd: self.simd,
            value: self.simd.sub_f32s(self.value, rhs.value),
        }
    }
}

impl<S: Simd> Mul<f32> for Vector<S> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, rhs: f32) -> Self {
        Self {
            simd: self.simd,
            value: self.simd.mul_f32s(self.value, self.simd.splat_f32s(rhs)),
        }
    }
}

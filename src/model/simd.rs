//! What the hand-vectorised kernels share: lanes of 16 floats, 64-byte aligned buffers, and
//! runtime dispatch to the best instruction set the CPU has (through `pulp`, without
//! `unsafe`).
//!
//! Kernels are written as plain loops over fixed-size lanes; compiled inside
//! [`vectorized`], they become AVX-512 (or AVX2) instructions. Only the vector width changes
//! between instruction sets, never the order of the arithmetic, so every entry point gives
//! the same bits.

/// Floats a kernel handles at once: one AVX-512 register, two AVX2 ones.
pub const LANES: usize = 16;
/// One value for each of [`LANES`] channels.
pub type Lane = [f32; LANES];
/// The lane at `at` in `s`.
#[inline(always)]
pub fn lane(s: &[f32], at: usize) -> &Lane {
    s[at..at + LANES].try_into().expect("a lane of floats")
}

/// The lane at `at` in `s`, to write.
#[inline(always)]
pub fn lane_mut(s: &mut [f32], at: usize) -> &mut Lane {
    (&mut s[at..at + LANES])
        .try_into()
        .expect("a lane of floats")
}

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

/// A value on a 64-byte boundary: a tile of lanes on the stack, each lane one cache line.
#[repr(C, align(64))]
pub struct Aligned<T>(pub T);

/// A piece of work to compile for the best instruction set the CPU has.
pub trait Kernel {
    /// What the work returns.
    type Output;
    /// Does the work; `#[inline(always)]`, as is everything it calls that should be
    /// vectorised.
    fn run(self) -> Self::Output;
}

/// Runs `kernel` inlined into pulp's entry point for AVX-512, AVX2 or plain x86-64, as this
/// CPU allows; the vector width follows, never the arithmetic, so every entry point gives
/// the same bits.
pub fn vectorized<K: Kernel>(kernel: K) -> K::Output {
    struct Entry<K>(K);
    impl<K: Kernel> pulp::WithSimd for Entry<K> {
        type Output = K::Output;
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) -> K::Output {
            self.0.run()
        }
    }
    pulp::Arch::new().dispatch(Entry(kernel))
}

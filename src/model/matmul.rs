//! A safe, bounds-checked front to the `gemm` crate's matrix multiply.
//!
//! The convolution layers spend nearly all of their time here. Views carry their strides, so
//! a transposed operand is a view, never a copy.

use gemm::Parallelism;

/// A read-only view of a row-major (or strided) f32 matrix.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A `rows x cols` matrix stored row by row at the start of `data`.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert!(
            data.len() >= rows * cols,
            "matrix view larger than its buffer"
        );
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// Rows `start..end` of this view.
    pub fn row_block(self, start: usize, end: usize) -> Self {
        assert!(
            start <= end && end <= self.rows,
            "row block outside the matrix"
        );
        let offset = if start < end {
            start * self.row_stride
        } else {
            0
        };
        Self {
            data: &self.data[offset..],
            rows: end - start,
            ..self
        }
    }

    /// Columns `start..end` of this view.
    pub fn col_block(self, start: usize, end: usize) -> Self {
        self.t().row_block(start, end).t()
    }

    /// The transpose of this view (no data moves).
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }
}

/// `dst (+)= lhs * rhs` through `gemm`, `dst` an `m x n` block with rows `dst_row_stride`
/// apart.
///
/// # Safety
/// `dst` must be valid for writes at every `(i, j)` with `i < lhs.rows`, `j < rhs.cols`, at
/// offset `i * dst_row_stride + j`, and no other thread may touch those elements meanwhile.
unsafe fn gemm_raw(
    dst: *mut f32,
    dst_row_stride: usize,
    lhs: MatRef<'_>,
    rhs: MatRef<'_>,
    accumulate: bool,
    parallelism: Parallelism,
) {
    // SAFETY: the caller guarantees `dst` as this function's contract says; `lhs` and `rhs`
    // are borrowed slices whose strides and sizes `MatRef` keeps consistent.
    unsafe {
        gemm::gemm(
            lhs.rows,
            rhs.cols,
            lhs.cols,
            dst,
            1,
            dst_row_stride as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        )
    };
}

/// `dst[m x n] (+)= lhs[m x k] * rhs[k x n]`, `dst` row-major with `n` columns.
///
/// With `accumulate` the product is added to what `dst` holds; otherwise `dst` is overwritten.
pub fn matmul(
    dst: &mut [f32],
    lhs: MatRef<'_>,
    rhs: MatRef<'_>,
    accumulate: bool,
    parallelism: Parallelism,
) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(k, rhs.rows, "inner dimensions differ");
    assert!(dst.len() >= m * n, "destination smaller than the product");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    // SAFETY: the asserts above and in `MatRef::row_major` keep every index the kernel reads
    // or writes inside the borrowed slices: the largest offset read is
    // (rows-1)*row_stride + (cols-1)*col_stride, which `row_major` bounded by `data.len()`.
    unsafe { gemm_raw(dst.as_mut_ptr(), n, lhs, rhs, accumulate, parallelism) }
}

/// [`matmul`] with the rows of `dst` (and `lhs`) split into one block per rayon thread, each
/// block multiplied on one thread. For the dense layers' products this beats letting `gemm`
/// split the work itself, whose blocking suits larger matrices.
pub fn matmul_rows_parallel(dst: &mut [f32], lhs: MatRef<'_>, rhs: MatRef<'_>, accumulate: bool) {
    use rayon::prelude::*;
    let (m, n) = (lhs.rows, rhs.cols);
    assert!(dst.len() >= m * n, "destination smaller than the product");
    let blocks = rayon::current_num_threads().clamp(1, m.max(1));
    let per_block = m.div_ceil(blocks).max(1);
    dst[..m * n]
        .par_chunks_mut(per_block * n.max(1))
        .enumerate()
        .for_each(|(i, block)| {
            let start = i * per_block;
            let end = (start + per_block).min(m);
            let lhs = lhs.row_block(start, end);
            matmul(block, lhs, rhs, accumulate, Parallelism::None);
        });
}

/// A raw pointer that may cross threads; each thread writes a disjoint part of it.
#[derive(Clone, Copy)]
struct SharedDst(*mut f32);
// SAFETY: `matmul_cols_parallel` hands each thread a disjoint set of columns.
unsafe impl Send for SharedDst {}
// SAFETY: as for `Send`: no two threads touch the same element.
unsafe impl Sync for SharedDst {}

impl SharedDst {
    /// The pointer `offset` elements in (taking `self` whole, so closures capture the
    /// `Send` wrapper rather than the bare pointer).
    ///
    /// # Safety
    /// `offset` must stay inside the allocation.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        // SAFETY: the caller keeps `offset` inside the allocation.
        unsafe { self.0.add(offset) }
    }
}

/// [`matmul`] with the columns of `dst` (and `rhs`) split into one block per rayon thread.
/// Each thread reads only its share of `rhs`: for a product whose right operand is a large
/// weight matrix, that halves the memory traffic of splitting by rows.
pub fn matmul_cols_parallel(dst: &mut [f32], lhs: MatRef<'_>, rhs: MatRef<'_>, accumulate: bool) {
    use rayon::prelude::*;
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(k, rhs.rows, "inner dimensions differ");
    assert!(dst.len() >= m * n, "destination smaller than the product");
    if m == 0 || n == 0 || k == 0 {
        return matmul(dst, lhs, rhs, accumulate, Parallelism::None);
    }
    let blocks = rayon::current_num_threads().clamp(1, n);
    let per_block = n.div_ceil(blocks);
    let dst_ptr = SharedDst(dst.as_mut_ptr());
    (0..blocks).into_par_iter().for_each(|block| {
        let (start, end) = (block * per_block, ((block + 1) * per_block).min(n));
        if start >= end {
            return;
        }
        let rhs = rhs.col_block(start, end);
        // SAFETY: this thread writes rows 0..m of columns start..end of the m x n row-major
        // `dst`, whose length was checked above; no other thread writes those columns. The
        // operands are bounds-checked views (see `matmul`).
        unsafe {
            gemm_raw(
                dst_ptr.at(start),
                n,
                lhs,
                rhs,
                accumulate,
                Parallelism::None,
            )
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        out
    }

    #[test]
    fn plain_and_transposed_products_match_the_definition() {
        let (m, k, n) = (3, 5, 4);
        let a: Vec<f32> = (0..m * k).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32).sin()).collect();
        let want = naive(&a, &b, m, k, n);

        let mut got = vec![0.0; m * n];
        matmul(
            &mut got,
            MatRef::row_major(&a, m, k),
            MatRef::row_major(&b, k, n),
            false,
            Parallelism::None,
        );
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-4, "{g} vs {w}");
        }

        // b stored transposed (n x k) and viewed back as k x n.
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let mut acc = vec![1.0; m * n];
        matmul(
            &mut acc,
            MatRef::row_major(&a, m, k),
            MatRef::row_major(&bt, n, k).t(),
            true,
            Parallelism::None,
        );
        for (g, w) in acc.iter().zip(&want) {
            assert!((g - (w + 1.0)).abs() < 1e-4, "{g} vs {}", w + 1.0);
        }
    }

    #[test]
    fn row_parallel_product_matches_the_plain_one() {
        let (m, k, n) = (7, 6, 5);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).cos()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).sin()).collect();
        let want = naive(&a, &b, m, k, n);
        let mut got = vec![0.0; m * n];
        matmul_rows_parallel(
            &mut got,
            MatRef::row_major(&a, m, k),
            MatRef::row_major(&b, k, n),
            false,
        );
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-4, "{g} vs {w}");
        }
        let mut by_cols = vec![1.0; m * n];
        matmul_cols_parallel(
            &mut by_cols,
            MatRef::row_major(&a, m, k),
            MatRef::row_major(&b, k, n),
            true,
        );
        for (g, w) in by_cols.iter().zip(&want) {
            assert!((g - (w + 1.0)).abs() < 1e-4, "{g} vs {}", w + 1.0);
        }
        // Transposed left operand: rows of a^T are columns of a.
        let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let mut got = vec![0.0; m * n];
        matmul_rows_parallel(
            &mut got,
            MatRef::row_major(&at, k, m).t(),
            MatRef::row_major(&b, k, n),
            false,
        );
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-4, "{g} vs {w}");
        }
    }
}

//! Bounds-checked matrix products over strided f32 slices, on the `gemm` crate (the kernel
//! candle's own CPU matmul calls). The fused encoder layer multiplies views that candle can
//! only express through transposed copies: one head's columns of a `[tokens, hidden]`
//! matrix, or a weight read as its transpose.

use gemm::Parallelism;

/// A read-only matrix view: element `(r, c)` is `data[r * row_stride + c * col_stride]`.
#[derive(Debug, Clone, Copy)]
pub struct Mat<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Mat<'a> {
    /// A row-major `rows x cols` block whose rows are `row_stride` apart.
    pub fn rows(data: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        let m = Self {
            data,
            rows,
            cols,
            row_stride,
            col_stride: 1,
        };
        m.check_bounds();
        m
    }

    /// A contiguous row-major `rows x cols` matrix.
    pub fn dense(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::rows(data, rows, cols, cols)
    }

    /// The transpose, without copying.
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Rows of the view.
    pub fn height(&self) -> usize {
        self.rows
    }

    /// Columns of the view.
    pub fn width(&self) -> usize {
        self.cols
    }

    /// The slice, and the distances between rows and between columns in it.
    pub fn parts(&self) -> (&'a [f32], usize, usize) {
        (self.data, self.row_stride, self.col_stride)
    }

    /// Element `(r, c)` (panics outside the slice).
    #[inline]
    pub fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.row_stride + c * self.col_stride]
    }

    fn check_bounds(&self) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride;
            assert!(last < self.data.len(), "matrix view past the end of its slice");
        }
    }
}

/// A writable row-major matrix view (rows `row_stride >= cols` apart, so no two elements
/// alias).
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
}

impl<'a> MatMut<'a> {
    /// A row-major `rows x cols` block whose rows are `row_stride` apart.
    pub fn rows(data: &'a mut [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        assert!(
            row_stride >= cols || rows <= 1,
            "rows of a writable view must not overlap"
        );
        if rows > 0 && cols > 0 {
            assert!(
                (rows - 1) * row_stride + cols <= data.len(),
                "matrix view past the end of its slice"
            );
        }
        Self {
            data,
            rows,
            cols,
            row_stride,
        }
    }

    /// A contiguous row-major `rows x cols` matrix.
    pub fn dense(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::rows(data, rows, cols, cols)
    }

    /// Rows of the view.
    pub fn height(&self) -> usize {
        self.rows
    }

    /// Columns of the view.
    pub fn width(&self) -> usize {
        self.cols
    }

    /// Distance between the starts of two rows.
    pub fn row_stride(&self) -> usize {
        self.row_stride
    }

    /// The slice the view lies in: row `r`'s columns start at `r * row_stride`.
    pub fn into_data(self) -> &'a mut [f32] {
        self.data
    }
}

/// Whether one product may split across the rayon pool. Products that already run inside
/// a parallel loop (one attention head each) stay on their thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// On the calling thread.
    One,
    /// Split across the rayon pool.
    Pool,
}

/// What a product does with what its destination holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// `dst = lhs * rhs`.
    Replace,
    /// `dst += lhs * rhs`.
    Add,
}

/// `dst = lhs * rhs`, or `dst += lhs * rhs`, as `write` says.
pub fn matmul(dst: MatMut<'_>, lhs: Mat<'_>, rhs: Mat<'_>, write: Write, threads: Threads) {
    let accumulate = write == Write::Add;
    assert_eq!(lhs.rows, dst.rows, "matmul: lhs rows");
    assert_eq!(rhs.cols, dst.cols, "matmul: rhs columns");
    assert_eq!(lhs.cols, rhs.rows, "matmul: inner dimensions");
    if dst.rows == 0 || dst.cols == 0 {
        return;
    }
    if lhs.cols == 0 {
        if !accumulate {
            for r in 0..dst.rows {
                dst.data[r * dst.row_stride..][..dst.cols].fill(0.0);
            }
        }
        return;
    }
    let parallelism = match threads {
        Threads::Pool if rayon::current_num_threads() > 1 => Parallelism::Rayon(rayon::current_num_threads()),
        _ => Parallelism::None,
    };
    let stride = |s: usize| s as isize;
    // SAFETY: every view was bounds-checked on construction for its rows, columns and
    // strides, and the dimensions agree (asserted above), so gemm reads and writes only
    // inside the three slices. `dst` is a unique borrow whose elements do not alias each
    // other (row stride >= columns) and cannot alias the shared `lhs` and `rhs`.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            dst.rows,
            dst.cols,
            lhs.cols,
            dst.data.as_mut_ptr(),
            1,
            stride(dst.row_stride),
            accumulate,
            lhs.data.as_ptr(),
            stride(lhs.col_stride),
            stride(lhs.row_stride),
            rhs.data.as_ptr(),
            stride(rhs.col_stride),
            stride(rhs.row_stride),
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        out
    }

    #[test]
    fn strided_views_and_transposes_multiply_like_the_definition() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let expect = naive(&a, &b, m, k, n);
        // b stored transposed ([n, k]), read through `t()`.
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        // The result written into columns 2..5 of a wider matrix, on top of ones.
        let mut wide = vec![1f32; m * 8];
        matmul(
            MatMut::rows(&mut wide[2..], m, n, 8),
            Mat::dense(&a, m, k),
            Mat::dense(&bt, n, k).t(),
            Write::Add,
            Threads::Pool,
        );
        for i in 0..m {
            for j in 0..n {
                let got = wide[i * 8 + 2 + j];
                assert!((got - 1.0 - expect[i * n + j]).abs() < 1e-5, "({i},{j}) {got}");
            }
            assert_eq!(wide[i * 8], 1.0, "columns outside the view are untouched");
        }
    }

    #[test]
    #[should_panic(expected = "past the end")]
    fn a_view_larger_than_its_slice_is_refused() {
        let data = [0f32; 10];
        let _ = Mat::rows(&data, 3, 4, 4);
    }
}

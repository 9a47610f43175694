//! Small dense linear algebra: a Cholesky factorisation that drops
//! (aliases) columns that are linearly dependent on earlier ones, as R's
//! `lm` does with its pivoted QR.

/// Relative tolerance below which a pivot counts as zero (collinear column).
const ALIAS_TOL: f64 = 1e-10;

/// Cholesky factor `L` of a symmetric positive semi-definite `K × K` matrix,
/// with aliased columns set to zero.
#[derive(Debug, Clone)]
pub(crate) struct Cholesky {
    k: usize,
    /// Row-major lower triangle.
    l: Vec<f64>,
    aliased: Vec<bool>,
}

impl Cholesky {
    /// Factorises the row-major `k × k` matrix `a`.
    pub(crate) fn new(a: &[f64], k: usize) -> Self {
        debug_assert_eq!(a.len(), k * k);
        let mut l = vec![0.0; k * k];
        let mut aliased = vec![false; k];
        for j in 0..k {
            let ajj = a[j * k + j];
            let mut d = ajj;
            for p in 0..j {
                d -= l[j * k + p] * l[j * k + p];
            }
            if ajj.is_nan() || ajj <= 0.0 || d <= ALIAS_TOL * ajj {
                aliased[j] = true;
                continue;
            }
            let ljj = d.sqrt();
            l[j * k + j] = ljj;
            for i in (j + 1)..k {
                let mut s = a[i * k + j];
                for p in 0..j {
                    s -= l[i * k + p] * l[j * k + p];
                }
                l[i * k + j] = s / ljj;
            }
        }
        Cholesky { k, l, aliased }
    }

    /// Whether column `j` is linearly dependent on the earlier columns.
    pub(crate) fn is_aliased(&self, j: usize) -> bool {
        self.aliased[j]
    }

    /// Number of non-aliased columns.
    pub(crate) fn rank(&self) -> usize {
        self.aliased.iter().filter(|a| !**a).count()
    }

    /// Solves `A x = b` on the non-aliased columns; aliased entries of `x` are 0.
    #[allow(clippy::needless_range_loop)] // triangular solves read best indexed
    pub(crate) fn solve(&self, b: &[f64]) -> Vec<f64> {
        let k = self.k;
        let mut z = vec![0.0; k];
        for i in 0..k {
            if self.aliased[i] {
                continue;
            }
            let mut s = b[i];
            for p in 0..i {
                s -= self.l[i * k + p] * z[p];
            }
            z[i] = s / self.l[i * k + i];
        }
        for i in (0..k).rev() {
            if self.aliased[i] {
                continue;
            }
            let mut s = z[i];
            for p in (i + 1)..k {
                s -= self.l[p * k + i] * z[p];
            }
            z[i] = s / self.l[i * k + i];
        }
        z
    }

    /// The (generalised) inverse, row-major; rows and columns of aliased
    /// columns are zero.
    pub(crate) fn inverse(&self) -> Vec<f64> {
        let k = self.k;
        let mut inv = vec![0.0; k * k];
        let mut e = vec![0.0; k];
        for j in 0..k {
            e.fill(0.0);
            e[j] = 1.0;
            let col = self.solve(&e);
            for i in 0..k {
                inv[i * k + j] = col[i];
            }
        }
        inv
    }
}

#[cfg(test)]
mod tests {
    use super::Cholesky;

    #[test]
    fn solves_a_small_system() {
        // A = [[4, 2], [2, 3]], b = (2, 1): x = (1/2, 0).
        let c = Cholesky::new(&[4.0, 2.0, 2.0, 3.0], 2);
        let x = c.solve(&[2.0, 1.0]);
        assert!((x[0] - 0.5).abs() < 1e-15 && x[1].abs() < 1e-15, "{x:?}");
        // inverse = 1/8 · [[3, −2], [−2, 4]]
        let inv = c.inverse();
        let want = [0.375, -0.25, -0.25, 0.5];
        for (a, b) in inv.iter().zip(want) {
            assert!((a - b).abs() < 1e-15);
        }
        assert_eq!(c.rank(), 2);
    }

    #[test]
    fn drops_a_collinear_column() {
        // Columns x1 = (1, 1, 0), x2 = 2·x1, x3 = (0, 1, 1): X'X below.
        let xtx = [2.0, 4.0, 1.0, 4.0, 8.0, 2.0, 1.0, 2.0, 2.0];
        let c = Cholesky::new(&xtx, 3);
        assert!(c.is_aliased(1) && !c.is_aliased(0) && !c.is_aliased(2));
        assert_eq!(c.rank(), 2);
        // Regress y = (1, 2, 3) on x1, x3: X'y = (3, 6, 5) → [[2,1],[1,2]] β = (3, 5) → β = (1/3, 7/3).
        let x = c.solve(&[3.0, 6.0, 5.0]);
        assert!(
            (x[0] - 1.0 / 3.0).abs() < 1e-14 && x[1] == 0.0 && (x[2] - 7.0 / 3.0).abs() < 1e-14
        );
    }
}

//! Turning channel-first planes channel-last and back, in blocks that keep both sides'
//! accesses running along memory.

/// Side of the blocks [`transpose_into`] moves.
const BLOCK: usize = 8;

/// For `rows x columns` values read at `src[r * stride + c]`, applies `put` to
/// `dst[c * rows + r]` and the value. Blocks of 8 x 8 are copied whole into registers and
/// out transposed, so that reads and writes both run along memory (an element at a time,
/// one side strides across it, a cache line an element); the edges go one by one.
#[inline(always)]
pub fn transpose_into<A: Copy + Default, B>(
    src: &[A],
    stride: usize,
    (rows, columns): (usize, usize),
    dst: &mut [B],
    put: impl Fn(&mut B, A) + Copy,
) {
    for r0 in (0..rows).step_by(BLOCK) {
        let height = BLOCK.min(rows - r0);
        let mut c0 = 0;
        while height == BLOCK && c0 + BLOCK <= columns {
            let mut block = [[A::default(); BLOCK]; BLOCK];
            for (k, row) in block.iter_mut().enumerate() {
                row.copy_from_slice(&src[(r0 + k) * stride + c0..][..BLOCK]);
            }
            for c in 0..BLOCK {
                let out = &mut dst[(c0 + c) * rows + r0..][..BLOCK];
                for (k, d) in out.iter_mut().enumerate() {
                    put(d, block[k][c]);
                }
            }
            c0 += BLOCK;
        }
        for c in c0..columns {
            for r in r0..r0 + height {
                put(&mut dst[c * rows + r], src[r * stride + c]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_lands_at_its_transposed_place_edges_included() {
        // Sizes with and without whole blocks, and a source wider than its rows.
        for (rows, columns, stride) in [(16, 24, 24), (13, 7, 9), (32, 196, 200), (1, 1, 1)] {
            let src: Vec<u32> = (0..rows * stride).map(|i| i as u32).collect();
            let mut dst = vec![u64::MAX; rows * columns];
            transpose_into(&src, stride, (rows, columns), &mut dst, |d, s| {
                *d = u64::from(s)
            });
            for r in 0..rows {
                for c in 0..columns {
                    assert_eq!(
                        dst[c * rows + r],
                        u64::from(src[r * stride + c]),
                        "{r}, {c}"
                    );
                }
            }
        }
    }
}

//! Tensor layouts: a stored `[in, out]` weight transposed, a fused QKV split in q, k
//! and v.

use super::names::QkvLayout;

/// `[rows, cols]` row-major to `[cols, rows]`.
pub(super) fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// Splits a fused `[3 * width, in]` QKV weight (rows in `layout`) into q, k and v rows.
pub fn split_qkv(
    values: &[f32],
    rows: usize,
    cols: usize,
    layout: QkvLayout,
    heads: usize,
) -> Option<[Vec<f32>; 3]> {
    if !rows.is_multiple_of(3) || values.len() != rows * cols {
        return None;
    }
    let width = rows / 3;
    let mut parts: [Vec<f32>; 3] = Default::default();
    match layout {
        QkvLayout::Blocks => {
            for (which, part) in parts.iter_mut().enumerate() {
                *part = values[which * width * cols..(which + 1) * width * cols].to_vec();
            }
        }
        QkvLayout::PerHead => {
            if heads == 0 || !width.is_multiple_of(heads) {
                return None;
            }
            let head_dim = width / heads;
            for row in 0..rows {
                let which = (row / head_dim) % 3;
                parts[which].extend_from_slice(&values[row * cols..(row + 1) * cols]);
            }
        }
    }
    Some(parts)
}

//! Accuracy and speed of burn-flex 0.22.1 before/after the patches in `patches/`
//! (`burn-flex-empty-once.patch`, `burn-flex-vector-exp-erf.patch`). Built and run by
//! `benchmarks/flex-ops.sh`, which puts the registry crate in as `flex_before` and the
//! patched copy as `flex_after`. Prints markdown; exits 1 when an accuracy bound fails.

use std::hint::black_box;
use std::time::Instant;

use burn_backend::ops::{ActivationOps, FloatTensorOps};
use burn_backend::{FloatDType, Shape, TensorData};

/// The same helpers for both crates (their `Flex`/`FlexTensor` are distinct types).
macro_rules! flex_api {
    ($module:ident, $krate:ident) => {
        mod $module {
            use super::*;
            pub use $krate::FlexTensor as T;
            use $krate::{Flex, FlexDevice};

            pub fn tensor(data: &[f32], shape: &[usize]) -> T {
                T::from_data(TensorData::new(data.to_vec(), shape.to_vec()))
            }
            pub fn values(t: T) -> Vec<f32> {
                t.into_data().try_into_vec::<f32>().unwrap()
            }
            pub fn exp(t: T) -> T {
                Flex::float_exp(t)
            }
            pub fn gelu(t: T) -> T {
                Flex::gelu(t)
            }
            pub fn gelu_backward(x: T, grad: T) -> T {
                Flex::gelu_backward(x, grad)
            }
            pub fn softmax(t: T, dim: usize) -> T {
                Flex::softmax(t, dim)
            }
            pub fn matmul(a: T, b: T) -> T {
                Flex::float_matmul(a, b)
            }
            pub fn zeros(shape: &[usize]) -> T {
                Flex::float_zeros(Shape::from(shape.to_vec()), &FlexDevice, FloatDType::F32)
            }
            pub fn add_scalar(t: T, v: f32) -> T {
                Flex::float_add_scalar(t, v.into())
            }
        }
    };
}

flex_api!(before, flex_before);
flex_api!(after, flex_after);

/// Distance in ulp between two finite f32 of the same sign (or zero).
fn ulp_diff(a: f32, b: f32) -> u64 {
    let key = |x: f32| {
        let b = x.to_bits() as i64;
        if b < 0x8000_0000 { b } else { 0x8000_0000 - b }
    };
    (key(a) - key(b)).unsigned_abs()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// Every 997th finite f32 bit pattern plus special and edge values.
fn sweep_inputs() -> Vec<f32> {
    let mut xs: Vec<f32> = (0..=u32::MAX)
        .step_by(997)
        .map(f32::from_bits)
        .filter(|x| x.is_finite())
        .collect();
    xs.extend([
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -f32::NAN,
        -87.3,
        -87.33654,
        -87.33655,
        -87.5,
        -103.0,
        -104.0,
        -1e9,
        88.3,
        88.38,
        88.7,
        88.72283,
        88.72284,
        89.0,
        100.0,
        1e-45,
        -1e-45,
        1e-38,
        -1e-38,
        f32::MIN_POSITIVE,
        f32::MAX,
        f32::MIN,
    ]);
    // A dense band over the range that matters for training.
    xs.extend((0..200_000).map(|i| -100.0 + i as f32 * 0.000_95));
    xs
}

fn accuracy() -> bool {
    let mut ok = true;
    let mut check = |cond: bool, what: &str| {
        if !cond {
            println!("- **FAIL**: {what}");
            ok = false;
        }
    };
    let xs = sweep_inputs();
    let n = xs.len();
    println!("## Accuracy\n");
    println!("{n} inputs: every 997th f32 bit pattern (finite), specials, and [-100, 90] dense.\n");

    // exp through the tensor op (the vectorised slice kernel on the after side).
    let want = before::values(before::exp(before::tensor(&xs, &[n])));
    let got = after::values(after::exp(after::tensor(&xs, &[n])));
    let mut max_ulp = 0u64;
    let mut worst = 0.0f32;
    let (mut flushed, mut bad_special) = (0usize, Vec::new());
    for ((&x, &w), &g) in xs.iter().zip(&want).zip(&got) {
        if w.is_nan() {
            if !g.is_nan() {
                bad_special.push(x);
            }
        } else if w.is_infinite() || w == 0.0 {
            if g != w {
                bad_special.push(x);
            }
        } else if w < f32::MIN_POSITIVE {
            // Subnormal result: the patch flushes these to 0 (x < ln(f32::MIN_POSITIVE)).
            if g != 0.0 && g != w {
                bad_special.push(x);
            }
            flushed += 1;
        } else {
            let u = ulp_diff(g, w);
            if u > max_ulp {
                max_ulp = u;
                worst = x;
            }
        }
    }
    // The tensor kernel and the scalar function must agree bit for bit.
    let scalar_mismatch = xs
        .iter()
        .zip(&got)
        .filter(|&(&x, &g)| flex_after::ops::vmath::exp_f32(x).to_bits() != g.to_bits())
        .count();
    let exp_at = |x: f32| after::values(after::exp(after::tensor(&[x], &[1])))[0];
    println!(
        "- exp: max error {max_ulp} ulp vs glibc `expf` where its result is normal (worst at x = {worst:e})"
    );
    println!("- exp: {flushed} inputs with a subnormal glibc result give 0 (flushed)");
    println!(
        "- exp: exp(-inf) = {}, exp(NaN) = {}, exp(100) = {}, exp(88.72283) = {:e}, exp(-87.3) = {:e}",
        exp_at(f32::NEG_INFINITY),
        exp_at(f32::NAN),
        exp_at(100.0),
        exp_at(88.72283),
        exp_at(-87.3)
    );
    println!("- exp: tensor kernel vs scalar `vmath::exp_f32`: {scalar_mismatch} bit mismatches");
    check(max_ulp <= 2, "exp worse than 2 ulp");
    check(
        bad_special.is_empty(),
        &format!("exp special cases differ at {bad_special:?}"),
    );
    check(exp_at(f32::NEG_INFINITY) == 0.0, "exp(-inf) != 0");
    check(exp_at(f32::NAN).is_nan(), "exp(NaN) is not NaN");
    check(exp_at(100.0) == f32::INFINITY, "exp(100) != inf");
    check(
        scalar_mismatch == 0,
        "exp slice kernel differs from the scalar function",
    );

    // erf: the patch keeps `float_erf` on libm; the new erf is used inside GELU.
    let (mut max_abs, mut worst) = (0.0f32, 0.0f32);
    let (mut max_ulp_small, mut worst_small) = (0u64, 0.0f32);
    let mut erf_nan_ok = true;
    for &x in &xs {
        let w = flex_before::ops::unary::erf_f32(x);
        let g = flex_after::ops::vmath::erf_f32(x);
        if w.is_nan() || g.is_nan() {
            erf_nan_ok &= w.is_nan() && g.is_nan();
            continue;
        }
        let d = (g - w).abs();
        if d > max_abs {
            max_abs = d;
            worst = x;
        }
        if x.abs() < 0.5 && w != 0.0 {
            let u = ulp_diff(g, w);
            if u > max_ulp_small {
                max_ulp_small = u;
                worst_small = x;
            }
        }
    }
    println!("- erf: max abs error {max_abs:.3e} vs libm `erff` (worst at x = {worst:e})");
    println!("- erf: max error {max_ulp_small} ulp for |x| < 0.5 (worst at x = {worst_small:e})");
    check(max_abs <= 2e-7, "erf abs error > 2e-7");
    check(erf_nan_ok, "erf NaN handling differs");

    // GELU and its gradient on [-10, 10].
    let m = 200_001;
    let grid: Vec<f32> = (0..m).map(|i| -10.0 + i as f32 * 1e-4).collect();
    let ones = vec![1.0f32; m];
    let g_before = before::values(before::gelu(before::tensor(&grid, &[m])));
    let g_after = after::values(after::gelu(after::tensor(&grid, &[m])));
    let gb_before = before::values(before::gelu_backward(
        before::tensor(&grid, &[m]),
        before::tensor(&ones, &[m]),
    ));
    let gb_after = after::values(after::gelu_backward(
        after::tensor(&grid, &[m]),
        after::tensor(&ones, &[m]),
    ));
    println!(
        "- gelu: max abs difference {:.3e} on [-10, 10]",
        max_abs_diff(&g_before, &g_after)
    );
    println!(
        "- gelu_backward (grad = 1): max abs difference {:.3e} on [-10, 10]",
        max_abs_diff(&gb_before, &gb_after)
    );

    // Softmax rows with a causal-style -inf mask.
    let (rows, cols) = (512, 256);
    let mut data: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 7919) % 1000) as f32 * 0.02 - 10.0)
        .collect();
    for r in 0..rows {
        for c in (r % cols) + 1..cols {
            data[r * cols + c] = f32::NEG_INFINITY;
        }
    }
    let s_before = before::values(before::softmax(before::tensor(&data, &[rows, cols]), 1));
    let s_after = after::values(after::softmax(after::tensor(&data, &[rows, cols]), 1));
    let masked_zero = data
        .iter()
        .zip(&s_after)
        .all(|(&x, &s)| x != f32::NEG_INFINITY || s == 0.0);
    println!(
        "- softmax [512, 256] with -inf mask: max abs difference {:.3e}, masked entries exactly 0: {masked_zero}",
        max_abs_diff(&s_before, &s_after)
    );
    check(masked_zero, "softmax masked entries are not 0");
    println!();
    ok
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

const WARMUP: usize = 2;
const REPS: usize = 15;

/// Times `before` and `after` alternately; `prep_*` build each rep's inputs (untimed),
/// outputs are dropped after the clock stops.
#[allow(clippy::too_many_arguments)]
fn bench<IB, IA, OB, OA>(
    op: &str,
    shape: &str,
    mut prep_b: impl FnMut() -> IB,
    mut run_b: impl FnMut(IB) -> OB,
    mut prep_a: impl FnMut() -> IA,
    mut run_a: impl FnMut(IA) -> OA,
) {
    let (mut tb, mut ta) = (Vec::new(), Vec::new());
    for rep in 0..WARMUP + REPS {
        let input = prep_b();
        let t0 = Instant::now();
        let out = black_box(run_b(black_box(input)));
        let dt_b = t0.elapsed().as_secs_f64() * 1e3;
        drop(out);
        let input = prep_a();
        let t0 = Instant::now();
        let out = black_box(run_a(black_box(input)));
        let dt_a = t0.elapsed().as_secs_f64() * 1e3;
        drop(out);
        if rep >= WARMUP {
            tb.push(dt_b);
            ta.push(dt_a);
        }
    }
    let (b, a) = (median(tb), median(ta));
    println!("| {op} | {shape} | {b:.3} | {a:.3} | {:.2}x |", b / a);
}

fn pseudo_random(n: usize, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

fn speed() {
    println!("## Speed\n");
    println!(
        "Median of {REPS} runs after {WARMUP} warm-ups, before and after alternating in one \
         process, RAYON_NUM_THREADS={}.\n",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".into())
    );
    println!("| op | shape | before ms | after ms | after/before speed-up |");
    println!("|---|---|---:|---:|---:|");

    let s4 = [16, 4, 256, 256];
    let n4: usize = s4.iter().product();
    let scores = pseudo_random(n4, -12.0, 4.0);
    let (sb, sa) = (before::tensor(&scores, &s4), after::tensor(&scores, &s4));
    // A fresh unique tensor per rep (built untimed) takes flex's in-place path; a clone
    // of a kept tensor is shared and gets a new output buffer.
    bench(
        "exp (unique input, in place)",
        "[16,4,256,256]",
        || before::tensor(&scores, &s4),
        before::exp,
        || after::tensor(&scores, &s4),
        after::exp,
    );
    bench(
        "exp (shared input, new buffer)",
        "[16,4,256,256]",
        || sb.clone(),
        before::exp,
        || sa.clone(),
        after::exp,
    );
    bench(
        "softmax (last dim)",
        "[16,4,256,256]",
        || sb.clone(),
        |t| before::softmax(t, 3),
        || sa.clone(),
        |t| after::softmax(t, 3),
    );

    let s3 = [16, 256, 512];
    let n3: usize = s3.iter().product();
    let acts = pseudo_random(n3, -6.0, 6.0);
    let grads = pseudo_random(n3, -1.0, 1.0);
    let (ab, aa) = (before::tensor(&acts, &s3), after::tensor(&acts, &s3));
    // In training, autodiff keeps gelu's input for the backward pass: shared.
    bench(
        "gelu (shared input)",
        "[16,256,512]",
        || ab.clone(),
        before::gelu,
        || aa.clone(),
        after::gelu,
    );
    bench(
        "gelu (unique input, in place)",
        "[16,256,512]",
        || before::tensor(&acts, &s3),
        before::gelu,
        || after::tensor(&acts, &s3),
        after::gelu,
    );
    bench(
        "gelu_backward (x shared, grad unique)",
        "[16,256,512]",
        || (ab.clone(), before::tensor(&grads, &s3)),
        |(x, g)| before::gelu_backward(x, g),
        || (aa.clone(), after::tensor(&grads, &s3)),
        |(x, g)| after::gelu_backward(x, g),
    );
    drop((ab, aa, sb, sa));

    let lhs = pseudo_random(4096 * 128, -1.0, 1.0);
    let rhs = pseudo_random(128 * 512, -1.0, 1.0);
    let (lb, rb) = (
        before::tensor(&lhs, &[4096, 128]),
        before::tensor(&rhs, &[128, 512]),
    );
    let (la, ra) = (
        after::tensor(&lhs, &[4096, 128]),
        after::tensor(&rhs, &[128, 512]),
    );
    bench(
        "matmul (output from `empty`)",
        "[16*256,128]x[128,512]",
        || (lb.clone(), rb.clone()),
        |(l, r)| before::matmul(l, r),
        || (la.clone(), ra.clone()),
        |(l, r)| after::matmul(l, r),
    );
    bench(
        "zeros (`empty`)",
        "[4096,512]",
        || (),
        |_| before::zeros(&[4096, 512]),
        || (),
        |_| after::zeros(&[4096, 512]),
    );
    // The lazily zeroed pages are only touched at the first write; this row includes it.
    bench(
        "zeros + add_scalar (first write)",
        "[4096,512]",
        || (),
        |_| before::add_scalar(before::zeros(&[4096, 512]), 1.0),
        || (),
        |_| after::add_scalar(after::zeros(&[4096, 512]), 1.0),
    );
    println!();
}

fn main() {
    let ok = accuracy();
    speed();
    if !ok {
        eprintln!("accuracy check failed");
        std::process::exit(1);
    }
}

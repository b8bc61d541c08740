//! bf16 against f32 matrix products on the BERT shapes, as the fused encoder layer runs them.
//!
//!     MIMALLOC_PURGE_DELAY=-1 cargo bench --bench bf16_gemm [-- ITERS]
//!
//! (`MIMALLOC_PURGE_DELAY=-1` keeps freed memory, as the `cmbert-tui` binary does through
//! mimalloc's option table; without it every output is faulted in afresh and the kernel's
//! page zeroing is timed with the products.)
//!
//! Each case alternates the f32 product and the bf16 one ITERS times (default 15, after 3
//! untimed rounds) in this one process, and prints the CPU, both medians, GFLOP/s and the
//! ratio bf16 / f32 (below 1: bf16 is faster). Cases: the layer's `linear` (the weight
//! packed or transposed inside the call, as in training) at 24 x 50 = 1200 tokens for
//! MiniLM (hidden 384, feed-forward 1536) and bert-base (768, 3072), and the attention of a
//! whole batch (24 sequences of 50 tokens, per-head products of 50 x 50 x head width).
//! Results: docs/BENCHMARKS.md, "bf16 products".

use std::time::Instant;

use cmbert::model::bf16::{Kernel, Products};
use cmbert::model::layer_kernels::{attention_forward, linear, linears_of_one_input, AttentionShape, Backward};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn values(len: usize, seed: f32) -> Vec<f32> {
    (0..len).map(|i| ((i as f32 + seed) * 0.618).sin()).collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Times `run` for both products, alternating; returns the medians (f32, bf16) in seconds.
fn alternate(iters: usize, bf16: Products, mut run: impl FnMut(Products)) -> (f64, f64) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..iters + 3 {
        for (products, times) in [(Products::F32, &mut a), (bf16, &mut b)] {
            let start = Instant::now();
            run(products);
            if i >= 3 {
                times.push(start.elapsed().as_secs_f64());
            }
        }
    }
    (median(a), median(b))
}

fn main() {
    let iters = std::env::args()
        .nth(1)
        .filter(|a| a != "--bench")
        .map_or(15, |a| a.parse().expect("ITERS: a whole number"));
    println!("CPU: {}", cmbert::bench::cpu_name());
    let Some(kernel) = Kernel::hardware() else {
        println!("no AVX512-BF16 on this CPU: bf16 products would run in f32, nothing to compare");
        return;
    };
    println!(
        "bf16 kernel: {}; {} threads; medians of {iters} alternating runs",
        kernel.name(),
        rayon::current_num_threads()
    );
    let bf16 = Products::Bf16(kernel);
    println!(
        "\n{:<34} {:>10} {:>10} {:>9} {:>9} {:>9}",
        "product", "f32 ms", "bf16 ms", "f32 GF/s", "bf16 GF/s", "bf16/f32"
    );
    let tokens = 24 * 50;
    let report = |name: &str, flops: f64, (f, b): (f64, f64)| {
        println!(
            "{name:<34} {:>10.2} {:>10.2} {:>9.0} {:>9.0} {:>9.2}",
            f * 1e3,
            b * 1e3,
            flops / f / 1e9,
            flops / b / 1e9,
            b / f
        );
    };
    for (model, hidden, ffn) in [("minilm", 384, 1536), ("bert-base", 768, 3072)] {
        for (what, k, n) in [
            ("q/k/v/out", hidden, hidden),
            ("ffn in", hidden, ffn),
            ("ffn out", ffn, hidden),
        ] {
            let x = values(tokens * k, 1.0);
            let w = values(n * k, 2.0);
            let bias = values(n, 3.0);
            let medians = alternate(iters, bf16, |p| {
                std::hint::black_box(linear(&x, tokens, &w, &bias, p));
            });
            let flops = 2.0 * (tokens * k * n) as f64;
            report(&format!("{model} {what} {tokens}x{k}x{n}"), flops, medians);
        }
    }
    // The query, key and value products of one input: bf16 both times, three `linear`s
    // (the input packed three times) against one packing shared by the three.
    println!(
        "\n{:<34} {:>10} {:>10} {:>9}",
        "bf16 q+k+v", "3 packs ms", "1 pack ms", "ratio"
    );
    for (model, hidden) in [("minilm", 384), ("bert-base", 768)] {
        let x = values(tokens * hidden, 1.0);
        let ws: Vec<Vec<f32>> = (0..3).map(|i| values(hidden * hidden, 2.0 + i as f32)).collect();
        let bias = values(hidden, 3.0);
        let (mut three, mut one) = (Vec::new(), Vec::new());
        for i in 0..iters + 3 {
            let start = Instant::now();
            for w in &ws {
                std::hint::black_box(linear(&x, tokens, w, &bias, bf16));
            }
            let separate = start.elapsed().as_secs_f64();
            let start = Instant::now();
            let affines = [
                (&ws[0][..], &bias[..]),
                (&ws[1][..], &bias[..]),
                (&ws[2][..], &bias[..]),
            ];
            std::hint::black_box(linears_of_one_input(&x, tokens, affines, bf16));
            let shared = start.elapsed().as_secs_f64();
            if i >= 3 {
                three.push(separate);
                one.push(shared);
            }
        }
        let (t, o) = (median(three), median(one));
        println!(
            "{:<34} {:>10.2} {:>10.2} {:>9.2}",
            format!("{model} 3x {tokens}x{hidden}x{hidden}"),
            t * 1e3,
            o * 1e3,
            o / t
        );
    }
    for (model, heads, head_dim) in [("minilm", 12, 32), ("bert-base", 12, 64)] {
        let shape = AttentionShape {
            batch: 24,
            len: 50,
            heads,
            head_dim,
        };
        let size = tokens * heads * head_dim;
        let (q, k, v) = (values(size, 4.0), values(size, 5.0), values(size, 6.0));
        let mask = vec![0f32; tokens];
        let medians = alternate(iters, bf16, |p| {
            std::hint::black_box(attention_forward(
                shape,
                (&q, &k, &v),
                &mask,
                0.125,
                None,
                p,
                Backward::Possible,
            ));
        });
        let flops = 2.0 * 2.0 * (24 * heads * 50 * 50 * head_dim) as f64;
        report(
            &format!("{model} attention 24x{heads} heads 50x50x{head_dim}"),
            flops,
            medians,
        );
    }
}

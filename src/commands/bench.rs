//! `cmbert-tui bench`: the command-line side of `crate::bench`.

use crate::commands::printer::tell;
use anyhow::Result;

use crate::cli::BenchArgs;

/// Runs `cmbert-tui bench` and prints the report (or JSON).
pub fn run(args: BenchArgs) -> Result<()> {
    // Must happen before candle starts its thread pools.
    std::env::set_var("RAYON_NUM_THREADS", args.threads.to_string());
    let opts = crate::bench::BenchOptions {
        sizes: args.size,
        batch: args.batch_size,
        len: args.max_len,
        iters: args.iters.max(1),
        warmup: args.warmup,
        torch_python: args.torch,
        torch_script: args.torch_script,
        threads: args.threads,
        precision: args.precision,
        minilm_weights: args.minilm,
    };
    let report = crate::bench::run(&opts, &mut std::io::stderr())?;
    if args.json {
        tell!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        super::printer::to_stdout(format_args!("{}", crate::bench::format_report(&report)));
    }
    Ok(())
}

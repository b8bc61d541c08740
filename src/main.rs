use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use cmbert::cli::{BenchArgs, Cli, Command, InspectArgs};

// Candle allocates and frees large buffers every step; glibc's allocator returns them to the
// OS each time (a third of a bert-base step in CANDLE-NOTES.md). mimalloc keeps them warm.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in the option enum of the mimalloc that libmimalloc-sys bundles
/// (mimalloc v3; the crate names no constant for it); a test checks its default of 1000 ms.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc hands freed memory back to the OS a while after it is freed (arenas later still),
/// and training faulted its buffers in again: a fifth of a MiniLM step was the kernel
/// zeroing pages (perf).
/// Keeping freed memory costs nothing at the peak, which is what training needs anyway.
#[allow(unsafe_code)]
fn keep_freed_memory() {
    // SAFETY: mi_option_set stores an integer in mimalloc's option table; it may be called
    // at any time, from any thread, and the value -1 ("never purge") is documented.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    };
    // A signal ended the app (ui/session.rs): once the command has saved and cleaned up,
    // end as that signal would have, so that the caller sees 130, 143 or 129.
    if let Some(signal) = cmbert::ui::session::ended_by_signal() {
        cmbert::ui::session::die_of(signal);
    }
    code
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Train(args)) => cmbert::commands::train::run(*args).map(drop),
        Some(Command::Eval(args)) => cmbert::commands::eval::run(args),
        Some(Command::Export(args)) => cmbert::commands::export::run(args),
        Some(Command::Corpus(args)) => cmbert::commands::corpus::run(args),
        Some(Command::Bench(args)) => bench(args),
        Some(Command::Inspect(args)) => inspect(args),
        Some(Command::Open(args)) => cmbert::commands::open::run(args),
        Some(Command::Features(args)) => cmbert::commands::features::run(args),
        None => cmbert::commands::default_run(),
    }
}

fn bench(args: BenchArgs) -> Result<()> {
    // Must happen before candle starts its thread pools.
    std::env::set_var("RAYON_NUM_THREADS", args.threads.to_string());
    let opts = cmbert::bench::BenchOptions {
        sizes: args.size,
        batch: args.batch_size,
        len: args.max_len,
        iters: args.iters.max(1),
        warmup: args.warmup,
        torch_python: args.torch,
        torch_script: args.torch_script,
        threads: args.threads,
    };
    let rows = cmbert::bench::run(&opts, &mut std::io::stderr())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", cmbert::bench::format_table(&rows));
    }
    Ok(())
}

fn inspect(args: InspectArgs) -> Result<()> {
    let ckpt = cmbert::checkpoint::Checkpoint::load(&args.checkpoint, &candle_core::Device::Cpu)
        .with_context(|| format!("cannot open checkpoint {}", args.checkpoint.display()))?;
    let params: usize = ckpt.tensors.values().map(|t| t.elem_count()).sum();
    println!("checkpoint  {}", ckpt.dir.display());
    println!("layout      {:?}", ckpt.layout);
    println!(
        "encoder     {} layers, hidden {}, {} heads, vocab {}",
        ckpt.bert.num_hidden_layers, ckpt.bert.hidden_size, ckpt.bert.num_attention_heads, ckpt.bert.vocab_size
    );
    match &ckpt.head {
        Some(h) => println!(
            "head        {} (cls-audio {}, audio dim {}, k {})",
            h.model, h.cls_audio, h.audio_dim, h.proj_dim
        ),
        None => println!("head        none (a pre-trained encoder: training adds a new head)"),
    }
    println!("vocabulary  {}", ckpt.vocab.display());
    println!("tensors     {} ({params} values)", ckpt.tensors.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    #[allow(unsafe_code)]
    fn the_purge_delay_option_is_the_one_defaulting_to_1000_ms() {
        // SAFETY: reads mimalloc's option table.
        let (delay, show_errors) = unsafe {
            (
                libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY),
                libmimalloc_sys::mi_option_get(libmimalloc_sys::mi_option_show_errors),
            )
        };
        assert_eq!(
            delay, 1000,
            "mi_option_purge_delay moved in the bundled mimalloc (v3 options.c)"
        );
        assert_eq!(show_errors, 0);
    }
}

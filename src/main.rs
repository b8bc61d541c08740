//! The `cmbert-tui` binary: parses the command line, runs the subcommand (`cmbert::commands`),
//! prints an error as one line and exits 2.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use cmbert::cli::{Cli, Command};

// Candle allocates and frees large buffers every step; glibc's allocator returns them to the
// OS each time (a third of a bert-base step: docs/CANDLE.md). mimalloc keeps them warm.
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

/// candle 0.11 splits element-wise ops of 64K values or more across its own pool of
/// spinning threads (`candle_core::utils::barrier_pool`), sized like rayon's. Our fused
/// kernels keep rayon's pool busy, so the two pools oversubscribe the cores, and candle's
/// caller spins waiting for a worker that has no core: the embeddings' sum and the fusion
/// head's last steps took 8-12 ms of a MiniLM forward pass instead of 5 (docs/BENCHMARKS.md,
/// "Issue 17, after the forward-pass fixes"). One thread for candle's pool (its documented
/// variable; it sizes nothing else) runs those ops on the calling thread. A user's own
/// setting is kept. Called first thing in `main`, before any other thread exists.
fn candle_ops_on_the_calling_thread() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

fn main() -> ExitCode {
    candle_ops_on_the_calling_thread();
    keep_freed_memory();
    let cli = Cli::parse_with_hints();
    let code = match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Never a panic when stderr is gone (a closed pipe): the exit status still says it.
            let _ = writeln!(
                std::io::stderr(),
                "error: {}",
                cmbert::commands::printer::printable(&cmbert::commands::printer::one_line(&err))
            );
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
        Some(Command::Bench(args)) => cmbert::commands::bench::run(args),
        Some(Command::Inspect(args)) => cmbert::commands::inspect::run(args),
        Some(Command::InspectData(args)) => cmbert::commands::inspect_data::run(args),
        Some(Command::Runs(args)) => cmbert::commands::runs::run(args),
        Some(Command::Open(args)) => cmbert::commands::open::run(args),
        Some(Command::Compare(args)) => cmbert::commands::compare::run(args),
        Some(Command::Features(args)) => cmbert::commands::features::run(args),
        None => cmbert::commands::default_run(),
    }
}

#[cfg(test)]
mod tests {
    /// The variable reaches candle: its element-wise pool gets no worker threads.
    #[test]
    fn candle_runs_its_element_wise_ops_on_the_calling_thread() {
        if std::env::var_os("CANDLE_NUM_THREADS").is_some() {
            println!("CANDLE_NUM_THREADS is set in this environment: the user's value is kept");
            return;
        }
        super::candle_ops_on_the_calling_thread();
        assert_eq!(candle_core::utils::barrier_pool().n_workers(), 0);
    }

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

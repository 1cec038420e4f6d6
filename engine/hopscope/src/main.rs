//! The `hopscope` command.

/// `print!` that returns the write error (a closed pipe, as with `| head`) instead of
/// panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// `println!` that returns the write error instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod backtest_cmd;
mod cli;
mod diagnose_cmd;
mod loadgen_cmd;
mod plugin_cmd;
mod quality_cmd;
mod rules_cmd;
mod serve_cmd;
mod simulate_cmd;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    if let cli::Command::Serve(args) = &cli.command {
        // The server logs on its own terms (info by default, JSON on request).
        return serve_cmd::main(args);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HOPSCOPE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        cli::Command::Diagnose(args) => diagnose_cmd::run(&args),
        cli::Command::Quality(args) => quality_cmd::run(&args),
        cli::Command::Rules(command) => rules_cmd::run(&command),
        cli::Command::Backtest(args) => backtest_cmd::run(&args),
        cli::Command::Simulate(args) => simulate_cmd::run(&args),
        cli::Command::Loadgen(args) => loadgen_cmd::run(&args),
        cli::Command::Serve(_) => unreachable!("handled above"),
        cli::Command::Plugin(command) => plugin_cmd::run(&command),
    };
    match result {
        Ok(code) => code,
        // The reader went away (`hopscope … | head`): nothing left to say.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

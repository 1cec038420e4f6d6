//! `hopscope serve`.

use std::process::ExitCode;

use hopscope_server::{Config, LogFormat};

use crate::cli::{LogFormatArg, ServeArgs};

fn config(args: &ServeArgs) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    config.apply_env(|name| std::env::var(name).ok())?;
    if let Some(v) = &args.listen {
        config.listen = v.clone();
    }
    if let Some(v) = &args.data_dir {
        config.data_dir = v.clone();
    }
    if let Some(v) = &args.public_url {
        config.public_url = Some(v.clone());
    }
    if let Some(f) = args.log_format {
        config.log_format = match f {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        };
    }
    Ok(config)
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HOPSCOPE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = ctrl_c.await;
}

pub fn main(args: &ServeArgs) -> ExitCode {
    let config = match config(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    init_logs(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let running = match hopscope_server::start(config).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let address = running.address;
        for keys in &running.created_keys {
            // Printed once: only their hashes are stored.
            eprintln!(
                "app `{}`: ingest key {} (for browsers), secret key {} (keep it private)",
                keys.app, keys.ingest, keys.secret
            );
        }
        if args.demo {
            let state = running.state.clone();
            let dir = args.demo_dir.clone();
            match tokio::task::spawn_blocking(move || hopscope_server::demo::load(&state, &dir)).await {
                Ok(Ok(ids)) => {
                    let keys = demo_keys(&running);
                    eprintln!("demo: {} example conferences in app `demo`:", ids.len());
                    for id in ids {
                        eprintln!(
                            "  curl -H 'Authorization: Bearer {keys}' http://{address}/v1/conferences/{id}"
                        );
                        eprintln!("  page: http://{address}/ui/conferences/{id}#key={keys}");
                    }
                }
                Ok(Err(e)) => eprintln!("demo: {e}"),
                Err(e) => eprintln!("demo: {e}"),
            }
        }
        eprintln!(
            "hopscope serving on http://{address} (API: http://{address}/v1/openapi.yaml); Ctrl-C stops"
        );
        shutdown_signal().await;
        eprintln!("stopping: finishing requests and evaluations in flight");
        running.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// The demo app's secret key, creating one if the app has none yet.
fn demo_keys(running: &hopscope_server::Running) -> String {
    hopscope_server::demo::secret_key(&running.state).unwrap_or_else(|e| format!("<{e}>"))
}

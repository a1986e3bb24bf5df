//! `coordinate-worker --nats-url URL --worker-id ID`: see [`coordinate::serve`].

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match coordinate::serve::run(coordinate::serve::Options::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coordinate-worker: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

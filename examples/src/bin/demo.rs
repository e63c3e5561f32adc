//! The livestar demo: todos, chat rooms, notifications and a dashboard on one server.
//!
//! ```text
//! cargo run -p livestar-examples --bin demo                   # http://127.0.0.1:3000
//! cargo run -p livestar-examples --bin demo -- --port 3001 --redis redis://127.0.0.1:6379
//! ```

use livestar_examples::demo::{Config, serve};

// mimalloc hands memory back to the system when connections close; with glibc's allocator a
// storm of 10,000 connections leaves hundreds of MB of freed, fragmented heap mapped.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tokio_postgres=warn,async_nats=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match Config::parse(std::env::args().skip(1)) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    match serve(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! The livestar demo: todos, chat rooms, notifications and a dashboard on one server.
//!
//! ```text
//! cargo run -p livestar-examples --bin demo                   # http://127.0.0.1:3000
//! cargo run -p livestar-examples --bin demo -- --port 3001 --redis redis://127.0.0.1:6379
//! cargo run -p livestar-examples --bin demo -- --tls         # https://127.0.0.1:3000, HTTP/2
//! ```

use livestar_examples::demo::{Config, serve};

// jemalloc, with its background thread on, hands the memory of closed connections back to the
// system within its decay time (10 s): after 10,000 connections closed the process is back
// within a few MB of where it started. glibc's allocator keeps hundreds of MB of freed,
// fragmented heap mapped, and mimalloc returns it only when it next allocates.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    if let Err(error) = tikv_jemalloc_ctl::background_thread::write(true) {
        eprintln!(
            "demo: jemalloc's background thread is off ({error}); freed memory returns later"
        );
    }
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

//! Structured JSON logs through `tracing`, with a cold-start flag on the first request.

use std::sync::atomic::{AtomicBool, Ordering};

static COLD: AtomicBool = AtomicBool::new(true);

/// True for the first request this process serves, false afterwards.
pub fn take_cold_start() -> bool {
    COLD.swap(false, Ordering::Relaxed)
}

/// JSON lines to stdout (CloudWatch), level from `RUST_LOG` (default `info`). Safe to call twice.
pub fn init_json() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .try_init();
}

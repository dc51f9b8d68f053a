//! Capturing what the code under test logs, to check a message's wording or that no secret is ever
//! in a line. One buffer type, three ways to install it:
//! - [`LogBuffer::capture_thread`]: on this thread while the guard lives (a plain `#[test]` or a
//!   current-thread runtime);
//! - [`LogBuffer::capture_global`]: the whole process, for a test binary of its own (tracing's
//!   per-callsite interest cache makes thread-scoped capture miss lines when other tests run in
//!   parallel on other threads);
//! - [`LogBuffer::lock`]: the process-wide buffer shared by the tests of one binary, emptied and held
//!   for one test at a time.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::fmt::MakeWriter;

/// Every log line written (at TRACE, without colours).
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

static GLOBAL: OnceLock<LogBuffer> = OnceLock::new();
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl LogBuffer {
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(self.clone())
            .finish()
    }

    /// Capture on this thread until the guard is dropped.
    pub fn capture_thread() -> (LogBuffer, tracing::subscriber::DefaultGuard) {
        let logs = LogBuffer::default();
        let guard = tracing::subscriber::set_default(logs.subscriber());
        (logs, guard)
    }

    /// Capture every line of this process. Once per test binary.
    pub fn capture_global() -> LogBuffer {
        let logs = LogBuffer::default();
        tracing::subscriber::set_global_default(logs.subscriber())
            .expect("one global capture per test binary");
        logs
    }

    /// The binary's shared buffer (installed globally on first use), emptied, with a lock that keeps
    /// the other tests of the binary out until it is dropped.
    pub async fn lock() -> (LogBuffer, tokio::sync::MutexGuard<'static, ()>) {
        let guard = SERIAL.lock().await;
        let logs = GLOBAL.get_or_init(LogBuffer::capture_global).clone();
        logs.0.lock().unwrap().clear();
        (logs, guard)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Assert none of `secrets` appears in any line, and that something was logged at all.
    pub fn assert_free_of(&self, secrets: &[String]) {
        let text = self.text();
        assert!(text.lines().count() > 3, "the capture works: {text}");
        for s in secrets {
            assert!(!s.is_empty());
            for line in text.lines() {
                assert!(
                    !line.contains(s.as_str()),
                    "secret {s:?} in a log line: {line}"
                );
            }
        }
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> LogBuffer {
        self.clone()
    }
}

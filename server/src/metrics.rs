//! Counters for `/metrics`, in Prometheus text format. Plain atomics: no registry crate.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.add(1)
    }
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// HTTP responses with a 2xx/3xx status.
    pub http_ok: Counter,
    /// HTTP responses with a 4xx status.
    pub http_client_errors: Counter,
    /// HTTP responses with a 5xx status.
    pub http_server_errors: Counter,
    /// Requests refused by the per-token rate limit.
    pub rate_limited: Counter,
    /// Grants issued.
    pub grants_issued: Counter,
    /// Grant requests refused by a rule.
    pub grants_refused: Counter,
    /// Receipts accepted.
    pub receipts: Counter,
    /// Audit records accepted.
    pub audit_records: Counter,
    /// Alarms raised.
    pub alarms: Counter,
    /// Webhook messages delivered.
    pub webhooks_delivered: Counter,
    /// Webhook attempts that failed (and will be retried).
    pub webhooks_failed: Counter,
}

impl Metrics {
    /// The Prometheus text exposition, with `outbox_pending` read by the caller.
    pub fn render(&self, outbox_pending: i64) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, labels: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name}{labels} {value}");
        };
        counter("porter_grants_issued_total", "Grants issued.", "", self.grants_issued.get());
        counter(
            "porter_grants_refused_total",
            "Grant requests refused by a rule.",
            "",
            self.grants_refused.get(),
        );
        counter("porter_receipts_total", "Door receipts accepted.", "", self.receipts.get());
        counter(
            "porter_audit_records_total",
            "Audit log records accepted.",
            "",
            self.audit_records.get(),
        );
        counter(
            "porter_alarms_total",
            "Alarms raised (gaps, forks, unmatched admissions).",
            "",
            self.alarms.get(),
        );
        counter(
            "porter_webhooks_delivered_total",
            "Webhook messages delivered.",
            "",
            self.webhooks_delivered.get(),
        );
        counter(
            "porter_webhook_failures_total",
            "Webhook attempts that failed.",
            "",
            self.webhooks_failed.get(),
        );
        counter(
            "porter_rate_limited_total",
            "Requests refused by the per-token rate limit.",
            "",
            self.rate_limited.get(),
        );
        let _ = writeln!(out, "# HELP porter_http_responses_total HTTP responses by status class.");
        let _ = writeln!(out, "# TYPE porter_http_responses_total counter");
        let _ =
            writeln!(out, "porter_http_responses_total{{class=\"2xx\"}} {}", self.http_ok.get());
        let _ = writeln!(
            out,
            "porter_http_responses_total{{class=\"4xx\"}} {}",
            self.http_client_errors.get()
        );
        let _ = writeln!(
            out,
            "porter_http_responses_total{{class=\"5xx\"}} {}",
            self.http_server_errors.get()
        );
        let _ = writeln!(out, "# HELP porter_outbox_pending Webhook messages not yet delivered.");
        let _ = writeln!(
            out,
            "# TYPE porter_outbox_pending gauge\nporter_outbox_pending {outbox_pending}"
        );
        out
    }
}

//! What each app's actions are (in the server config, under the app).
//!
//! ```yaml
//! actions:
//!   oncall: {type: slack, url: https://hooks.slack.com/services/...}
//!   reroute: {type: webhook, url: https://example.com/hopscope, secret: 32+ random characters}
//! conference_summary: [pipeline]      # actions that get every call's end-of-call summary
//! limits: {per_rule: 10, per_conference: 20, window_s: 300}
//! retry: {base_s: 1, max_s: 600, max_attempts: 12}
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

/// An app's actions and delivery settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionsConfig {
    /// By name (what rules write in `actions:`).
    pub actions: BTreeMap<String, ActionConfig>,
    /// Actions that receive each conference's end-of-call summary.
    pub conference_summary: Vec<String>,
    /// Rate limits on finding events.
    pub limits: Limits,
    /// Retries.
    pub retry: RetryPolicy,
}

/// One destination.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    /// Webhook or Slack.
    #[serde(rename = "type")]
    pub kind: ActionKind,
    /// Where to POST.
    pub url: String,
    /// Webhooks: the HMAC secret (at least 16 characters).
    #[serde(default)]
    pub secret: Option<String>,
    /// Record what would be sent, send nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// At most this many deliveries in flight to this destination.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: usize,
    /// Per-request timeout, seconds.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
}

fn default_concurrency() -> usize {
    4
}

fn default_timeout() -> f64 {
    10.0
}

/// The kinds of destination.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    /// A signed JSON POST.
    Webhook,
    /// A Slack incoming webhook.
    Slack,
}

/// Rate limits: over them, events are held and reported as one summary per window
/// ("41 more like this in the last 5 minutes"), never dropped silently.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Finding events per rule and action per window (0: none).
    pub per_rule: u32,
    /// Finding events per conference and action per window (0: none).
    pub per_conference: u32,
    /// The window, seconds.
    pub window_s: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { per_rule: 10, per_conference: 20, window_s: 300.0 }
    }
}

/// How failed deliveries are retried: exponential backoff with jitter, then the
/// dead-letter list.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// First delay, seconds.
    pub base_s: f64,
    /// Longest delay, seconds.
    pub max_s: f64,
    /// Attempts before a delivery is dead.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // 1 s doubling to 10 min: 12 attempts span about an hour.
        RetryPolicy { base_s: 1.0, max_s: 600.0, max_attempts: 12 }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempts + 1`, ms: base × 2^(attempts − 1), capped, with
    /// "equal jitter" (half fixed, half random) so retries from many events spread out.
    pub fn delay_ms(&self, attempts: u32) -> i64 {
        let exp = self.base_s * 2f64.powi(attempts.saturating_sub(1).min(30) as i32);
        let capped = exp.min(self.max_s).max(0.0) * 1000.0;
        (capped / 2.0 + fastrand::f64() * capped / 2.0) as i64
    }
}

impl ActionsConfig {
    /// Problems with the configuration, one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, a) in &self.actions {
            if !(a.url.starts_with("http://") || a.url.starts_with("https://")) {
                out.push(format!("action `{name}`: url `{}` is not http(s)", a.url));
            }
            if a.kind == ActionKind::Webhook && a.secret.as_ref().is_none_or(|s| s.len() < 16) {
                out.push(format!(
                    "action `{name}`: a webhook needs a `secret` of at least 16 characters to sign with"
                ));
            }
            if a.max_concurrency == 0 {
                out.push(format!("action `{name}`: max_concurrency must be at least 1"));
            }
            if a.timeout_s.is_nan() || a.timeout_s <= 0.0 {
                out.push(format!("action `{name}`: timeout_s must be positive"));
            }
        }
        for name in &self.conference_summary {
            if !self.actions.contains_key(name) {
                out.push(format!("conference_summary names `{name}`, which is not an action"));
            }
        }
        if self.retry.max_attempts == 0 || self.retry.base_s.is_nan() || self.retry.base_s <= 0.0 {
            out.push("retry: max_attempts and base_s must be positive".into());
        }
        if self.limits.window_s.is_nan() || self.limits.window_s <= 0.0 {
            out.push("limits: window_s must be positive".into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let p = RetryPolicy { base_s: 1.0, max_s: 8.0, max_attempts: 5 };
        for (attempts, full) in [(1, 1000), (2, 2000), (3, 4000), (4, 8000), (10, 8000)] {
            for _ in 0..50 {
                let d = p.delay_ms(attempts);
                assert!(
                    d >= full / 2 && d <= full,
                    "attempt {attempts}: {d} ms outside [{}, {full}]",
                    full / 2
                );
            }
        }
    }

    #[test]
    fn bad_actions_are_named() {
        let c: ActionsConfig = serde_json::from_value(serde_json::json!({
            "actions": {"a": {"type": "webhook", "url": "ftp://x"}},
            "conference_summary": ["b"]
        }))
        .unwrap_or_default();
        let p = c.problems().join("\n");
        assert!(p.contains("action `a`: url `ftp://x` is not http(s)"), "{p}");
        assert!(p.contains("action `a`: a webhook needs a `secret`"), "{p}");
        assert!(p.contains("conference_summary names `b`"), "{p}");
    }
}

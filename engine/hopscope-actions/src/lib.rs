//! Callbacks: what hopscope tells the customer's systems, and how it gets there.
//!
//! Rules name actions (`actions: [oncall]`); each app configures what an action is: a
//! signed HTTP webhook or a Slack incoming webhook ([`config`]). Events (a finding raised
//! or cleared, a conference's end-of-call summary, a rate-limit summary) are rendered
//! ([`event`]) and written to the store's durable outbox in the same breath as the
//! evaluation that produced them; the [`dispatch`]er delivers them with retries,
//! exponential backoff with jitter, per-destination concurrency limits, and a dead-letter
//! list, recording every attempt. A receiver checks a webhook with [`sign::verify`].

pub mod config;
pub mod dispatch;
pub mod event;
pub mod sign;

pub use config::{ActionConfig, ActionKind, ActionsConfig, Limits, RetryPolicy};
pub use dispatch::Dispatcher;

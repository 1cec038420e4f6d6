//! One integration-test binary, a module per topic.

mod bad_input;
mod captured;
mod corpus;
mod findings;
mod live_ingest;
mod middlebox;
mod quality;
mod rhai_sandbox;
mod same_call;
mod schema;
mod wasm_plugins;
mod wasm_sandbox;

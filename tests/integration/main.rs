//! One integration-test binary, a module per topic.

mod bad_input;
mod captured;
mod corpus;
mod findings;
mod quality;
mod same_call;
mod schema;

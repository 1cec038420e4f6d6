//! Keys: who may do what to which app, and how fast.
//!
//! An ingest key is write-only and belongs to one app, so it can ship inside a web page;
//! a secret key reads and administers one app. A key is sent as `Authorization: Bearer
//! <key>` or `X-Hopscope-Key: <key>` (or `?key=` for EventSource, which cannot set headers).
//! Keys are stored as hashes; resolved keys are cached in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::{HeaderMap, StatusCode, header};
use hopscope_store::{KeyGrant, KeyKind, Store};

use crate::error::ApiError;

/// What a request may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Send observations and feedback: an ingest or a secret key.
    Write,
    /// Read and administer: a secret key.
    Read,
}

/// A caller whose key checked out.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Their app.
    pub app: String,
    /// Their key's kind.
    pub kind: KeyKind,
    /// The key's hash (for rate limiting).
    pub key_hash: String,
}

/// Resolved keys and their rate-limit buckets.
#[derive(Debug, Default)]
pub struct Keys {
    cache: Mutex<HashMap<String, KeyGrant>>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Makes a new random key: `hs_ingest_…` or `hs_secret_…` with 128 random bits.
pub fn generate_key(kind: KeyKind) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(format!("hs_{}_{}", kind.as_str(), hex::encode(bytes)))
}

fn presented_key<'a>(headers: &'a HeaderMap, query_key: Option<&'a str>) -> Option<&'a str> {
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return Some(v.strip_prefix("Bearer ").unwrap_or(v).trim());
    }
    if let Some(v) = headers.get("x-hopscope-key").and_then(|v| v.to_str().ok()) {
        return Some(v.trim());
    }
    query_key
}

impl Keys {
    /// Checks the key a request presents.
    pub fn authenticate(
        &self,
        store: &dyn Store,
        headers: &HeaderMap,
        query_key: Option<&str>,
        need: Need,
    ) -> Result<Caller, ApiError> {
        let Some(key) = presented_key(headers, query_key).filter(|k| !k.is_empty()) else {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "missing_key", "this endpoint needs a key")
                .hint("send `Authorization: Bearer <key>` with your app's ingest or secret key"));
        };
        let hash = hopscope_store::key_hash(key);
        let cached = self.cache.lock().ok().and_then(|c| c.get(&hash).cloned());
        let grant = match cached {
            Some(g) => g,
            None => {
                let Some(g) = store.resolve_key(key)? else {
                    return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown_key", "this key is not known to the server")
                        .hint("check the key; keys are listed in the server config or printed when an app is created"));
                };
                if let Ok(mut c) = self.cache.lock() {
                    c.insert(hash.clone(), g.clone());
                }
                g
            }
        };
        if need == Need::Read && grant.kind != KeyKind::Secret {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "ingest_key_cannot_read",
                "an ingest key can only send observations and feedback",
            )
            .hint("use the app's secret key (never ship it to browsers)"));
        }
        Ok(Caller { app: grant.app, kind: grant.kind, key_hash: hash })
    }

    /// Takes one token from the caller's bucket, or says how long to wait.
    pub fn rate_limit(&self, caller: &Caller, per_s: f64, burst: f64) -> Result<(), ApiError> {
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        let now = Instant::now();
        let bucket = buckets.entry(caller.key_hash.clone()).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * per_s).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / per_s).ceil() as u64;
            Err(ApiError::too_many(
                "rate_limited",
                format!("this key sent more than {per_s} batches per second"),
                wait,
            )
            .hint("batch observations (one request every few seconds per client) and retry after the Retry-After delay"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_distinct_and_shaped() {
        let a = generate_key(KeyKind::Ingest).unwrap_or_default();
        let b = generate_key(KeyKind::Ingest).unwrap_or_default();
        assert!(a.starts_with("hs_ingest_") && a.len() == "hs_ingest_".len() + 32);
        assert_ne!(a, b);
    }

    #[test]
    fn the_bucket_empties_then_refills() {
        let keys = Keys::default();
        let caller = Caller { app: "a".into(), kind: KeyKind::Ingest, key_hash: "h".into() };
        for _ in 0..3 {
            assert!(keys.rate_limit(&caller, 1.0, 3.0).is_ok());
        }
        let refused = keys.rate_limit(&caller, 1.0, 3.0);
        assert!(matches!(refused, Err(ApiError { retry_after_s: Some(1), .. })));
    }
}

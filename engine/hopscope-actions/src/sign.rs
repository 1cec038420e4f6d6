//! Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>` with the action's secret.
//!
//! Headers: `Hopscope-Timestamp: <unix seconds>` and `Hopscope-Signature: v1=<hex>`. A
//! receiver recomputes the HMAC over the timestamp header, a dot, and the raw body bytes,
//! compares in constant time, and refuses timestamps far from its clock (replays).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The signature header's value for a body sent at `timestamp` (unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| {
        // HMAC takes keys of any length; this branch cannot be reached.
        <Hmac<Sha256> as KeyInit>::new_from_slice(b"-").unwrap_or_else(|_| unreachable!())
    });
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why a signature does not check out.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The timestamp header is not a number.
    #[error("the Hopscope-Timestamp header is not unix seconds")]
    BadTimestamp,
    /// Too old or too far ahead: a replay, or a wrong clock.
    #[error("the timestamp is {0} s from this receiver's clock, over the tolerance")]
    Stale(i64),
    /// The signature header is not `v1=<hex>`.
    #[error("the Hopscope-Signature header is not `v1=<hex>`")]
    BadFormat,
    /// The body or timestamp was changed, or the secret differs.
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Checks a delivery: the headers' timestamp and signature against the raw body.
pub fn verify(
    secret: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now_s: i64,
    tolerance_s: i64,
) -> Result<(), VerifyError> {
    let ts: i64 = timestamp_header.trim().parse().map_err(|_| VerifyError::BadTimestamp)?;
    if (now_s - ts).abs() > tolerance_s {
        return Err(VerifyError::Stale(now_s - ts));
    }
    let given = signature_header.trim().strip_prefix("v1=").ok_or(VerifyError::BadFormat)?;
    let given = hex::decode(given).map_err(|_| VerifyError::BadFormat)?;
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).map_err(|_| VerifyError::Mismatch)?;
    mac.update(ts.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| VerifyError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_body_verifies_and_any_change_does_not() {
        let sig = sign("s3cret-s3cret-s3cret", 1_790_000_000, b"{\"a\":1}");
        assert!(sig.starts_with("v1=") && sig.len() == 3 + 64);
        let ok = verify("s3cret-s3cret-s3cret", "1790000000", &sig, b"{\"a\":1}", 1_790_000_010, 300);
        assert_eq!(ok, Ok(()));
        let tampered = verify("s3cret-s3cret-s3cret", "1790000000", &sig, b"{\"a\":2}", 1_790_000_010, 300);
        assert_eq!(tampered, Err(VerifyError::Mismatch));
        let other_time = verify("s3cret-s3cret-s3cret", "1790000001", &sig, b"{\"a\":1}", 1_790_000_010, 300);
        assert_eq!(other_time, Err(VerifyError::Mismatch));
        let replay = verify("s3cret-s3cret-s3cret", "1790000000", &sig, b"{\"a\":1}", 1_790_001_000, 300);
        assert_eq!(replay, Err(VerifyError::Stale(1000)));
        assert_eq!(verify("k", "1", "sha1=00", b"", 1, 300), Err(VerifyError::BadFormat));
    }

    /// RFC 4231 test case 2 (HMAC-SHA256, key "Jefe"), through our message layout.
    #[test]
    fn matches_the_rfc_4231_vector() {
        // Our message is "<ts>.<body>"; choose ts and body so that it spells the RFC's data.
        // Data: "what do ya want for nothing?" cannot start with digits, so check the
        // primitive directly instead.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap_or_else(|_| unreachable!());
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}

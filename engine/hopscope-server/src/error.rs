//! Errors as the API returns them: a status, a stable code, what went wrong and how to fix it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An API error. Every 4xx/5xx the server sends is one of these, as JSON:
/// `{"error": {"code": "...", "message": "...", "hint": "...", "details": [...]}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`bad_json`, `unknown_key`, ...).
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// Per-item problems (e.g. one line per bad observation).
    pub details: Vec<String>,
    /// Seconds to wait before retrying (429/503).
    pub retry_after_s: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    details: &'a [String],
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            hint: None,
            details: Vec::new(),
            retry_after_s: None,
        }
    }

    /// Adds how to fix it.
    pub fn hint(mut self, hint: impl Into<String>) -> ApiError {
        self.hint = Some(hint.into());
        self
    }

    /// Adds per-item problems.
    pub fn details(mut self, details: Vec<String>) -> ApiError {
        self.details = details;
        self
    }

    /// 400.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404.
    pub fn not_found(what: &str, id: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no {what} `{id}` in this app"))
    }

    /// 429 with Retry-After.
    pub fn too_many(code: &'static str, message: impl Into<String>, retry_after_s: u64) -> ApiError {
        ApiError {
            retry_after_s: Some(retry_after_s.max(1)),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message)
        }
    }

    /// 500: something on our side; the message is logged, the client gets a generic text.
    pub fn internal(context: &str, error: impl std::fmt::Display) -> ApiError {
        tracing::error!(%error, "{context}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("{context} failed; see the server log"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                hint: self.hint.as_deref(),
                details: &self.details,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after_s
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

impl From<hopscope_store::StoreError> for ApiError {
    fn from(e: hopscope_store::StoreError) -> ApiError {
        match e {
            hopscope_store::StoreError::WriterGone => ApiError {
                retry_after_s: Some(5),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "shutting_down",
                    "the server is shutting down; retry against it once it is back",
                )
            },
            hopscope_store::StoreError::Busy { queued } => ApiError::too_many(
                "overloaded",
                format!("the store is behind: {queued} writes are waiting"),
                1,
            )
            .hint("retry after the Retry-After delay; batches are idempotent"),
            other => ApiError::internal("the store", other),
        }
    }
}

//! The pages people read and share: a conference, and a user's call history. Static pages
//! and their scripts, compiled in; they read through the public API with the key in the
//! address fragment, so they need no session, no server-side rendering and no key in any log.

use axum::http::header;
use axum::response::IntoResponse;

// Each page is the shared head (meta tags, base style) and its own part; each script the
// shared helpers and its own part, joined at compile time.
const PAGE: &str = concat!(include_str!("ui/head.html"), include_str!("ui/conference.html"));
const SCRIPT: &str = concat!(include_str!("ui/common.js"), include_str!("ui/conference.js"));
const USER_PAGE: &str = concat!(include_str!("ui/head.html"), include_str!("ui/user.html"));
const USER_SCRIPT: &str = concat!(include_str!("ui/common.js"), include_str!("ui/user.js"));

/// What every page response carries: no framing by other sites, scripts only from here,
/// fetches only to here, and no Referer leaving with the page's address.
const SECURITY: [(header::HeaderName, &str); 4] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-cache"),
];

/// `GET /ui/conferences/{id}`: the page (the id is read by the script from the address).
pub(crate) async fn conference_page() -> impl IntoResponse {
    (SECURITY, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE)
}

/// `GET /ui/conference.js`.
pub(crate) async fn conference_script() -> impl IntoResponse {
    (SECURITY, [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT)
}

/// `GET /ui/users/{user}`: a user's call history (the user is read from the address).
pub(crate) async fn user_page() -> impl IntoResponse {
    (SECURITY, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], USER_PAGE)
}

/// `GET /ui/user.js`.
pub(crate) async fn user_script() -> impl IntoResponse {
    (SECURITY, [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], USER_SCRIPT)
}

/// The page's address for a conference (add `#key=...` to open it).
pub fn page_url(base: &str, encoded_id: &str) -> String {
    format!("{base}/ui/conferences/{encoded_id}")
}

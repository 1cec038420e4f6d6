//! Server configuration: a YAML file (every field optional, defaults below), then
//! `HOPSCOPE_*` environment variables, then command-line flags, each overriding the last.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ServerError;

/// How the server runs.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`HOPSCOPE_LISTEN`).
    pub listen: String,
    /// Where the store lives (`HOPSCOPE_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Base of the shareable conference links (`HOPSCOPE_PUBLIC_URL`); defaults to
    /// `http://<listen>`.
    pub public_url: Option<String>,
    /// A conference ends this long after its last observation (`HOPSCOPE_INACTIVITY_TIMEOUT_S`).
    /// 30 s: ICE gives up on a silent connection at about that time.
    pub inactivity_timeout_s: f64,
    /// A live conference is re-evaluated at most this often after new data.
    pub evaluate_every_ms: u64,
    /// Live conferences evaluated at once. Unset: one per core. Evaluations run on the CPU
    /// ingest leaves idle, so under overload live findings refresh less often while
    /// acknowledged data keeps flowing in at full speed.
    pub live_evaluation_workers: Option<u32>,
    /// How far behind live views may fall, in seconds, before evaluations take a share of
    /// the CPU from ingest (a tenth of a core each, 10 nice steps down) until they are back
    /// under half of it. Below it they run only on idle CPU.
    pub live_evaluation_max_lag_s: f64,
    /// Memory for what live evaluations have read, MiB: within it, each evaluation parses
    /// only the observations that arrived since the last (about 0.8 MiB per minute of a
    /// four-party call); past it, conferences are read from the start at every evaluation.
    pub live_read_cache_mib: u64,
    /// Largest request body, bytes (after gzip decompression too).
    pub max_body_bytes: usize,
    /// Most observations in one batch.
    pub max_batch_observations: usize,
    /// Ingest requests being processed at once; beyond it, 429 with Retry-After.
    pub max_ingest_in_flight: usize,
    /// Sustained batches per second allowed per key (bursts of `rate_limit_burst`).
    pub rate_limit_per_key: f64,
    /// Burst size of the per-key rate limit.
    pub rate_limit_burst: f64,
    /// Observations timestamped further than this from the server's clock are refused.
    pub max_clock_skew_s: f64,
    /// Ended conferences older than this are deleted (`HOPSCOPE_RETENTION_DAYS`).
    pub retention_days: f64,
    /// `text` or `json` logs (`HOPSCOPE_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Applications and their keys. Apps and keys listed here are created at start.
    pub apps: Vec<AppConfig>,
}

/// Log output format.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// One application.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppConfig {
    /// Name (`production`, `staging`, ...).
    pub name: String,
    /// Write-only keys, safe to ship in a browser.
    pub ingest_keys: Vec<String>,
    /// Read/admin keys.
    pub secret_keys: Vec<String>,
    /// A directory of rule files added to the built-in pack for this app.
    pub rules_dir: Option<PathBuf>,
    /// Threshold overrides for this app's rules (`hopscope rules` overrides format).
    pub overrides: Option<PathBuf>,
    /// Callbacks: the actions rules name, end-of-call summaries, rate limits, retries.
    pub callbacks: hopscope_actions::ActionsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("hopscope-data"),
            public_url: None,
            inactivity_timeout_s: 30.0,
            evaluate_every_ms: 1000,
            live_evaluation_workers: None,
            live_evaluation_max_lag_s: 30.0,
            live_read_cache_mib: 512,
            max_body_bytes: 8 * 1024 * 1024,
            max_batch_observations: 10_000,
            max_ingest_in_flight: 256,
            rate_limit_per_key: 200.0,
            rate_limit_burst: 400.0,
            max_clock_skew_s: 24.0 * 3600.0,
            retention_days: 30.0,
            log_format: LogFormat::Text,
            apps: Vec::new(),
        }
    }
}

impl Config {
    /// Reads a config file.
    pub fn from_file(path: &Path) -> Result<Config, ServerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServerError::Config(format!("cannot read {}: {e}", path.display())))?;
        let config: Config = serde_yaml::from_str(&text).map_err(|e| {
            let at = e.location().map(|l| format!(":{}:{}", l.line(), l.column())).unwrap_or_default();
            ServerError::Config(format!("{}{at}: {e}", path.display()))
        })?;
        Ok(config)
    }

    /// Applies `HOPSCOPE_*` environment variables.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ServerError> {
        if let Some(v) = get("HOPSCOPE_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = get("HOPSCOPE_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("HOPSCOPE_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        let number = |name: &str, v: String| {
            v.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0).ok_or_else(|| {
                ServerError::Config(format!("{name}=`{v}` is not a non-negative number of seconds/days"))
            })
        };
        if let Some(v) = get("HOPSCOPE_INACTIVITY_TIMEOUT_S") {
            self.inactivity_timeout_s = number("HOPSCOPE_INACTIVITY_TIMEOUT_S", v)?;
        }
        if let Some(v) = get("HOPSCOPE_RETENTION_DAYS") {
            self.retention_days = number("HOPSCOPE_RETENTION_DAYS", v)?;
        }
        if let Some(v) = get("HOPSCOPE_LOG_FORMAT") {
            self.log_format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(ServerError::Config(format!(
                        "HOPSCOPE_LOG_FORMAT=`{other}`: expected text or json"
                    )));
                }
            };
        }
        Ok(())
    }

    /// Checks values that would make the server misbehave.
    pub fn validate(&self) -> Result<(), ServerError> {
        let bad = |m: String| Err(ServerError::Config(m));
        if !(self.inactivity_timeout_s.is_finite() && self.inactivity_timeout_s > 0.0) {
            return bad(format!(
                "inactivity_timeout_s must be a positive number of seconds, not {}",
                self.inactivity_timeout_s
            ));
        }
        if !(self.live_evaluation_max_lag_s.is_finite() && self.live_evaluation_max_lag_s > 0.0) {
            return bad(format!(
                "live_evaluation_max_lag_s must be a positive number of seconds, not {}",
                self.live_evaluation_max_lag_s
            ));
        }
        if self.max_body_bytes < 1024 {
            return bad(format!(
                "max_body_bytes {} is too small to hold one observation",
                self.max_body_bytes
            ));
        }
        if self.max_ingest_in_flight == 0 || self.max_batch_observations == 0 {
            return bad("max_ingest_in_flight and max_batch_observations must be at least 1".into());
        }
        if self.rate_limit_per_key.is_nan()
            || self.rate_limit_per_key <= 0.0
            || self.rate_limit_burst.is_nan()
            || self.rate_limit_burst < 1.0
        {
            return bad("rate_limit_per_key must be positive and rate_limit_burst at least 1".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for app in &self.apps {
            if !valid_name(&app.name) {
                return bad(format!(
                    "app name `{}`: use 1–64 letters, digits, `-` or `_` (e.g. `production`)",
                    app.name
                ));
            }
            let problems = app.callbacks.problems();
            if !problems.is_empty() {
                return bad(format!("app `{}` callbacks: {}", app.name, problems.join("; ")));
            }
            if !names.insert(app.name.as_str()) {
                return bad(format!("app `{}` is listed twice", app.name));
            }
            for key in app.ingest_keys.iter().chain(&app.secret_keys) {
                if key.len() < 16 {
                    return bad(format!(
                        "a key of app `{}` is shorter than 16 characters; keys must be unguessable",
                        app.name
                    ));
                }
            }
        }
        Ok(())
    }

    /// The base of shareable links.
    pub fn public_base(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_string()
    }
}

/// App names and conference ids end up in URLs and logs: keep them plain.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file_and_bad_values_are_named() {
        let mut c: Config =
            serde_yaml::from_str("listen: 0.0.0.0:9000\ninactivity_timeout_s: 10\n").unwrap_or_default();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.inactivity_timeout_s, 10.0);
        assert_eq!(c.retention_days, 30.0, "defaults fill what the file leaves out");
        let env = |k: &str| match k {
            "HOPSCOPE_LISTEN" => Some("127.0.0.1:1".to_string()),
            "HOPSCOPE_INACTIVITY_TIMEOUT_S" => Some("5".to_string()),
            _ => None,
        };
        assert!(c.apply_env(env).is_ok());
        assert_eq!(c.listen, "127.0.0.1:1");
        assert_eq!(c.inactivity_timeout_s, 5.0);
        let err = c.apply_env(|k| (k == "HOPSCOPE_RETENTION_DAYS").then(|| "soon".to_string()));
        assert!(matches!(err, Err(ServerError::Config(m)) if m.contains("HOPSCOPE_RETENTION_DAYS=`soon`")));
    }

    #[test]
    fn the_documented_example_config_loads() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/server.yaml"));
        let c = Config::from_file(path).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.validate().is_ok(), "{:?}", c.validate());
        assert_eq!(c.apps.len(), 2);
        assert_eq!(c.apps[0].callbacks.conference_summary, ["pipeline"]);
        assert!(c.apps[0].callbacks.actions["oncall"].dry_run);
    }

    #[test]
    fn unknown_fields_and_bad_apps_are_refused() {
        assert!(serde_yaml::from_str::<Config>("listn: x\n").is_err());
        let c = Config {
            apps: vec![AppConfig {
                name: "prod".into(),
                ingest_keys: vec!["short".into()],
                ..Default::default()
            }],
            ..Config::default()
        };
        assert!(matches!(c.validate(), Err(ServerError::Config(m)) if m.contains("shorter than 16")));
        let c = Config {
            apps: vec![AppConfig { name: "a b".into(), ..Default::default() }],
            ..Config::default()
        };
        assert!(c.validate().is_err());
        assert!(Config::default().validate().is_ok());
    }

    /// Durations that are not a positive number of seconds are refused by name at start.
    #[test]
    fn durations_must_be_positive_and_finite() {
        for yaml in [
            "inactivity_timeout_s: .inf\n",
            "inactivity_timeout_s: 0\n",
            "live_evaluation_max_lag_s: .nan\n",
            "live_evaluation_max_lag_s: -1\n",
        ] {
            let c: Config = serde_yaml::from_str(yaml).unwrap_or_default();
            let field = yaml.split(':').next().unwrap_or_default();
            assert!(
                matches!(c.validate(), Err(ServerError::Config(ref m)) if m.starts_with(field) && m.contains("positive number of seconds")),
                "{yaml}: {:?}",
                c.validate()
            );
        }
    }
}

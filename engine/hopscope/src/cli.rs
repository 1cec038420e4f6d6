//! Command-line interface definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// hopscope: WebRTC call-quality diagnostics.
///
/// Reads WebRTC stats dumps (Chrome webrtc-internals dumps, rtcstats dumps, getStats()
/// snapshots, hopscope observations), builds the conference and its connection-path graph,
/// and tells you what went wrong, where.
///
/// Examples:
///   hopscope diagnose alice.webrtc-internals.json bob.webrtc-internals.json
///   hopscope diagnose --format json dump.gz > diagnosis.json
///   hopscope quality audio --codec opus --loss 2 --delay 150
///   hopscope rules check my-rules/
///   hopscope diagnose --rules my-rules/ alice.webrtc-internals.json
#[derive(Debug, Parser)]
#[command(name = "hopscope", version, verbatim_doc_comment, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Diagnose one or more dumps: participants, browsers, topology, the path graph with
    /// per-hop metrics, a timeline, and what could not be determined.
    ///
    /// Give one file per participant, or one file holding a whole conference. Files of the
    /// same call are joined by what they share (conference ids, SSRCs, candidate
    /// addresses); unrelated files come out as separate conferences. Formats are detected
    /// from the content; gzip is fine.
    Diagnose(DiagnoseArgs),
    /// Compute the quality models from explicit parameters, to check them by hand against
    /// the ITU standards.
    Quality(QualityArgs),
    /// Score fault attribution against ground truth: a labelled corpus (folders with a
    /// truth.json and the call's dumps, as `hopscope simulate --corpus` writes) or one
    /// simulated on the spot.
    ///
    /// Example: hopscope backtest --generate 1000 --seed 7
    Backtest(BacktestArgs),
    /// Write, check and test diagnostic rules.
    ///
    /// Rules are YAML files or Rhai scripts; a directory of them is a pack. The built-in pack ships inside
    /// the binary (its source is rules/builtin/). `hopscope rules metrics` lists what a
    /// rule can read; rules/README.md explains the language.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Simulate a conference from a scenario and write what each browser would have sent
    /// (hopscope observation NDJSON), for fixtures, tests and benchmarks.
    ///
    /// The scenario format is described in examples/scenarios/README.md. The same scenario
    /// and seed always give the same bytes.
    ///
    /// Example: hopscope simulate examples/scenarios/sfu-wifi-loss.yaml --out /tmp/call
    Simulate(SimulateArgs),
    /// Run the server: the evaluate API, live ingestion from browsers, media servers and
    /// relays (with server-sent events per conference), and the query API, over an
    /// embedded store in --data-dir.
    ///
    /// Settings come from --config (YAML, see examples/server.yaml), then HOPSCOPE_*
    /// environment variables, then these flags. An app without keys gets a fresh pair,
    /// printed once at start.
    ///
    /// Example: hopscope serve --demo
    Serve(ServeArgs),
    /// Play many simulated conferences at once against a running server, in real time,
    /// and report ingest throughput, latency and the server's evaluation figures.
    ///
    /// Example: hopscope loadgen --key hs_ingest_... --conferences 100 --duration 60
    Loadgen(LoadgenArgs),
    /// Sandboxed WASM plugins (components of the hopscope:plugin WIT world).
    ///
    /// sdk/plugin/README.md walks through writing one. Run them with `--plugin` on
    /// `diagnose` and `rules test`.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

#[derive(Debug, Args)]
pub struct LoadgenArgs {
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An ingest key of the app to load.
    #[arg(long)]
    pub key: String,
    /// Conferences played at once.
    #[arg(long, default_value_t = 50)]
    pub conferences: usize,
    /// The call each conference plays (a scenario, see examples/scenarios).
    #[arg(long, default_value = "examples/scenarios/sfu-wifi-loss.yaml")]
    pub scenario: PathBuf,
    /// Seconds to play (at most the scenario's duration).
    #[arg(long, default_value_t = 60.0)]
    pub duration: f64,
    /// Each participant sends what it collected every this many seconds.
    #[arg(long, default_value_t = 2.0)]
    pub batch_every: f64,
    /// Connections the collectors share (kept alive), as a fleet behind a few proxies
    /// would; a batch waits for a free one, and that wait counts in its latency.
    #[arg(long, default_value_t = 128)]
    pub connections: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (YAML).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Where the store lives [default: ./hopscope-data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Base URL of shareable conference links [default: http://<listen>].
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Load the bundled example conferences (examples/conferences) into an app `demo`.
    #[arg(long)]
    pub demo: bool,
    /// Where the demo's conferences are.
    #[arg(long, value_name = "DIR", default_value = "examples/conferences")]
    pub demo_dir: PathBuf,
    /// Log format.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormatArg>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Validate a plugin: compile it, check its imports, exports and manifest, and print
    /// the manifest.
    ///
    /// Example: hopscope plugin check target/wasm32-wasip2/release/my_plugin.wasm
    Check {
        /// The component.
        #[arg(value_name = "FILE.wasm")]
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("destination").required(true).args(["out", "stdout"]))]
#[command(after_help = "\
Each participant's data goes to <DIR>/<participant><ext> in --format, each observing media \
server or relay to <DIR>/<server>.ndjson, and the injected faults to <DIR>/truth.json.

With --corpus N, <DIR>/c-0001/ ... hold N conferences (their files, scenario.yaml and \
truth.json) with known faults, for backtests; <DIR>/corpus.json lists them.
  hopscope simulate --corpus 1000 --seed 7 --out /tmp/corpus")]
pub struct SimulateArgs {
    /// The scenario (YAML); not with --corpus.
    #[arg(value_name = "SCENARIO", required_unless_present = "corpus", conflicts_with = "corpus")]
    pub scenario: Option<PathBuf>,
    /// Write one file per participant (and per observing server) into this directory
    /// (created if needed), with truth.json.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write every participant's and server's observations, merged in time order, to
    /// standard output (native format only).
    #[arg(long, conflicts_with = "corpus")]
    pub stdout: bool,
    /// Use this seed instead of the scenario's; with --corpus, the corpus seed (default 0).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Generate this many conferences with known faults (about 30 % healthy) into --out.
    #[arg(long, value_name = "N", requires = "out")]
    pub corpus: Option<usize>,
    /// How each participant's data is written.
    #[arg(long, value_enum, default_value_t = SimulateFormat::Native)]
    pub format: SimulateFormat,
}

/// The dump formats `simulate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimulateFormat {
    /// hopscope observation NDJSON (<name>.ndjson).
    Native,
    /// Chrome's webrtc-internals dump (<name>.webrtc-internals.json).
    WebrtcInternals,
    /// rtcstats v3 line dump, as Jitsi's collectors write it (<name>.rtcstats).
    Rtcstats,
}

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// A corpus directory: one folder per conference with its dumps and a truth.json.
    #[arg(value_name = "CORPUS")]
    pub corpus: Option<PathBuf>,
    /// Simulate N conferences instead (in memory, nothing written).
    #[arg(long, value_name = "N", conflicts_with = "corpus")]
    pub generate: Option<usize>,
    /// Seed for --generate.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Show, for each conference the engine got wrong, the truth and what it said.
    #[arg(long)]
    pub diff: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Where rules come from.
#[derive(Debug, Clone, Args)]
pub struct RuleSourceArgs {
    /// A rule file or a directory of them (*.yaml rules and *.rhai scripts, recursively;
    /// `tests/` folders hold fixtures and are skipped). Repeatable. Added to the built-in pack.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Thresholds to change, rules to turn off, severities to raise, without editing any
    /// pack: `overrides: {high-rtt: {params: {rtt: 400ms}}, outdated-browser: {enabled: false}}`.
    #[arg(long, value_name = "FILE")]
    pub overrides: Option<PathBuf>,
    /// Leave the built-in pack out.
    #[arg(long)]
    pub no_builtin: bool,
    /// Run the rules that check and report the others, instead of refusing them all.
    #[arg(long)]
    pub partial: bool,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate rules: every problem with file:line:col, a code and a suggested fix.
    ///
    /// Example: hopscope rules check --no-builtin --rules my-rules/
    Check {
        #[command(flatten)]
        sources: RuleSourceArgs,
        /// Fail on warnings too.
        #[arg(long)]
        deny_warnings: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Run rule fixtures: each case's dumps go through the rules, and the findings must be
    /// exactly the ones expected, messages word for word. Failures show as a diff.
    ///
    /// Fixtures are tests/*.yaml inside each DIR. Example: hopscope rules test rules/builtin
    Test {
        /// Rule directories with their tests/ folders.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Overrides applied to the rules under test.
        #[arg(long, value_name = "FILE")]
        overrides: Option<PathBuf>,
        /// Rewrite the expectations of failing cases with what the rules found now
        /// (review the change with `git diff` before committing it).
        #[arg(long)]
        bless: bool,
        /// A WASM plugin to test along with the rules (repeatable): fixtures naming its
        /// rules run it.
        #[arg(long = "plugin", value_name = "FILE.wasm")]
        plugins: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// List the rules that would run: id, version, scope, severity, category.
    List {
        #[command(flatten)]
        sources: RuleSourceArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// List the metrics and attributes a rule can read, per scope, with types and units.
    Metrics {
        /// Only this scope: stream, peer_connection, participant, hop, conference.
        scope: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Dump files (webrtc-internals, rtcstats, getStats JSON, hopscope NDJSON; .gz ok).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// How much detail the text report shows.
    #[arg(long, value_enum, default_value_t = DetailArg::Short)]
    pub detail: DetailArg,
    /// Diagnose each file on its own instead of joining files of one call.
    #[arg(long)]
    pub each: bool,
    #[command(flatten)]
    pub rules: RuleSourceArgs,
    /// A WASM plugin to run after the rules (repeatable); its findings join the diagnosis.
    #[arg(long = "plugin", value_name = "FILE.wasm")]
    pub plugins: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable report.
    Text,
    /// JSON (one object with a `conferences` array and any `errors`).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DetailArg {
    /// The essentials.
    Short,
    /// Everything: full timeline and notes.
    Full,
}

#[derive(Debug, Args)]
pub struct QualityArgs {
    #[command(subcommand)]
    pub model: QualityModel,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, global = true)]
    pub format: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum QualityModel {
    /// ITU-T G.107 E-model (narrowband): R, MOS and the G.109 category.
    ///
    /// Example: hopscope quality audio --codec g711-plc --loss 2 --delay 150
    Audio {
        /// Codec: g711-plc, g711, g729a, g723, opus, opus-fec.
        #[arg(long, default_value = "opus")]
        codec: String,
        /// Packet loss, percent (0–100; G.107 is validated up to about 20 %).
        #[arg(long, default_value_t = 0.0)]
        loss: f64,
        /// One-way mouth-to-ear delay Ta in milliseconds, as G.107 defines it (no
        /// adapter constants are added).
        #[arg(long, default_value_t = 0.0)]
        delay: f64,
        /// Burst ratio (1 = random loss).
        #[arg(long)]
        burst_r: Option<f64>,
        /// Advantage factor A (0 for wired; G.107 Table 2).
        #[arg(long)]
        advantage: Option<f64>,
    },
    /// ITU-T P.1203.1 mode 0 video quality from bitrate, resolution and frame rate.
    ///
    /// Example: hopscope quality video --codec h264 --width 1920 --height 1080 --bitrate 2800 --fps 30
    Video {
        /// Codec: h264, h265, vp9, vp8, av1.
        #[arg(long, default_value = "h264")]
        codec: String,
        /// Coded width, pixels.
        #[arg(long)]
        width: u32,
        /// Coded height, pixels.
        #[arg(long)]
        height: u32,
        /// Bitrate, kbit/s.
        #[arg(long)]
        bitrate: f64,
        /// Frame rate, frames per second.
        #[arg(long)]
        fps: f64,
        /// Display width, pixels (defaults to the coded width).
        #[arg(long)]
        display_width: Option<u32>,
        /// Display height, pixels (defaults to the coded height).
        #[arg(long)]
        display_height: Option<u32>,
    },
}

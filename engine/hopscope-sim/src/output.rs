//! What a simulation produces: per participant, the NDJSON a browser SDK would have sent;
//! per observing middlebox, what its monitoring would have sent; all of it merged into one
//! conference file; and the truth about what was wrong.

use crate::truth::Truth;

/// One NDJSON line and when it was sent.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub at_ms: f64,
    pub json: String,
}

/// One participant's observations.
#[derive(Clone, Debug)]
pub struct ParticipantOutput {
    /// The participant's name (also its `participant` field).
    pub name: String,
    /// Native observation envelopes, one per line, in time order.
    pub ndjson: String,
    line_times: Vec<f64>,
}

/// Which kind of middlebox wrote a [`ServerOutput`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    /// The media server (`source: sfu`).
    Sfu,
    /// A TURN relay (`source: turn`).
    Turn,
}

impl ServerKind {
    /// `sfu` or `turn`, as the envelopes' `source`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerKind::Sfu => "sfu",
            ServerKind::Turn => "turn",
        }
    }
}

/// One observing middlebox's envelopes (`docs/middlebox-observations.md`).
#[derive(Clone, Debug)]
pub struct ServerOutput {
    /// The server's name (its `server` field).
    pub name: String,
    /// Media server or relay.
    pub kind: ServerKind,
    /// Native observation envelopes, one per line, in time order.
    pub ndjson: String,
    line_times: Vec<f64>,
}

/// The result of [`crate::simulate`].
#[derive(Clone, Debug)]
pub struct Simulation {
    /// One entry per participant, in scenario order.
    pub participants: Vec<ParticipantOutput>,
    /// One entry per middlebox with `observe: true`: the media server, then the relays.
    pub servers: Vec<ServerOutput>,
    /// What the scenario injected: the ground truth a diagnosis is scored against.
    pub truth: Truth,
}

/// Joins lines in time order into NDJSON, keeping their times.
fn render(mut lines: Vec<Line>) -> (String, Vec<f64>) {
    lines.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
    let mut ndjson = String::with_capacity(lines.iter().map(|l| l.json.len() + 1).sum());
    let mut line_times = Vec::with_capacity(lines.len());
    for l in lines {
        ndjson.push_str(&l.json);
        ndjson.push('\n');
        line_times.push(l.at_ms);
    }
    (ndjson, line_times)
}

impl ServerOutput {
    pub(crate) fn new(name: String, kind: ServerKind, lines: Vec<Line>) -> ServerOutput {
        let (ndjson, line_times) = render(lines);
        ServerOutput { name, kind, ndjson, line_times }
    }
}

impl ParticipantOutput {
    pub(crate) fn new(name: String, lines: Vec<Line>) -> ParticipantOutput {
        let (ndjson, line_times) = render(lines);
        ParticipantOutput { name, ndjson, line_times }
    }

    /// The lines with their send times.
    fn timed_lines(&self) -> Vec<(f64, &str)> {
        self.line_times.iter().copied().zip(self.ndjson.lines()).collect()
    }
}

impl Simulation {
    /// Every participant's lines merged in time order, as a server storing a whole
    /// conference would keep them (ties keep scenario order). Endpoint data only: what a
    /// deployment without middlebox monitoring has.
    pub fn combined(&self) -> String {
        merge(self.participants.iter().map(ParticipantOutput::timed_lines).collect())
    }

    /// [`Simulation::combined`] with the middleboxes' observations merged in.
    pub fn combined_with_servers(&self) -> String {
        let mut sources: Vec<Vec<(f64, &str)>> =
            self.participants.iter().map(ParticipantOutput::timed_lines).collect();
        sources.extend(
            self.servers.iter().map(|s| s.line_times.iter().copied().zip(s.ndjson.lines()).collect()),
        );
        merge(sources)
    }
}

/// Lines of several sources merged in time order (ties keep source order).
fn merge(sources: Vec<Vec<(f64, &str)>>) -> String {
    let mut all: Vec<(f64, usize, &str)> = sources
        .into_iter()
        .enumerate()
        .flat_map(|(i, lines)| lines.into_iter().map(move |(t, l)| (t, i, l)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut out = String::with_capacity(all.iter().map(|(_, _, l)| l.len() + 1).sum());
    for (_, _, line) in all {
        out.push_str(line);
        out.push('\n');
    }
    out
}

//! What a simulation produces: per participant, the NDJSON a browser SDK would have sent,
//! and all of it merged into one conference file.

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

/// The result of [`crate::simulate`].
#[derive(Clone, Debug)]
pub struct Simulation {
    /// One entry per participant, in scenario order.
    pub participants: Vec<ParticipantOutput>,
}

impl ParticipantOutput {
    pub(crate) fn new(name: String, mut lines: Vec<Line>) -> ParticipantOutput {
        lines.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
        let mut ndjson = String::with_capacity(lines.iter().map(|l| l.json.len() + 1).sum());
        let mut line_times = Vec::with_capacity(lines.len());
        for l in lines {
            ndjson.push_str(&l.json);
            ndjson.push('\n');
            line_times.push(l.at_ms);
        }
        ParticipantOutput { name, ndjson, line_times }
    }

    /// The lines with their send times.
    fn timed_lines(&self) -> impl Iterator<Item = (f64, &str)> {
        self.line_times.iter().copied().zip(self.ndjson.lines())
    }
}

impl Simulation {
    /// Every participant's lines merged in time order, as a server storing a whole
    /// conference would keep them (ties keep scenario order).
    pub fn combined(&self) -> String {
        let mut all: Vec<(f64, usize, &str)> = self
            .participants
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.timed_lines().map(move |(t, l)| (t, i, l)))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut out = String::with_capacity(all.iter().map(|(_, _, l)| l.len() + 1).sum());
        for (_, _, line) in all {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

//! The conference as a plugin sees it, built from the rules' [`View`]: the same entities
//! and the same per-tick values YAML rules read, limited to the metrics the manifest asked for.

use std::cell::RefCell;
use std::collections::HashMap;

use hopscope_model::stats::MediaKind;
use hopscope_rules::catalogue::{MetricId, Scope};
use hopscope_rules::finding::Finding;
use hopscope_rules::view::{EntityRef, Val, View};

use crate::bindings::hopscope::plugin::types as wit;
use crate::convert;
use crate::manifest::Wanted;

fn metrics(view: &View, entity: EntityRef, scope: Scope, wanted: &[Wanted]) -> wit::Metrics {
    let ticks = view.ticks.len();
    let mut out = wit::Metrics { numbers: Vec::new(), texts: Vec::new() };
    for w in wanted.iter().filter(|w| w.scope == scope) {
        if w.text {
            let values = (0..ticks)
                .map(|t| match view.value(entity, w.id, t) {
                    Val::Text(s) => Some(s.to_string()),
                    _ => None,
                })
                .collect();
            out.texts.push(wit::TextSeries { metric: w.name.to_string(), values });
        } else if w.flag {
            let values = (0..ticks)
                .map(|t| match view.value(entity, w.id, t) {
                    Val::Bool(b) => f64::from(u8::from(b)),
                    _ => f64::NAN,
                })
                .collect();
            out.numbers.push(wit::Series { metric: w.name.to_string(), values });
        } else {
            let mut values = vec![f64::NAN; ticks];
            if let Some(last) = ticks.checked_sub(1) {
                // The view's scan: metrics pooled over streams or routes (a participant's
                // heard MOS, a hop's loss) come in one pass instead of one pooling per tick.
                view.each_number_at(entity, w.id, 0, last, |t, v| values[t] = v);
            }
            out.numbers.push(wit::Series { metric: w.name.to_string(), values });
        }
    }
    out
}

/// One stream metric for every stream, stream after stream.
fn stream_column(view: &View, w: &Wanted) -> Column {
    let cells = view.streams.len() * view.ticks.len();
    if w.text {
        let mut values = Vec::with_capacity(cells);
        for i in 0..view.streams.len() {
            values.extend((0..view.ticks.len()).map(|t| match view.value(EntityRef::Stream(i), w.id, t) {
                Val::Text(s) => Some(s.to_string()),
                _ => None,
            }));
        }
        Column::Texts(values)
    } else {
        let mut values = Vec::with_capacity(cells);
        for i in 0..view.streams.len() {
            view.stream_numbers_into(i, w.id, &mut values);
        }
        Column::Numbers(values)
    }
}

/// A stream metric's highest and lowest value per stream (NaN where it has none), yes/no
/// as 1 and 0 like the series.
pub(crate) fn stream_summary(view: &View, metric: MetricId) -> wit::StreamSummary {
    let n = view.streams.len();
    let (mut highest, mut lowest) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let (low, high) = view.stream_range(i, metric).unwrap_or((f64::NAN, f64::NAN));
        highest.push(high);
        lowest.push(low);
    }
    wit::StreamSummary { highest, lowest }
}

/// A stream metric's values for every stream.
enum Column {
    Numbers(Vec<f64>),
    Texts(Vec<Option<String>>),
}

/// One pass of plugins over a view: the view, the findings of the rules run before them,
/// and the parts of a plugin's input that depend only on those (every stream's attributes,
/// the stream metric columns, megabytes on a big call, the participants, connections and
/// hops with their ids and lists, and the earlier findings in the sandbox's terms). These
/// are built once and lent to each plugin of the pass: they move into a plugin's input for
/// its call and back afterwards, so the plugins share them without copying.
pub struct SharedInput<'v> {
    view: &'v View,
    earlier: &'v [Finding],
    table: Option<(wit::Streams, Vec<String>)>,
    /// Participants and connections by whether their stream lists are filled in, and
    /// hops: the metrics in them are the last plugin's, replaced for each.
    participants: HashMap<bool, Vec<wit::Participant>>,
    peer_connections: HashMap<bool, Vec<wit::PeerConnection>>,
    hops: Option<Vec<wit::Hop>>,
    columns: HashMap<(MetricId, bool), Column>,
    /// Stream summaries plugins asked for (`summarise-streams`), kept for the next one.
    pub(crate) summaries: RefCell<HashMap<MetricId, wit::StreamSummary>>,
    earlier_findings: Option<Vec<wit::EarlierFinding>>,
}

impl std::fmt::Debug for SharedInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedInput")
            .field("columns", &self.columns.len())
            .field("summaries", &self.summaries.borrow().len())
            .finish_non_exhaustive()
    }
}

impl<'v> SharedInput<'v> {
    /// A pass over `view` after the rules that found `earlier`; nothing built yet.
    pub fn new(view: &'v View, earlier: &'v [Finding]) -> SharedInput<'v> {
        SharedInput {
            view,
            earlier,
            table: None,
            participants: HashMap::new(),
            peer_connections: HashMap::new(),
            hops: None,
            columns: HashMap::new(),
            summaries: RefCell::new(HashMap::new()),
            earlier_findings: None,
        }
    }

    /// The view the input describes.
    pub fn view(&self) -> &'v View {
        self.view
    }

    fn take_earlier_findings(&mut self) -> Vec<wit::EarlierFinding> {
        self.earlier_findings.take().unwrap_or_else(|| earlier_findings(self.view, self.earlier))
    }

    fn take_table(&mut self) -> (wit::Streams, Vec<String>) {
        self.table.take().unwrap_or_else(|| stream_table(self.view))
    }

    fn take_participants(&mut self, with_streams: bool) -> Vec<wit::Participant> {
        self.participants.remove(&with_streams).unwrap_or_else(|| {
            let view = self.view;
            view.participants
                .iter()
                .map(|p| wit::Participant {
                    id: p.id.to_string(),
                    peer_connections: indices(&p.pcs),
                    streams: if with_streams { indices(&p.streams) } else { Vec::new() },
                    metrics: no_metrics(),
                })
                .collect()
        })
    }

    fn take_peer_connections(&mut self, with_streams: bool) -> Vec<wit::PeerConnection> {
        self.peer_connections.remove(&with_streams).unwrap_or_else(|| {
            let view = self.view;
            view.pcs
                .iter()
                .map(|pc| wit::PeerConnection {
                    id: pc.id.to_string(),
                    participant: index(pc.participant),
                    streams: if with_streams { indices(&pc.streams) } else { Vec::new() },
                    metrics: no_metrics(),
                })
                .collect()
        })
    }

    fn take_hops(&mut self) -> Vec<wit::Hop> {
        self.hops.take().unwrap_or_else(|| {
            let view = self.view;
            (0..view.hops.len())
                .map(|i| wit::Hop {
                    from: hop_text(view, i, "from"),
                    to: hop_text(view, i, "to"),
                    from_kind: hop_text(view, i, "from_kind"),
                    to_kind: hop_text(view, i, "to_kind"),
                    metrics: no_metrics(),
                })
                .collect()
        })
    }

    fn take_column(&mut self, w: &Wanted) -> Column {
        self.columns.remove(&(w.id, w.text)).unwrap_or_else(|| stream_column(self.view, w))
    }

    /// Takes back what [`conference`] lent to `input`.
    pub(crate) fn put_back(&mut self, input: wit::Conference, wanted: &[Wanted]) {
        let with_streams = reads(wanted, Scope::Stream);
        if !input.streams.participant.is_empty() {
            self.table = Some((input.streams, input.codecs));
        }
        self.participants.insert(with_streams, input.participants);
        self.peer_connections.insert(with_streams, input.peer_connections);
        if !input.hops.is_empty() {
            self.hops = Some(input.hops);
        }
        self.earlier_findings = Some(input.earlier_findings);
        let mut numbers = input.stream_metrics.numbers.into_iter();
        let mut texts = input.stream_metrics.texts.into_iter();
        for w in wanted.iter().filter(|w| w.is_stream_column()) {
            let column = if w.text {
                texts.next().map(|s| Column::Texts(s.values))
            } else {
                numbers.next().map(|s| Column::Numbers(s.values))
            };
            if let Some(column) = column {
                self.columns.insert((w.id, w.text), column);
            }
        }
    }
}

/// The wanted stream metrics, lent by `shared`.
fn stream_columns(shared: &mut SharedInput<'_>, wanted: &[Wanted]) -> wit::Metrics {
    let mut out = wit::Metrics { numbers: Vec::new(), texts: Vec::new() };
    for w in wanted.iter().filter(|w| w.is_stream_column()) {
        let metric = w.name.to_string();
        match shared.take_column(w) {
            Column::Numbers(values) => out.numbers.push(wit::Series { metric, values }),
            Column::Texts(values) => out.texts.push(wit::TextSeries { metric, values }),
        }
    }
    out
}

/// Whether a plugin wanting `wanted` reads metrics of `scope`.
fn reads(wanted: &[Wanted], scope: Scope) -> bool {
    wanted.iter().any(|w| w.scope == scope)
}

fn no_metrics() -> wit::Metrics {
    wit::Metrics { numbers: Vec::new(), texts: Vec::new() }
}

fn hop_text(view: &View, hop: usize, metric: &str) -> String {
    let Some((id, _)) = Scope::Hop.metric(metric) else { return String::new() };
    if view.ticks.is_empty() {
        return String::new();
    }
    match view.value(EntityRef::Hop(hop), id, 0) {
        Val::Text(s) => s.to_string(),
        _ => String::new(),
    }
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn indices(v: &[usize]) -> Vec<u32> {
    v.iter().map(|&i| index(i)).collect()
}

/// "None" in the WIT's u32 columns.
const NONE: u32 = u32::MAX;

fn no_streams() -> wit::Streams {
    wit::Streams {
        participant: Vec::new(),
        peer_connection: Vec::new(),
        direction: Vec::new(),
        kind: Vec::new(),
        ssrc: Vec::new(),
        codec: Vec::new(),
        sender: Vec::new(),
    }
}

/// Every stream by column, and the codecs the columns point into. Codecs and senders go
/// by index: thousands of strings would cost the plugin an allocation each to receive,
/// and a call uses a handful of codecs, so a list beats a map.
fn stream_table(view: &View) -> (wit::Streams, Vec<String>) {
    let n = view.streams.len();
    let mut t = wit::Streams {
        participant: Vec::with_capacity(n),
        peer_connection: Vec::with_capacity(n),
        direction: Vec::with_capacity(n),
        kind: Vec::with_capacity(n),
        ssrc: Vec::with_capacity(n),
        codec: Vec::with_capacity(n),
        sender: Vec::with_capacity(n),
    };
    let mut codecs: Vec<String> = Vec::new();
    // The view shares one copy of each codec name, so a pointer finds it without comparing
    // strings 5000 times.
    let mut seen: Vec<&std::sync::Arc<str>> = Vec::new();
    for s in &view.streams {
        let a = &s.attrs;
        let codec = a.codec.as_ref().map_or(NONE, |name| {
            let known = seen
                .iter()
                .position(|c| std::sync::Arc::ptr_eq(c, name))
                .or_else(|| codecs.iter().position(|c| **c == **name));
            match known {
                Some(i) => index(i),
                None => {
                    codecs.push(name.to_string());
                    seen.push(name);
                    index(codecs.len() - 1)
                }
            }
        });
        t.participant.push(index(s.participant));
        t.peer_connection.push(index(s.pc));
        t.direction.push(u8::from(!a.inbound));
        t.kind.push(match a.media {
            None => 0,
            Some(MediaKind::Audio) => 1,
            Some(MediaKind::Video) => 2,
        });
        t.ssrc.push(a.ssrc.map_or(-1, i64::from));
        t.codec.push(codec);
        t.sender.push(a.sender_index.map_or(NONE, index));
    }
    (t, codecs)
}

/// The plugin's input; what `shared` lends it goes back with [`SharedInput::put_back`].
pub(crate) fn conference(shared: &mut SharedInput<'_>, wanted: &[Wanted]) -> wit::Conference {
    let view = shared.view;
    // A 50-person SFU call has 5000 streams: a plugin that reads no stream (or hop)
    // metric gets none, rather than paying to copy them into its sandbox.
    let (with_streams, with_hops) = (reads(wanted, Scope::Stream), reads(wanted, Scope::Hop));
    let mut participants = shared.take_participants(with_streams);
    for (i, p) in participants.iter_mut().enumerate() {
        p.metrics = metrics(view, EntityRef::Participant(i), Scope::Participant, wanted);
    }
    let mut peer_connections = shared.take_peer_connections(with_streams);
    for (i, pc) in peer_connections.iter_mut().enumerate() {
        pc.metrics = metrics(view, EntityRef::Pc(i), Scope::PeerConnection, wanted);
    }
    let (streams, codecs) = if with_streams { shared.take_table() } else { (no_streams(), Vec::new()) };
    let mut hops = if with_hops { shared.take_hops() } else { Vec::new() };
    for (i, hop) in hops.iter_mut().enumerate() {
        hop.metrics = metrics(view, EntityRef::Hop(i), Scope::Hop, wanted);
    }
    wit::Conference {
        id: view.conference.to_string(),
        ticks_ms: view.ticks.iter().map(|t| t.epoch_ms()).collect(),
        participants,
        peer_connections,
        streams,
        codecs,
        stream_metrics: if with_streams {
            stream_columns(shared, wanted)
        } else {
            wit::Metrics { numbers: Vec::new(), texts: Vec::new() }
        },
        hops,
        metrics: metrics(view, EntityRef::Conference, Scope::Conference, wanted),
        earlier_findings: shared.take_earlier_findings(),
    }
}

/// Earlier findings, their scopes turned back into indices.
fn earlier_findings(view: &View, earlier: &[Finding]) -> Vec<wit::EarlierFinding> {
    if earlier.is_empty() {
        return Vec::new();
    }
    // Findings name entities by ids; a finding's stream is found under its peer connection
    // (a few dozen streams) rather than through a map of all 5000 built per plugin.
    // Sorted ids, searched: cheaper to build than a hash map for the few findings a
    // call has.
    let mut participants: Vec<(&str, usize)> =
        view.participants.iter().enumerate().map(|(i, p)| (&*p.id, i)).collect();
    participants.sort_unstable();
    let participant_index = |id: &str| -> Option<usize> {
        let at = participants.binary_search_by(|(known, _)| (*known).cmp(id)).ok()?;
        participants.get(at).map(|(_, i)| *i)
    };
    let pc_of = |participant: &str, pc: &str| -> Option<usize> {
        let p = view.participants.get(participant_index(participant)?)?;
        p.pcs.iter().copied().find(|&i| view.pcs.get(i).is_some_and(|c| &*c.id == pc))
    };
    let stream_of = |participant: &str, pc: &str, direction: &str, ssrc: Option<u32>| -> Option<usize> {
        let c = view.pcs.get(pc_of(participant, pc)?)?;
        let inbound = match direction {
            "inbound" => true,
            "outbound" => false,
            _ => return None,
        };
        c.streams.iter().copied().find(|&i| {
            view.streams.get(i).is_some_and(|s| s.attrs.ssrc == ssrc && s.attrs.inbound == inbound)
        })
    };
    let hops: HashMap<&str, usize> = view.hops.iter().enumerate().map(|(i, h)| (&*h.label, i)).collect();
    earlier
        .iter()
        .map(|f| {
            let s = &f.scope;
            let p = s.participant.as_deref().unwrap_or_default();
            let pc = s.peer_connection.as_deref().unwrap_or_default();
            let subject = match s.scope {
                Scope::Stream => stream_of(p, pc, s.direction.as_deref().unwrap_or_default(), s.ssrc)
                    .map(|i| wit::Subject::Stream(index(i))),
                Scope::PeerConnection => pc_of(p, pc).map(|i| wit::Subject::PeerConnection(index(i))),
                Scope::Participant => participant_index(p).map(|i| wit::Subject::Participant(index(i))),
                Scope::Hop => {
                    s.hop.as_deref().and_then(|h| hops.get(h)).map(|&i| wit::Subject::Hop(index(i)))
                }
                Scope::Conference => None,
            }
            .unwrap_or(wit::Subject::Conference);
            wit::EarlierFinding {
                participant: s.participant.as_deref().and_then(participant_index).map(index),
                rule: f.rule.clone(),
                severity: convert::severity_to_wit(f.severity),
                category: convert::category_to_wit(f.category),
                subject,
                raised_ms: f.raised_ms,
                cleared_ms: (!f.open_at_end).then_some(f.ended_ms),
                message: f.message.clone(),
            }
        })
        .collect()
}

//! When each peer connection is created, negotiates, connects, drops and closes, and the
//! events a collector records on the way, with the timings Chromium showed in the captures:
//! ICE `disconnected` ~5 s after the path dies, `connectionState: failed` 10 s after that,
//! `iceConnectionState` never `failed` in Chrome, and relay-only ICE with a broken TURN
//! server staying `new` for good.

use fastrand::Rng;

use crate::scenario::Window;

/// How long Chrome takes to notice a dead path (no consent responses).
const DETECT_S: f64 = 5.0;
/// From `disconnected` to `connectionState: failed`.
const FAIL_AFTER_DISCONNECT_S: f64 = 10.0;
/// ICE checks that never succeed are given up after this long.
const CHECKS_GIVE_UP_S: f64 = 15.0;
/// An application closes a failed connection about this long after it failed.
const CLOSE_AFTER_FAILURE_S: f64 = 1.0;

/// One recorded event: a method or callback name and its value as JSON text.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub at: f64,
    pub kind: &'static str,
    pub value: String,
}

/// A peer connection's life.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timeline {
    pub created: f64,
    pub closed: f64,
    /// ICE connected for the first time.
    pub connected: Option<f64>,
    /// DTLS done: RTP flows from here.
    pub media_from: Option<f64>,
    /// `connectionState: failed`: candidate pairs vanish from getStats.
    pub failed_at: Option<f64>,
    /// When the network path is down (after a failure it stays down).
    pub outages: Vec<Window>,
    /// `transport.iceState` and `dtlsState` over time.
    pub ice_states: Vec<(f64, &'static str)>,
    pub dtls_states: Vec<(f64, &'static str)>,
    /// ICE checks started (a candidate pair exists).
    pub checking: Option<f64>,
    /// The local side never learnt the remote credentials: its pair stays `waiting`.
    pub pair_waiting: bool,
    /// Local candidates were gathered.
    pub gathered: bool,
    pub events: Vec<Event>,
}

impl Timeline {
    pub fn new(created: f64, closed: f64) -> Timeline {
        Timeline {
            created,
            closed,
            ice_states: vec![(created, "new")],
            dtls_states: vec![(created, "new")],
            gathered: true,
            ..Timeline::default()
        }
    }

    pub fn push(&mut self, at: f64, kind: &'static str, value: impl Into<String>) {
        self.events.push(Event { at, kind, value: value.into() });
    }

    /// A state list's value at `t`.
    pub fn state_at(list: &[(f64, &'static str)], t: f64) -> &'static str {
        list.iter().take_while(|(at, _)| *at <= t).last().map_or("new", |(_, s)| *s)
    }

    /// Whether the network path is down at `t`.
    pub fn down(&self, t: f64) -> bool {
        self.outages.iter().any(|w| w.contains(t))
    }

    /// Whether RTP can flow at `t` (connected, not closed; a dead path still "sends").
    pub fn sending(&self, t: f64) -> bool {
        self.media_from.is_some_and(|m| m <= t) && t < self.closed
    }

    /// The time span `[from, to)` in which RTP can flow, if any.
    pub fn media_window(&self) -> Option<(f64, f64)> {
        self.media_from.filter(|m| *m < self.closed).map(|m| (m, self.closed))
    }
}

/// What a connection's two ends need to know to play out its life.
pub(crate) struct Side<'a> {
    pub tl: &'a mut Timeline,
    pub setup: f64,
    pub never_connects: bool,
    pub ice_error: bool,
    pub negotiation_error: Option<&'a str>,
    pub disconnect: &'a [Window],
    pub fail_at: Option<f64>,
    /// The browser reports `iceConnectionState: failed` (Firefox, Safari).
    pub ice_state_fails: bool,
}

fn state(tl: &mut Timeline, at: f64, ice: Option<&'static str>, connection: Option<&'static str>) {
    if let Some(s) = ice {
        tl.push(at, "iceconnectionstatechange", json_str(s));
    }
    if let Some(s) = connection {
        tl.push(at, "connectionstatechange", json_str(s));
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::new();
    crate::json::push_string(&mut out, s);
    out
}

/// Plays out ICE and DTLS once both sides have what they need: checks from `checking`
/// (each side's own time), outages, reconnections and failure. `b` is `None` for a media
/// server, whose side is not recorded.
pub(crate) fn connect(rng: &mut Rng, a: Side, b: Option<Side>, checking: (f64, f64), rtt: f64) {
    let mut sides: Vec<Side> = std::iter::once(a).chain(b).collect();
    let never = sides.iter().any(|s| s.never_connects);
    let ice_error = sides.iter().any(|s| s.never_connects && s.ice_error);
    let rejected = sides.iter().position(|s| s.negotiation_error.is_some());
    if never && ice_error {
        // Relay-only with a TURN server that refuses: no candidate pair, ICE stays `new`.
        return;
    }
    for (i, s) in sides.iter_mut().enumerate() {
        let at = if i == 0 { checking.0 } else { checking.1 };
        s.tl.checking = Some(at);
        s.tl.ice_states.push((at, "checking"));
        state(s.tl, at, Some("checking"), Some("connecting"));
    }
    if never {
        for s in &mut sides {
            let start = s.tl.checking.unwrap_or(s.tl.created);
            let give_up = start + CHECKS_GIVE_UP_S;
            let failed = if s.ice_state_fails { give_up } else { give_up + FAIL_AFTER_DISCONNECT_S };
            if give_up < s.tl.closed {
                s.tl.ice_states.push((give_up, if s.ice_state_fails { "failed" } else { "disconnected" }));
                state(s.tl, give_up, Some(if s.ice_state_fails { "failed" } else { "disconnected" }), None);
            }
            if failed < s.tl.closed {
                s.tl.ice_states.push((failed, "failed"));
                state(s.tl, failed, None, Some("failed"));
                s.tl.failed_at = Some(failed);
                s.tl.closed = s.tl.closed.min(failed + CLOSE_AFTER_FAILURE_S);
            }
        }
        return;
    }
    let setup = sides.iter().map(|s| s.setup).fold(0.0, f64::max);
    let connected = checking.0.max(checking.1) + setup;
    let dtls = connected + 0.005 + rtt;
    if let Some(r) = rejected {
        // The side that rejected the description never learns the other's credentials: its
        // checks stall; the other side's ICE connects, but DTLS never completes.
        for (i, s) in sides.iter_mut().enumerate() {
            if i == r {
                s.tl.pair_waiting = true;
            } else if connected < s.tl.closed {
                s.tl.connected = Some(connected);
                s.tl.ice_states.push((connected, "connected"));
                s.tl.dtls_states.push((connected, "connecting"));
                state(s.tl, connected, Some("connected"), None);
            }
        }
        return;
    }
    for (i, s) in sides.iter_mut().enumerate() {
        let at = connected + 0.001 * i as f64;
        if at >= s.tl.closed {
            continue;
        }
        s.tl.connected = Some(at);
        s.tl.media_from = Some(dtls);
        s.tl.ice_states.push((at, "connected"));
        s.tl.dtls_states.push((at, "connecting"));
        s.tl.dtls_states.push((dtls, "connected"));
        state(s.tl, at, Some("connected"), None);
        if dtls < s.tl.closed {
            state(s.tl, dtls, None, Some("connected"));
        }
    }
    // Outages: each side's `disconnect` windows and `fail_at` break the shared path.
    let mut outages: Vec<Window> = sides
        .iter()
        .flat_map(|s| {
            s.disconnect.iter().copied().chain(s.fail_at.map(|f| Window { from: f, to: f64::INFINITY }))
        })
        .filter(|w| w.to > dtls)
        .collect();
    outages.sort_by(|x, y| x.from.total_cmp(&y.from));
    let mut merged: Vec<Window> = Vec::new();
    for w in outages {
        match merged.last_mut() {
            Some(last) if w.from <= last.to => last.to = last.to.max(w.to),
            _ => merged.push(w),
        }
    }
    for w in merged {
        let detect = w.from.max(dtls) + DETECT_S + 0.4 * rng.f64();
        let failed_at = detect + FAIL_AFTER_DISCONNECT_S;
        for s in &mut sides {
            if s.tl.failed_at.is_some() {
                continue;
            }
            s.tl.outages.push(w);
            if detect >= w.to || detect >= s.tl.closed {
                continue;
            }
            s.tl.ice_states.push((detect, "disconnected"));
            state(s.tl, detect, Some("disconnected"), Some("disconnected"));
            if w.to > failed_at {
                if failed_at < s.tl.closed {
                    s.tl.ice_states.push((failed_at, "failed"));
                    state(s.tl, failed_at, s.ice_state_fails.then_some("failed"), Some("failed"));
                    s.tl.failed_at = Some(failed_at);
                    s.tl.closed = s.tl.closed.min(failed_at + CLOSE_AFTER_FAILURE_S);
                }
                // Nothing comes back after a failure: the path stays dead for this connection.
                if let Some(last) = s.tl.outages.last_mut() {
                    last.to = f64::INFINITY;
                }
            } else {
                let back = w.to + 0.1 + 0.3 * rng.f64();
                if back < s.tl.closed {
                    s.tl.ice_states.push((back, "connected"));
                    state(s.tl, back, Some("connected"), Some("connected"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side<'a>(tl: &'a mut Timeline, disconnect: &'a [Window], fail_at: Option<f64>) -> Side<'a> {
        Side {
            tl,
            setup: 0.3,
            never_connects: false,
            ice_error: false,
            negotiation_error: None,
            disconnect,
            fail_at,
            ice_state_fails: false,
        }
    }

    fn states(tl: &Timeline) -> Vec<(String, &str)> {
        tl.events.iter().map(|e| (format!("{:.1}", e.at), e.kind)).collect()
    }

    #[test]
    fn chrome_timers_for_outages_and_failure() {
        let mut rng = Rng::with_seed(1);
        let (mut a, mut b) = (Timeline::new(0.0, 60.0), Timeline::new(0.1, 60.0));
        let windows = [Window { from: 20.0, to: 27.0 }];
        connect(
            &mut rng,
            side(&mut a, &windows, Some(40.0)),
            Some(side(&mut b, &[], None)),
            (0.2, 0.19),
            0.04,
        );
        assert_eq!(a.connected, Some(0.5));
        let ice: Vec<_> = a.ice_states.iter().map(|(_, s)| *s).collect();
        assert_eq!(
            ice,
            ["new", "checking", "connected", "disconnected", "connected", "disconnected", "failed"]
        );
        let failed = a.failed_at.expect("failed");
        assert!((55.0..55.5).contains(&failed), "{failed}");
        assert!((a.closed - failed - 1.0).abs() < 1e-9);
        // Chrome: iceConnectionState never fires `failed`; connectionState does.
        assert!(!a.events.iter().any(|e| e.kind == "iceconnectionstatechange" && e.value == "\"failed\""));
        assert!(b.events.iter().any(|e| e.kind == "connectionstatechange" && e.value == "\"failed\""));
        assert!(a.down(25.0) && !a.down(28.0) && a.down(1000.0), "{:?}", states(&a));
    }
}

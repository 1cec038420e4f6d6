//! The core inference, free of WebRTC: given measurements that each cover a path of hops
//! and say "bad" or "clean", find the fewest hops that explain every bad one.
//!
//! A hop on the path of a clean measurement is exonerated: a lossy hop hurts everything
//! that crosses it. Of the rest, the hop that explains the most bad measurements is chosen
//! first (parsimony: one overloaded relay explains thirty participants' loss better than
//! thirty bad networks do). When several hops explain exactly the same measurements, the
//! data cannot tell them apart: they come back together, undecided.

/// One measurement: the hops its path crosses, and what it said.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// Hop indices (into the caller's table) along the measured path.
    pub path: Vec<usize>,
    /// Whether the measured value crossed the "bad" threshold (else it is clearly clean;
    /// values in between are not measurements at all).
    pub bad: bool,
    /// Measured at a single segment by the hop's own side (an SFU's receiver report about
    /// one sender's uplink, a relay's counters): worth more than an end-to-end view.
    pub direct: bool,
}

/// Hops that explain some bad measurements.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The hop, or the hops the data cannot tell apart (sorted).
    pub hops: Vec<usize>,
    /// Indices of the bad measurements it explains.
    pub explains: Vec<usize>,
    /// How sure, 0..1: high with several independent or direct measurements and one hop;
    /// split evenly when undecided.
    pub confidence: f64,
}

/// Localises the bad measurements. Deterministic: ties break by hop index.
pub fn localise(measurements: &[Measurement]) -> Vec<Verdict> {
    let hop_count = measurements.iter().flat_map(|m| m.path.iter().copied()).max().map_or(0, |m| m + 1);
    let mut exonerated = vec![false; hop_count];
    for m in measurements.iter().filter(|m| !m.bad) {
        for &h in &m.path {
            exonerated[h] = true;
        }
    }
    let mut support: Vec<Vec<usize>> = vec![Vec::new(); hop_count];
    for (i, m) in measurements.iter().enumerate().filter(|(_, m)| m.bad) {
        for &h in &m.path {
            if !exonerated[h] && !support[h].contains(&i) {
                support[h].push(i);
            }
        }
    }
    let mut uncovered: Vec<bool> = measurements.iter().map(|m| m.bad).collect();
    let mut verdicts = Vec::new();
    loop {
        let still =
            |h: usize| -> Vec<usize> { support[h].iter().copied().filter(|&i| uncovered[i]).collect() };
        let Some(best) = (0..hop_count).max_by_key(|&h| (still(h).len(), std::cmp::Reverse(h))) else {
            break;
        };
        let explains = still(best);
        if explains.is_empty() {
            break;
        }
        let hops: Vec<usize> = (0..hop_count).filter(|&h| still(h) == explains).collect();
        let direct = explains.iter().any(|&i| measurements[i].direct);
        let confidence = if hops.len() == 1 {
            // Several measurements, or one taken at the hop itself, make it firm.
            (0.55 + 0.12 * explains.len().min(3) as f64 + if direct { 0.1 } else { 0.0 }).min(0.95)
        } else {
            1.0 / hops.len() as f64
        };
        for &i in &explains {
            uncovered[i] = false;
        }
        verdicts.push(Verdict { hops, explains, confidence });
    }
    verdicts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(path: &[usize], bad: bool) -> Measurement {
        Measurement { path: path.to_vec(), bad, direct: false }
    }

    // Hops for a 3-person SFU call: 0..3 uplinks, 3..6 downlinks, 6 the SFU.
    fn flow(from: usize, to: usize, bad: bool) -> Measurement {
        m(&[from, 6, 3 + to], bad)
    }

    fn call(bad: impl Fn(usize, usize) -> bool) -> Vec<Measurement> {
        let mut out = Vec::new();
        for s in 0..3 {
            for r in 0..3 {
                if s != r {
                    out.push(flow(s, r, bad(s, r)));
                }
            }
        }
        out
    }

    #[test]
    fn one_bad_uplink_is_pinned_on_the_sender() {
        let v = localise(&call(|s, _| s == 1));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].hops, vec![1]);
        assert_eq!(v[0].explains.len(), 2);
        assert!(v[0].confidence > 0.7);
    }

    #[test]
    fn one_bad_downlink_is_pinned_on_the_receiver() {
        let v = localise(&call(|_, r| r == 2));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].hops, vec![5]);
    }

    #[test]
    fn everyone_hurting_points_at_the_shared_server() {
        let v = localise(&call(|_, _| true));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].hops, vec![6]);
        assert_eq!(v[0].explains.len(), 6);
    }

    #[test]
    fn two_faults_at_once_are_both_found() {
        let v = localise(&call(|s, r| s == 0 || r == 1));
        let mut hops: Vec<Vec<usize>> = v.iter().map(|x| x.hops.clone()).collect();
        hops.sort();
        assert_eq!(hops, vec![vec![0], vec![4]]);
    }

    #[test]
    fn a_lone_peer_to_peer_flow_cannot_split_its_two_ends() {
        // alice's uplink (0) and bob's downlink (1) carry the only measurement.
        let v = localise(&[m(&[0, 1], true), m(&[2, 3], false)]);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].hops, vec![0, 1]);
        assert!((v[0].confidence - 0.5).abs() < 1e-9);
    }

    #[test]
    fn a_direct_measurement_splits_them() {
        // The SFU's receiver report covers only the sender's uplink.
        let report = Measurement { path: vec![0], bad: true, direct: true };
        let v = localise(&[m(&[0, 6, 4], true), report]);
        assert_eq!(v[0].hops, vec![0]);
        assert!(v[0].confidence > 0.85, "{}", v[0].confidence);
        // ...and a clean report exonerates it, leaving the rest undecided.
        let clean = Measurement { path: vec![0], bad: false, direct: true };
        let v = localise(&[m(&[0, 6, 4], true), clean]);
        assert_eq!(v[0].hops, vec![4, 6]);
    }

    #[test]
    fn clean_calls_give_nothing() {
        assert!(localise(&call(|_, _| false)).is_empty());
        assert!(localise(&[]).is_empty());
    }
}

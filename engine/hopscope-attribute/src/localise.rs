//! The core inference, free of WebRTC: given measurements that each cover a path of hops
//! and say "bad" or "clean", find the fewest hops that explain every bad one.
//!
//! A hop on the path of a clean measurement is exonerated: a lossy hop hurts everything
//! that crosses it. Of the rest, the hop that explains the most bad measurements is chosen
//! first (parsimony: one overloaded relay explains thirty participants' loss better than
//! thirty bad networks do). When several hops explain exactly the same measurements, the
//! data cannot tell them apart: they come back together, undecided.

/// One measurement: the path it crosses, and what it said.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    /// The path (index into the `paths` given to [`localise`]).
    pub path: usize,
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

/// Localises the bad measurements; `paths[i]` lists the hops (indices into the caller's
/// table) of path `i`. Deterministic: ties break by hop index.
pub fn localise(paths: &[Vec<usize>], measurements: &[Measurement]) -> Vec<Verdict> {
    let path = |m: &Measurement| paths.get(m.path).map_or(&[][..], Vec::as_slice);
    let hop_count = measurements.iter().flat_map(|m| path(m).iter().copied()).max().map_or(0, |m| m + 1);
    let mut exonerated = vec![false; hop_count];
    for m in measurements.iter().filter(|m| !m.bad) {
        for &h in path(m) {
            exonerated[h] = true;
        }
    }
    let mut support: Vec<Vec<usize>> = vec![Vec::new(); hop_count];
    for (i, m) in measurements.iter().enumerate().filter(|(_, m)| m.bad) {
        for &h in path(m) {
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

    /// Measurements with their paths inline, for readable tests.
    struct Call(Vec<(Vec<usize>, bool, bool)>);

    impl Call {
        fn localise(&self) -> Vec<Verdict> {
            let paths: Vec<Vec<usize>> = self.0.iter().map(|(p, _, _)| p.clone()).collect();
            let ms: Vec<Measurement> = self
                .0
                .iter()
                .enumerate()
                .map(|(i, (_, bad, direct))| Measurement { path: i, bad: *bad, direct: *direct })
                .collect();
            localise(&paths, &ms)
        }
    }

    fn m(path: &[usize], bad: bool) -> (Vec<usize>, bool, bool) {
        (path.to_vec(), bad, false)
    }

    // Hops for a 3-person SFU call: 0..3 uplinks, 3..6 downlinks, 6 the SFU.
    fn flow(from: usize, to: usize, bad: bool) -> (Vec<usize>, bool, bool) {
        m(&[from, 6, 3 + to], bad)
    }

    fn call(bad: impl Fn(usize, usize) -> bool) -> Call {
        let mut out = Vec::new();
        for s in 0..3 {
            for r in 0..3 {
                if s != r {
                    out.push(flow(s, r, bad(s, r)));
                }
            }
        }
        Call(out)
    }

    #[test]
    fn one_bad_uplink_is_pinned_on_the_sender() {
        let v = call(|s, _| s == 1).localise();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].hops, vec![1]);
        assert_eq!(v[0].explains.len(), 2);
        assert!(v[0].confidence > 0.7);
    }

    #[test]
    fn one_bad_downlink_is_pinned_on_the_receiver() {
        let v = call(|_, r| r == 2).localise();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].hops, vec![5]);
    }

    #[test]
    fn everyone_hurting_points_at_the_shared_server() {
        let v = call(|_, _| true).localise();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].hops, vec![6]);
        assert_eq!(v[0].explains.len(), 6);
    }

    #[test]
    fn two_faults_at_once_are_both_found() {
        let v = call(|s, r| s == 0 || r == 1).localise();
        let mut hops: Vec<Vec<usize>> = v.iter().map(|x| x.hops.clone()).collect();
        hops.sort();
        assert_eq!(hops, vec![vec![0], vec![4]]);
    }

    #[test]
    fn a_lone_peer_to_peer_flow_cannot_split_its_two_ends() {
        // alice's uplink (0) and bob's downlink (1) carry the only measurement.
        let v = Call(vec![m(&[0, 1], true), m(&[2, 3], false)]).localise();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].hops, vec![0, 1]);
        assert!((v[0].confidence - 0.5).abs() < 1e-9);
    }

    #[test]
    fn a_direct_measurement_splits_them() {
        // The SFU's receiver report covers only the sender's uplink.
        let report = (vec![0], true, true);
        let v = Call(vec![m(&[0, 6, 4], true), report]).localise();
        assert_eq!(v[0].hops, vec![0]);
        assert!(v[0].confidence > 0.85, "{}", v[0].confidence);
        // ...and a clean report exonerates it, leaving the rest undecided.
        let clean = (vec![0], false, true);
        let v = Call(vec![m(&[0, 6, 4], true), clean]).localise();
        assert_eq!(v[0].hops, vec![4, 6]);
    }

    #[test]
    fn clean_calls_give_nothing() {
        assert!(call(|_, _| false).localise().is_empty());
        assert!(localise(&[], &[]).is_empty());
    }
}

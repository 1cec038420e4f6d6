//! The conference told in plain English: what happened, to whom, when, how bad, which hop
//! caused it, how sure we are, what nobody could see, and what each person involved should
//! do. Deterministic text from templates, one paragraph per root cause.

use std::fmt::Write as _;

use hopscope_attribute::{Attribution, Direction, Fault, FaultKind, HopClass};
use hopscope_rules::finding::Finding;
use serde::Serialize;

/// The account of a conference.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Narrative {
    /// One or two sentences: how the call went and what mattered most.
    pub summary: String,
    /// One per root cause, in time order.
    pub paragraphs: Vec<Paragraph>,
    /// What no data could show.
    pub unobserved: Vec<String>,
}

/// One root cause, told.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Paragraph {
    /// The fault it tells.
    pub fault: String,
    /// The whole paragraph: what, who, when, how bad, where, how sure.
    pub text: String,
    /// The measurements behind it.
    pub evidence: Vec<String>,
    /// What to do, for each person involved.
    pub actions: Actions,
}

/// Recommended actions, by who should take them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Actions {
    /// The participant(s) affected or at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Support staff answering the ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support: Option<String>,
    /// Whoever runs the servers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operations: Option<String>,
}

/// Tells the conference.
pub fn narrate(outcome: &str, attribution: &Attribution, findings: &[Finding]) -> Narrative {
    let paragraphs: Vec<Paragraph> = attribution.faults.iter().map(|f| paragraph(f, findings)).collect();
    Narrative {
        summary: summary(outcome, attribution, findings),
        paragraphs,
        unobserved: attribution.unobserved.clone(),
    }
}

fn summary(outcome: &str, attribution: &Attribution, findings: &[Finding]) -> String {
    let how = match outcome {
        "completed" => "The call completed",
        "failed" => "The call failed: nobody got a media connection up",
        "partially_failed" => "The call partially failed: some participants never got media connected",
        "dropped" => "The call dropped: the connections broke mid-call",
        "aborted" => "The call was abandoned while connecting",
        "connecting" => "The data ends while the call was still connecting",
        other => return format!("The call's outcome: {other}."),
    };
    let faults = &attribution.faults;
    if faults.is_empty() {
        return if findings.is_empty() {
            format!("{how} without a problem worth reporting.")
        } else {
            format!(
                "{how}; {} finding{} below, with no single cause behind them.",
                findings.len(),
                plural(findings.len())
            )
        };
    }
    let main = faults
        .iter()
        .max_by(|a, b| {
            a.affected
                .len()
                .cmp(&b.affected.len())
                .then(duration(a).total_cmp(&duration(b)))
                .then(b.id.cmp(&a.id))
        })
        .map(headline)
        .unwrap_or_default();
    if faults.len() == 1 {
        format!("{how}. {}.", capitalise(&main))
    } else {
        format!("{how}. {} problems; the biggest: {main}.", faults.len())
    }
}

fn duration(f: &Fault) -> f64 {
    (f.to_ms - f.from_ms).max(0.0)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// "carol's network (uplink) lost packets", "the TURN relay turn.example.com refused the
/// relay credentials" (capitalise it to start a sentence).
fn headline(f: &Fault) -> String {
    let what = match f.kind {
        FaultKind::Loss => "lost packets",
        FaultKind::Jitter => "delivered packets unevenly (jitter)",
        FaultKind::Delay => "added delay",
        FaultKind::Bandwidth => "did not have the bandwidth for video",
        FaultKind::Cpu => "could not encode video fast enough (CPU)",
        FaultKind::Connectivity => "could not keep the connection up",
        FaultKind::TurnAuth => "refused the relay credentials",
        FaultKind::SfuOverload => "was overloaded",
    };
    format!("{} {what}", place(f))
}

/// Where, in words; the candidates when undecided.
fn place(f: &Fault) -> String {
    match &f.hop {
        Some(h) => h.to_string(),
        None => {
            let names: Vec<String> = f.candidates.iter().map(|c| c.hop.to_string()).collect();
            format!("either {}", join_or(&names))
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// `HH:MM:SS` of an RFC 3339 time.
fn clock(t: &str) -> &str {
    t.get(11..19).unwrap_or(t)
}

fn paragraph(f: &Fault, findings: &[Finding]) -> Paragraph {
    let mut text = capitalise(&headline(f));
    let secs = duration(f) / 1000.0;
    let _ = write!(text, " from {} to {} UTC ({})", clock(&f.from), clock(&f.to), span(secs));
    if let Some(m) = f.magnitude {
        let _ = match f.kind {
            FaultKind::Loss => write!(text, ", {m:.1}% of packets on average"),
            FaultKind::Jitter => write!(text, ", {m:.0} ms of jitter on average"),
            FaultKind::Delay | FaultKind::SfuOverload => {
                write!(text, ", round trips of {m:.0} ms on average")
            }
            FaultKind::Bandwidth => write!(text, ", the video bandwidth-limited {m:.0}% of the time"),
            FaultKind::Cpu => write!(text, ", the video CPU-limited {m:.0}% of the time"),
            FaultKind::Connectivity | FaultKind::TurnAuth => Ok(()),
        };
    }
    text.push('.');
    let suffered: Vec<String> =
        f.affected.iter().filter(|a| f.owner() != Some(a.as_str())).cloned().collect();
    if !suffered.is_empty() && matches!(f.kind, FaultKind::Loss | FaultKind::Jitter | FaultKind::SfuOverload)
    {
        let _ = write!(text, " It hurt what {} received", join_and(&suffered));
        if let Some(worst) = worst_symptom(f, findings) {
            let _ = write!(text, " ({worst})");
        }
        text.push('.');
    }
    let folded = f.symptoms.len();
    if folded > 0 {
        let _ = write!(text, " It explains {folded} of the findings below.");
    }
    let _ = match &f.hop {
        Some(_) => write!(text, " {} ({:.0}%).", sureness(f.confidence), f.confidence * 100.0),
        None => write!(
            text,
            " The data cannot tell which: {}.",
            f.would_decide.as_deref().unwrap_or("more data would be needed")
        ),
    };
    Paragraph { fault: f.id.clone(), text, evidence: f.evidence.clone(), actions: actions(f) }
}

fn span(secs: f64) -> String {
    if secs < 90.0 { format!("{secs:.0} s") } else { format!("{:.1} min", secs / 60.0) }
}

fn sureness(confidence: f64) -> &'static str {
    if confidence >= 0.85 {
        "We are confident of where it was"
    } else if confidence >= 0.65 {
        "This is the likely place"
    } else {
        "This is a tentative placement"
    }
}

/// The worst thing a folded finding says, for the "how bad" part: the lowest MOS, else the
/// first message.
fn worst_symptom(f: &Fault, findings: &[Finding]) -> Option<String> {
    let folded: Vec<&Finding> = findings.iter().filter(|x| f.symptoms.contains(&x.id)).collect();
    let mos = folded
        .iter()
        .flat_map(|x| x.peak.iter())
        .filter_map(|e| match e.value {
            hopscope_rules::finding::EvidenceValue::Num(v) if e.metric == "mos" => Some(v),
            hopscope_rules::finding::EvidenceValue::Num(r) if e.metric == "r_factor" => Some(r_to_mos(r)),
            _ => None,
        })
        .reduce(f64::min);
    if let Some(m) = mos {
        return Some(format!("audio quality down to MOS {m:.1}"));
    }
    folded.first().map(|x| x.message.clone())
}

/// ITU-T G.107 Annex B: R to MOS (for findings that carry R).
fn r_to_mos(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6
    }
}

fn actions(f: &Fault) -> Actions {
    let who = f.owner().unwrap_or("the participant").to_string();
    let mut a = Actions::default();
    let Some(hop) = &f.hop else {
        let mut people: Vec<String> = f.candidates.iter().filter_map(|c| c.hop.participant.clone()).collect();
        people.extend(f.affected.iter().cloned());
        people.sort();
        people.dedup();
        a.support = Some(format!(
            "Ask the people involved ({}) about their networks; {}.",
            join_and(&people),
            f.would_decide.as_deref().unwrap_or("more data would decide")
        ));
        return a;
    };
    match (hop.class, f.kind) {
        (HopClass::Endpoint, FaultKind::Cpu) => {
            a.user = Some(format!(
                "{who}: close other applications and browser tabs, plug the laptop in, and turn off background effects."
            ));
            a.support = Some(format!("{who}'s device is too slow for the video it was asked to send."));
            a.operations = Some("Consider sending lower resolutions to weak devices.".into());
        }
        (HopClass::Endpoint, _) => {
            a.support = Some(format!(
                "{who}'s application could not complete the call setup: see the browser's error above."
            ));
            a.operations = Some(
                "Check the signalling: the offer or answer sent to this participant was rejected.".into(),
            );
        }
        (HopClass::Access, FaultKind::Connectivity) => {
            a.user = Some(format!(
                "{who}: try another network, or turn off the VPN or firewall that may block calls."
            ));
            a.support = Some(format!(
                "{who}'s network blocks or drops the call's traffic; check that TURN over TCP/TLS on port 443 is offered."
            ));
        }
        // The advice follows the way the limit was: too little upload or download.
        (HopClass::Access, FaultKind::Bandwidth) if hop.direction == Some(Direction::Down) => {
            a.user = Some(format!(
                "{who}: the download is too slow for the video others send; pause other downloads and streaming, or turn incoming video off."
            ));
            a.support = Some(format!(
                "{who}'s connection lacks download bandwidth; suggest a wired or faster connection."
            ));
            a.operations =
                Some("Consider sending lower layers or fewer videos to receivers on slow links.".into());
        }
        (HopClass::Access, FaultKind::Bandwidth) => {
            a.user = Some(format!(
                "{who}: the upload is too slow for video; pause other uploads and downloads, or turn the camera off."
            ));
            a.support = Some(format!(
                "{who}'s connection lacks upload bandwidth; suggest a wired or faster connection."
            ));
        }
        (HopClass::Access, FaultKind::Delay) => {
            a.user = Some(format!("{who}: avoid VPNs and cellular or satellite links for calls."));
            a.support =
                Some(format!("{who}'s network adds long delays; ask about VPNs and the kind of connection."));
        }
        (HopClass::Access, _) => {
            let way = match hop.direction {
                Some(Direction::Up) => "sending",
                Some(Direction::Down) => "receiving",
                _ => "sending and receiving",
            };
            a.user = Some(format!(
                "{who}: move closer to the Wi-Fi router or use a cable, and pause other heavy traffic on that network."
            ));
            a.support = Some(format!(
                "{who}'s network was the problem ({way}); nothing on the service side needs changing."
            ));
        }
        (HopClass::Turn, FaultKind::TurnAuth) => {
            a.support = Some("Not the user's fault: the service's relay configuration rejected them.".into());
            a.operations = Some(
                "The TURN server refuses the credentials the application hands out (401): check the shared secret and the credentials' lifetime."
                    .into(),
            );
        }
        (HopClass::Turn, _) => {
            a.support = Some("Not the users' networks: the relay server was the problem.".into());
            a.operations = Some("Check the TURN server's load, network and logs for the time above.".into());
        }
        (HopClass::Sfu, _) => {
            a.support = Some("Not the users' networks: the media server was the problem.".into());
            a.operations = Some("Check the media server's CPU, network and logs for the time above.".into());
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use hopscope_attribute::{Candidate, HopRef};

    fn fault(kind: FaultKind, hop: Option<HopRef>, candidates: Vec<HopRef>) -> Fault {
        Fault {
            id: "f1".into(),
            kind,
            confidence: if hop.is_some() { 0.9 } else { 0.5 },
            candidates: candidates.into_iter().map(|hop| Candidate { hop, score: 0.5 }).collect(),
            hop,
            from: "2026-03-02T10:00:14.000Z".into(),
            to: "2026-03-02T10:00:54.000Z".into(),
            from_ms: 14_000.0,
            to_ms: 54_000.0,
            magnitude: Some(7.24),
            affected: vec!["alice".into(), "bob".into(), "dave".into()],
            evidence: vec!["alice lost 6.4% of carol's audio".into()],
            symptoms: vec![],
            would_decide: None,
        }
    }

    #[test]
    fn a_decided_fault_reads_as_a_paragraph_with_actions() {
        let up = HopRef::access("carol", Direction::Up);
        let f = fault(FaultKind::Loss, Some(up.clone()), vec![up]);
        let p = paragraph(&f, &[]);
        assert_eq!(
            p.text,
            "Carol's network (uplink) lost packets from 10:00:14 to 10:00:54 UTC (40 s), 7.2% of packets on average. It hurt what alice, bob and dave received. We are confident of where it was (90%)."
        );
        assert!(p.actions.user.as_deref().is_some_and(|u| u.starts_with("carol: move closer")));
        assert!(p.actions.operations.is_none(), "nothing for operations to do");
        let n = narrate("completed", &Attribution { faults: vec![f], unobserved: vec![] }, &[]);
        assert_eq!(n.summary, "The call completed. Carol's network (uplink) lost packets.");
    }

    #[test]
    fn an_undecided_fault_says_what_would_decide() {
        let a = HopRef::access("bob", Direction::Up);
        let b = HopRef::access("alice", Direction::Down);
        let mut f = fault(FaultKind::Jitter, None, vec![a, b]);
        f.would_decide = Some("a third participant would show whose network it is".into());
        let p = paragraph(&f, &[]);
        assert!(
            p.text.starts_with(
                "Either bob's network (uplink) or alice's network (downlink) delivered packets unevenly"
            ),
            "{}",
            p.text
        );
        assert!(
            p.text
                .ends_with("The data cannot tell which: a third participant would show whose network it is.")
        );
        assert!(p.actions.support.as_deref().is_some_and(|s| s.contains("third participant")));
    }

    #[test]
    fn bandwidth_advice_follows_the_way_the_limit_was() {
        let advice = |direction| {
            let hop = HopRef::access("alice", direction);
            paragraph(&fault(FaultKind::Bandwidth, Some(hop.clone()), vec![hop]), &[]).actions
        };
        let down = advice(Direction::Down);
        assert!(
            down.user.as_deref().is_some_and(|u| u.starts_with("alice: the download is too slow")),
            "{down:?}"
        );
        assert!(down.support.as_deref().is_some_and(|s| s.contains("download bandwidth")));
        let up = advice(Direction::Up);
        assert!(up.user.as_deref().is_some_and(|u| u.starts_with("alice: the upload is too slow")), "{up:?}");
        assert!(up.support.as_deref().is_some_and(|s| s.contains("upload bandwidth")));
    }

    #[test]
    fn a_clean_call_says_so() {
        assert_eq!(
            narrate("completed", &Attribution::default(), &[]).summary,
            "The call completed without a problem worth reporting."
        );
    }
}

//! Plain-text rendering of a [`Diagnosis`] for terminals and tickets.

use std::fmt::Write;

use crate::report::{Diagnosis, PcReport, RouteReport};
use crate::summary::{FlowSummary, Range, StreamSummary};

/// How much to print.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Detail {
    /// The essentials: timeline capped, inactive streams counted.
    #[default]
    Short,
    /// Everything.
    Full,
}

const SHORT_TIMELINE: usize = 30;

/// Renders a diagnosis as readable text.
pub fn render(d: &Diagnosis, detail: Detail) -> String {
    let mut out = String::new();
    let span = match (&d.started_at, &d.ended_at, d.duration_s) {
        (Some(a), Some(b), Some(s)) => format!("{a} → {b}, {}", duration(s)),
        _ => "no timestamps".into(),
    };
    let _ = writeln!(out, "Conference {}  ({span})", d.conference);
    let _ = writeln!(out, "Topology: {}; outcome: {}", d.topology, d.outcome.replace('_', " "));
    let qc = &d.quality.conference;
    if qc.labels.good + qc.labels.fair + qc.labels.poor > 0 {
        let mut line = format!(
            "Quality: {} good, {} fair, {} poor{}",
            qc.labels.good,
            qc.labels.fair,
            qc.labels.poor,
            if qc.labels.unscored > 0 {
                format!(", {} not scored", qc.labels.unscored)
            } else {
                String::new()
            }
        );
        if let Some(w) = &qc.worst {
            line.push_str(&format!("; worst experience: {w}"));
        }
        let _ = writeln!(out, "{line}");
    }
    if !d.joined_by.is_empty() {
        let _ = writeln!(out, "Joined because: {}", d.joined_by.join("; "));
    }
    let _ = writeln!(out);
    render_narrative(&mut out, d, detail);
    render_findings(&mut out, d, detail);
    if !d.participants.is_empty() {
        let _ = writeln!(out, "Participants ({})", d.participants.len());
    }
    for p in &d.participants {
        let _ = writeln!(out, "  {}  — {} ({})", p.id, p.source, p.format);
        let b = &p.browser;
        let mut browser = match (&b.inferred, &b.inferred_version) {
            (Some(f), Some(v)) => format!("{f} {v}"),
            (Some(f), None) => f.clone(),
            (None, _) => "unknown".into(),
        };
        if let Some(ua) = &b.user_agent_claims {
            browser.push_str(&format!("; User-Agent claims {ua}"));
            if b.user_agent_disagrees {
                browser.push_str(" (disagrees with the stats, ignored)");
            }
        }
        if let Some(os) = &p.os {
            browser.push_str(&format!("; {os}"));
        }
        let _ = writeln!(out, "    browser: {browser}");
        if let Some(dialect) = &b.dialect {
            let why =
                if b.evidence.is_empty() { String::new() } else { format!(" — {}", b.evidence.join(", ")) };
            let _ = writeln!(out, "    stats: {dialect}{why}");
        }
        for m in &p.media_requests {
            let _ = writeln!(out, "    media: {m}");
        }
        if let Some(q) = d.quality.participants.iter().find(|q| q.received.id == p.id) {
            let mut parts = Vec::new();
            if let Some(a) = summary_phrase(&q.received.audio, "heard") {
                parts.push(a);
            }
            if let Some(v) = summary_phrase(&q.received.video, "saw") {
                parts.push(v);
            }
            if let Some(a) = q.sent_audio.as_ref().and_then(|s| summary_phrase(s, "others heard them")) {
                parts.push(a);
            }
            if let Some(v) = q.sent_video.as_ref().and_then(|s| summary_phrase(s, "others saw them")) {
                parts.push(v);
            }
            if !parts.is_empty() {
                let _ = writeln!(out, "    quality: {}", parts.join("; "));
            }
        }
        if p.peer_connections.is_empty() {
            let _ = writeln!(out, "    no peer connections");
        }
        for pc in &p.peer_connections {
            render_pc(&mut out, pc, detail);
        }
    }
    render_path(&mut out, d);
    if !d.middleboxes.is_empty() {
        render_middleboxes(&mut out, d);
    }
    if !d.timeline.is_empty() {
        let _ = writeln!(out, "\nTimeline");
        let shown =
            if detail == Detail::Full { d.timeline.len() } else { d.timeline.len().min(SHORT_TIMELINE) };
        for e in &d.timeline[..shown] {
            let whose = match &e.peer_connection {
                Some(pc) => format!("{}/{pc}", e.participant),
                None => e.participant.clone(),
            };
            let _ = writeln!(out, "  {:>8}  {whose}: {}", format!("+{}", duration(e.offset_s)), e.event);
        }
        if shown < d.timeline.len() {
            let _ = writeln!(out, "  … {} more (use --detail full)", d.timeline.len() - shown);
        }
    }
    if !d.undetermined.is_empty() {
        let _ = writeln!(out, "\nCould not determine");
        for u in &d.undetermined {
            let _ = writeln!(out, "  - {u}");
        }
    }
    if !d.notes.is_empty() {
        let _ = writeln!(out, "\nInput notes");
        let shown = if detail == Detail::Full { d.notes.len() } else { d.notes.len().min(10) };
        for n in &d.notes[..shown] {
            let _ = writeln!(out, "  - {n}");
        }
        if shown < d.notes.len() {
            let _ = writeln!(out, "  … {} more", d.notes.len() - shown);
        }
    }
    out
}

/// What happened: the summary, then a paragraph per root cause with what to do.
fn render_narrative(out: &mut String, d: &Diagnosis, detail: Detail) {
    let n = &d.narrative;
    let _ = writeln!(out, "What happened");
    let _ = writeln!(out, "{}", wrap(&n.summary, "  ", "  "));
    for p in &n.paragraphs {
        let _ = writeln!(out, "{}", wrap(&p.text, "  • ", "    "));
        if detail == Detail::Full {
            for e in &p.evidence {
                let _ = writeln!(out, "{}", wrap(e, "      - ", "        "));
            }
        }
        for (who, what) in [
            ("user", &p.actions.user),
            ("support", &p.actions.support),
            ("operations", &p.actions.operations),
        ] {
            if let Some(what) = what {
                let _ = writeln!(out, "{}", wrap(&format!("{who}: {what}"), "      → ", "        "));
            }
        }
    }
    if detail == Detail::Full {
        for u in &n.unobserved {
            let _ = writeln!(out, "{}", wrap(&format!("not observed: {u}"), "  ", "    "));
        }
    }
    let _ = writeln!(out);
}

/// Wraps text at 100 columns with a first-line and a continuation prefix.
fn wrap(text: &str, first: &str, rest: &str) -> String {
    let mut out = String::from(first);
    let mut width = first.chars().count();
    for (i, word) in text.split_whitespace().enumerate() {
        let w = word.chars().count();
        if i > 0 && width + 1 + w > 100 {
            out.push('\n');
            out.push_str(rest);
            width = rest.chars().count();
        } else if i > 0 {
            out.push(' ');
            width += 1;
        }
        out.push_str(word);
        width += w;
    }
    out
}

fn render_findings(out: &mut String, d: &Diagnosis, detail: Detail) {
    if d.findings.is_empty() {
        let _ = writeln!(out, "Findings: none\n");
        return;
    }
    // Findings a root cause explains are folded under it: shown in full detail only.
    let explained: std::collections::BTreeSet<&str> =
        d.attribution.faults.iter().flat_map(|f| f.symptoms.iter().map(String::as_str)).collect();
    let shown: Vec<&hopscope_rules::finding::Finding> =
        d.findings.iter().filter(|f| detail == Detail::Full || !explained.contains(f.id.as_str())).collect();
    let folded = d.findings.len() - shown.len();
    let _ = match folded {
        0 => writeln!(out, "Findings ({})", d.findings.len()),
        n => writeln!(out, "Findings ({}; {n} more explained above, see --detail full)", shown.len()),
    };
    let category_width = d.findings.iter().map(|f| f.category_str().len() + 2).max().unwrap_or(0);
    for f in shown {
        let when = match (&f.cleared_at, f.open_at_end) {
            (Some(c), _) => format!("{}–{}", short_time(&f.raised_at), short_time(c)),
            (None, _) => format!("from {}", short_time(&f.raised_at)),
        };
        let _ = writeln!(
            out,
            "  {:<8} {:<category_width$} {when:<19} {}",
            f.severity.as_str(),
            format!("[{}]", f.category_str()),
            f.message
        );
        if detail == Detail::Full {
            let evidence: Vec<String> = f
                .evidence
                .iter()
                .map(|e| {
                    let v = match &e.value {
                        hopscope_rules::finding::EvidenceValue::Num(n) => {
                            hopscope_rules::template::format_number(
                                *n,
                                &e.unit,
                                hopscope_rules::template::Format::Auto,
                            )
                        }
                        hopscope_rules::finding::EvidenceValue::Bool(b) => b.to_string(),
                        hopscope_rules::finding::EvidenceValue::Text(t) => t.clone(),
                    };
                    format!("{}={v}", e.metric)
                })
                .collect();
            let _ = writeln!(
                out,
                "           rule {} v{} on {}; evidence: {}",
                f.rule,
                f.rule_version,
                f.scope.describe(),
                evidence.join(", ")
            );
        }
    }
    let _ = writeln!(out);
}

/// `heard MOS 4.2 (R 85), good, poor 3% of the time`.
fn summary_phrase(s: &hopscope_score::StreamSummary, verb: &str) -> Option<String> {
    let mean = s.mean?;
    let value = match s.media {
        hopscope_score::aggregate::Media::Audio => {
            format!(
                "MOS {:.2} (R {:.0})",
                s.mean_mos.unwrap_or_else(|| hopscope_score::mos_from_r(mean)),
                mean
            )
        }
        hopscope_score::aggregate::Media::Video => format!("Q {mean:.2}"),
    };
    let label = s.label.map(|l| format!(", {}", l.as_str())).unwrap_or_default();
    let poor = s
        .poor_share
        .filter(|p| *p > 0.0)
        .map(|p| format!(", poor {} of the time", pct(p * 100.0)))
        .unwrap_or_default();
    Some(format!("{verb} {value}{label}{poor}"))
}

fn render_pc(out: &mut String, pc: &PcReport, detail: Detail) {
    let remote = match pc.remote {
        "sfu" => "media server",
        "peer" => "peer",
        _ => "unknown far end",
    };
    let setup = pc.setup_ms.map(|ms| format!(", ICE connected in {} ms", f0(ms))).unwrap_or_default();
    let _ = writeln!(out, "    {} → {remote}: {}{setup}", pc.id, pc.outcome);
    if let Some(why) = &pc.remote_evidence {
        let _ = writeln!(out, "      far end: {remote} because {why}");
    }
    if !pc.ice_states.is_empty() {
        let mut states: Vec<&str> = Vec::new();
        for s in &pc.ice_states {
            if states.last() != Some(&s.as_str()) {
                states.push(s);
            }
        }
        let _ = writeln!(
            out,
            "      ICE: {}{}",
            states.join(" → "),
            if pc.reconnections > 0 {
                format!(" ({} reconnections)", pc.reconnections)
            } else {
                String::new()
            }
        );
    }
    if !pc.ice_servers.is_empty() || pc.ice_transport_policy.is_some() {
        let _ = writeln!(
            out,
            "      ICE servers: {}{}",
            if pc.ice_servers.is_empty() { "none".to_string() } else { pc.ice_servers.join(", ") },
            pc.ice_transport_policy.as_deref().map(|p| format!("; policy {p}")).unwrap_or_default()
        );
    }
    for e in &pc.candidate_errors {
        let _ = writeln!(out, "      {e}");
    }
    for e in &pc.negotiation_failures {
        let _ = writeln!(out, "      {e}");
    }
    for p in &pc.selected_paths {
        let mut line = format!("      path: {}", p.description);
        if let Some(proto) = &p.protocol {
            line.push_str(&format!(" over {proto}"));
        }
        if let Some(url) = &p.relay_url {
            line.push_str(&format!(" via {url}"));
        }
        if let Some(n) = &p.network_type {
            line.push_str(&format!(", network {n}"));
        }
        if let Some(r) = p.rtt_ms {
            line.push_str(&format!(", ICE RTT {}", ms_range(r)));
        }
        if let Some(a) = p.available_outgoing_kbps {
            line.push_str(&format!(", send estimate {} kbit/s", f0(a.mean)));
        }
        line.push_str(&format!(" (from {})", short_time(&p.from)));
        let _ = writeln!(out, "{line}");
    }
    for s in &pc.streams {
        let _ = writeln!(out, "      {}", stream_line(s));
    }
    if pc.inactive_streams > 0 {
        let _ = writeln!(out, "      ({} streams never carried packets)", pc.inactive_streams);
    }
    let _ = detail;
}

fn stream_line(s: &StreamSummary) -> String {
    let arrow = match s.direction {
        "inbound" => "↓ received",
        "outbound" => "↑ sent",
        _ => "↺ far end reports",
    };
    let mut parts = vec![format!(
        "{arrow} {}{}{}",
        s.kind.unwrap_or("media"),
        s.ssrc.map(|x| format!(" ssrc {x}")).unwrap_or_default(),
        s.rid.as_deref().map(|r| format!(" rid {r}")).unwrap_or_default()
    )];
    if let Some(c) = &s.codec {
        parts.push(c.rsplit('/').next().unwrap_or(c).to_string());
    }
    if s.direction == "outbound"
        && let Some(n) = s.packets
    {
        parts.push(format!("{} packets", count(Some(n))));
    }
    if let Some(b) = s.bitrate_kbps {
        parts.push(format!("{} kbit/s", f0(b.mean)));
    }
    if let Some(f) = s.fps {
        parts.push(format!("{} fps", f0(f.mean)));
    }
    if let Some(r) = &s.resolution {
        parts.push(r.clone());
    }
    if let Some(l) = s.loss_percent {
        let worst = s
            .worst_loss_percent
            .filter(|w| *w > l + 0.05)
            .map(|w| format!(", worst {}", pct(w)))
            .unwrap_or_default();
        let detail = match (s.packets_lost, s.packets, s.direction) {
            (Some(lost), Some(total), "inbound") => {
                format!(" ({} of {} packets)", count(Some(lost)), count(Some(total + lost)))
            }
            (Some(lost), _, "remote-inbound") => format!(" ({} packets)", count(Some(lost))),
            _ => String::new(),
        };
        parts.push(format!("loss {}{detail}{worst}", pct(l)));
    }
    if let Some(j) = s.jitter_ms {
        parts.push(format!("jitter {} (max {})", ms(j.mean), ms(j.max)));
    }
    if let Some(r) = s.rtt_ms {
        parts.push(format!("RTT {}", ms_range(r)));
    }
    if let Some(f) = s.freezes.filter(|f| *f > 0.0) {
        parts.push(format!("{} freezes ({} s)", f0(f), s.freeze_s.map(f1).unwrap_or_default()));
    }
    if let Some(c) = s.concealment_percent {
        parts.push(format!("concealed {}", pct(c)));
    }
    if let Some(c) = s.cpu_limited_percent.filter(|c| *c > 0.5) {
        parts.push(format!("CPU-limited {}", pct(c)));
    }
    if let Some(b) = s.bandwidth_limited_percent.filter(|c| *c > 0.5) {
        parts.push(format!("bandwidth-limited {}", pct(b)));
    }
    if s.resets > 0 {
        parts.push(format!("{} counter resets", s.resets));
    }
    if let Some(q) = &s.quality {
        match (q.mean, q.media) {
            (Some(m), "audio") => parts.push(format!(
                "MOS {:.2} (R {m:.0}){}",
                q.mos.unwrap_or_else(|| hopscope_score::mos_from_r(m)),
                q.label.map(|l| format!(" {l}")).unwrap_or_default()
            )),
            (Some(m), _) => {
                parts.push(format!("Q {m:.2}{}", q.label.map(|l| format!(" {l}")).unwrap_or_default()))
            }
            (None, _) => {
                if let Some(why) = q.unknown_reason.as_ref().or(q.excluded_reason.as_ref()) {
                    parts.push(format!("quality not scored: {why}"));
                }
            }
        }
    }
    parts.join(", ")
}

fn render_path(out: &mut String, d: &Diagnosis) {
    let p = &d.path;
    if p.routes.is_empty() && p.unrouted.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nPath graph ({} hops, {} directed links)", p.hops.len(), p.links.len());
    for r in &p.routes {
        render_route(out, r);
    }
    if !p.shared_hops.is_empty() {
        let _ = writeln!(out, "  shared by several participants: {}", p.shared_hops.join(", "));
    }
    if !p.unrouted.is_empty() {
        let _ = writeln!(out, "  never had a path: {}", p.unrouted.join(", "));
    }
}

fn render_route(out: &mut String, r: &RouteReport) {
    let _ = writeln!(out, "  {}/{}: {}", r.participant, r.peer_connection, r.hops.join(" → "));
    if let Some(line) = flow_line(&r.outgoing) {
        let _ = writeln!(out, "      sent:     {line}");
    }
    if let Some(line) = flow_line(&r.incoming) {
        let _ = writeln!(out, "      received: {line}");
    }
    if let Some(rtt) = r.ice_rtt_ms {
        let _ = writeln!(out, "      ICE RTT end to end: {}", ms_range(rtt));
    }
}

fn flow_line(f: &FlowSummary) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(b) = f.bitrate_kbps {
        parts.push(format!("{} kbit/s", f0(b.mean)));
    }
    if let Some(l) = f.loss_percent {
        parts.push(format!("loss {} (worst {})", pct(l.mean), pct(l.max)));
    }
    if let Some(j) = f.jitter_ms {
        parts.push(format!("jitter up to {}", ms(j.max)));
    }
    if let Some(r) = f.rtt_ms {
        parts.push(format!("RTT {}", ms_range(r)));
    }
    if let Some(a) = f.available_kbps {
        parts.push(format!("estimate {} kbit/s", f0(a.mean)));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The middlebox section: each server's clients (and which participant each is, and why),
/// TURN allocations and refusals.
fn render_middleboxes(out: &mut String, d: &Diagnosis) {
    let _ = writeln!(out, "\nMedia servers and relays");
    let who = |participant: &Option<String>, evidence: &[String]| match participant {
        Some(p) => format!(" → {p} ({})", evidence.first().map(String::as_str).unwrap_or("matched")),
        None => " → no participant matched".to_string(),
    };
    let loss = |r: Range| {
        if r.max - r.mean < 0.05 { pct(r.mean) } else { format!("{} (worst {})", pct(r.mean), pct(r.max)) }
    };
    for m in &d.middleboxes {
        let mut what = Vec::new();
        if !m.clients.is_empty() {
            what.push(format!("{} client transports", m.clients.len()));
        }
        if !m.allocations.is_empty() {
            what.push(format!("{} allocations", m.allocations.len()));
        }
        if !m.allocation_errors.is_empty() {
            what.push(format!("{} allocation errors", m.allocation_errors.len()));
        }
        if what.is_empty() {
            what.push("0 client transports".into());
        }
        let _ = writeln!(
            out,
            "  {} {} ({})",
            m.software.as_deref().unwrap_or(m.kind.unwrap_or("middlebox")),
            m.server,
            what.join(", ")
        );
        for c in &m.clients {
            let state = match (c.ice_connected, c.ice_failed) {
                (_, true) => "ICE failed",
                (Some(true), _) => "ICE connected",
                (Some(false), _) => "ICE not connected",
                (None, _) => "ICE state unknown",
            };
            let mut parts = vec![state.to_string()];
            if c.packets_received.is_some() || c.packets_sent.is_some() {
                parts.push(format!(
                    "received {} packets, sent {}",
                    count(c.packets_received),
                    count(c.packets_sent)
                ));
            }
            if let Some(r) = c.receive_kbps {
                parts.push(format!("receive {} kbit/s (max {})", f0(r.mean), f0(r.max)));
            }
            if let Some(r) = c.upstream_loss_pct {
                parts.push(format!("upstream loss {}", loss(r)));
            }
            if let Some(j) = c.upstream_jitter_ms {
                parts.push(format!("jitter up to {}", ms(j.max)));
            }
            if let Some(r) = c.downstream_loss_pct {
                parts.push(format!("downstream loss {}", loss(r)));
            }
            if let Some(r) = c.rtt_ms {
                parts.push(format!("RTT {}", ms_range(r)));
            }
            if let Some(o) = c.clock_offset_s.filter(|o| o.abs() >= 1.0) {
                parts.push(format!("server clock {o:+.1} s"));
            }
            let _ = writeln!(
                out,
                "    {}{}: {}",
                c.id,
                who(&c.participant, &c.participant_evidence),
                parts.join("; ")
            );
        }
        for a in &m.allocations {
            let mut parts = Vec::new();
            if let (Some(c), Some(r)) = (&a.client_address, &a.relay_address) {
                parts.push(format!(
                    "{c} → {r}{}",
                    a.protocol.map(|p| format!(" over {p}")).unwrap_or_default()
                ));
            }
            if a.packets_from_client.is_some() || a.packets_to_client.is_some() {
                parts.push(format!(
                    "{} packets from the client, {} to it",
                    count(a.packets_from_client),
                    count(a.packets_to_client)
                ));
            }
            if let Some(r) = a.client_to_peers_loss_pct {
                parts.push(format!("relay loss to peers {}", loss(r)));
            }
            if let Some(r) = a.peers_to_client_loss_pct {
                parts.push(format!("relay loss to the client {}", loss(r)));
            }
            let _ = writeln!(
                out,
                "    allocation {}{}: {}",
                a.id,
                who(&a.participant, &a.participant_evidence),
                parts.join("; ")
            );
        }
        for e in &m.allocation_errors {
            let _ = writeln!(
                out,
                "    allocation refused at {}: {} {}{}{}",
                short_time(&e.at),
                e.code.map(|c| c.to_string()).unwrap_or_else(|| "?".into()),
                e.reason.as_deref().unwrap_or(""),
                e.client_address.as_deref().map(|c| format!(" from {c}")).unwrap_or_default(),
                who(&e.participant, &e.participant_evidence)
            );
        }
        if !m.not_modelled.is_empty() {
            let _ = writeln!(out, "    not modelled: {}", m.not_modelled.join("; "));
        }
    }
}

fn f0(v: f64) -> String {
    format!("{v:.0}")
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

fn pct(v: f64) -> String {
    if v > 0.0 && v < 0.1 { format!("{v:.2}%") } else { format!("{v:.1}%") }
}

fn ms(v: f64) -> String {
    if v >= 1000.0 { format!("{:.2} s", v / 1000.0) } else { format!("{v:.0} ms") }
}

fn ms_range(r: Range) -> String {
    if (r.max - r.min).abs() < 0.5 {
        ms(r.mean)
    } else {
        format!("{} (range {}–{})", ms(r.mean), ms(r.min), ms(r.max))
    }
}

fn count(v: Option<f64>) -> String {
    v.map(|n| format!("{n:.0}")).unwrap_or_else(|| "?".into())
}

fn duration(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.1}s")
    } else if s < 3600.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{}h{:02}m", (s / 3600.0) as u64, ((s % 3600.0) / 60.0) as u64)
    }
}

fn short_time(rfc3339: &str) -> &str {
    rfc3339.get(11..19).unwrap_or(rfc3339)
}

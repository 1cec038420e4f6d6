//! The events hopscope sends, as JSON, each with a plain-English `text` and the link to the
//! conference (what callstats.io's notifications carried), and their Slack rendering.

use hopscope_store::{FindingRow, HeldGroup, OutboxEntry, Summary};
use serde_json::{Value, json};

use crate::config::Limits;

/// Where a conference can be looked at.
#[derive(Clone, Debug)]
pub struct ConferenceRef {
    /// Its id.
    pub id: String,
    /// Its stable URL.
    pub url: String,
}

fn rfc3339(ms: f64) -> String {
    hopscope_model::Timestamp::from_epoch_ms(ms).map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn entry(
    action: &str,
    event_id: String,
    kind: &str,
    rule: Option<&str>,
    conference: Option<&str>,
    body: Value,
    limits: &Limits,
) -> OutboxEntry {
    OutboxEntry {
        action: action.to_string(),
        event_id,
        kind: kind.to_string(),
        rule: rule.map(str::to_string),
        conference: conference.map(str::to_string),
        payload: body.to_string(),
        limit_per_rule: limits.per_rule,
        limit_per_conference: limits.per_conference,
        window_ms: (limits.window_s * 1000.0) as i64,
    }
}

/// A finding raised or cleared.
pub fn finding(
    app: &str,
    action: &str,
    c: &ConferenceRef,
    status: &str,
    f: &FindingRow,
    now_ms: f64,
    limits: &Limits,
) -> OutboxEntry {
    let kind = format!("finding.{status}");
    let event_id = format!("{kind}:{}:{}", c.id, f.id);
    let text = match status {
        "cleared" => format!("Cleared: {} (conference {}: {})", f.message, c.id, c.url),
        _ => format!("[{}] {} (conference {}: {})", f.severity.to_uppercase(), f.message, c.id, c.url),
    };
    let body = json!({
        "id": event_id,
        "type": kind,
        "app": app,
        "created_at": rfc3339(now_ms),
        "text": text,
        "conference": {"id": c.id, "url": c.url},
        "finding": {
            "id": f.id,
            "rule": f.rule,
            "severity": f.severity,
            "category": f.category,
            "participant": f.participant,
            "raised_at": rfc3339(f.raised_ms),
            "cleared_at": f.cleared_ms.map(rfc3339),
            "message": f.message,
        },
    });
    entry(action, event_id, &kind, Some(&f.rule), Some(&c.id), body, limits)
}

fn duration(seconds: f64) -> String {
    let s = seconds.round() as i64;
    if s >= 3600 {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

/// A conference's end-of-call summary: outcome, participants, time, quality, findings, the
/// narrative, the link. `details` is the diagnosis' own account (narrative, participants'
/// setup times), passed through.
pub fn conference_ended(
    app: &str,
    action: &str,
    c: &ConferenceRef,
    summary: &Summary,
    findings: &[FindingRow],
    details: Value,
    now_ms: f64,
) -> OutboxEntry {
    let event_id = format!("conference.ended:{}:{}", c.id, summary.ended_ms.unwrap_or(0));
    let mut facts = vec![format!("{} participants", summary.participants)];
    if let Some(d) = summary.duration_s {
        facts.push(duration(d));
    }
    if let Some(m) = summary.audio_mos {
        facts.push(format!("audio MOS {m:.1}"));
    }
    if let Some(m) = summary.video_mos {
        facts.push(format!("video MOS {m:.1}"));
    }
    let text = format!(
        "Conference {} {} ({}). {} {}",
        c.id,
        summary.outcome.replace('_', " "),
        facts.join(", "),
        summary.headline,
        c.url
    );
    let body = json!({
        "id": event_id,
        "type": "conference.ended",
        "app": app,
        "created_at": rfc3339(now_ms),
        "text": text,
        "conference": {
            "id": c.id,
            "url": c.url,
            "outcome": summary.outcome,
            "participants": summary.participants,
            "started_at": summary.started_ms.map(|t| rfc3339(t as f64)),
            "ended_at": summary.ended_ms.map(|t| rfc3339(t as f64)),
            "duration_s": summary.duration_s,
            "quality": {"audio_mos": summary.audio_mos, "video_mos": summary.video_mos},
            "headline": summary.headline,
        },
        "findings": findings.iter().map(|f| json!({
            "rule": f.rule, "severity": f.severity, "category": f.category,
            "participant": f.participant, "message": f.message,
            "raised_at": rfc3339(f.raised_ms), "cleared_at": f.cleared_ms.map(rfc3339),
        })).collect::<Vec<_>>(),
        "details": details,
    });
    // Summaries are never rate-limited: one per call.
    entry(
        action,
        event_id,
        "conference.ended",
        None,
        Some(&c.id),
        body,
        &Limits { per_rule: 0, per_conference: 0, window_s: 1.0 },
    )
}

/// What a rate limit held back, as one event.
pub fn held_summary(group: &HeldGroup, window_s: f64, now_ms: f64) -> OutboxEntry {
    let from = rfc3339(group.window_start_ms as f64);
    let to = rfc3339(group.window_start_ms as f64 + window_s * 1000.0);
    let window = match window_s.round() as i64 {
        s if s >= 120 && s % 60 == 0 => format!("{} minutes", s / 60),
        60 => "minute".to_string(),
        1 => "second".to_string(),
        s => format!("{s} seconds"),
    };
    let rule = if group.rule.is_empty() { "these rules".to_string() } else { format!("rule {}", group.rule) };
    let more = if group.conferences.len() < group.count as usize { ", …" } else { "" };
    let text = format!(
        "{} more like this ({rule}) in the {window} from {from} to {to} were held back by the rate limit; conferences: {}{more}",
        group.count,
        group.conferences.join(", ")
    );
    let event_id = format!("summary:{}:{}:{}", group.action, group.rule, group.window_start_ms);
    let body = json!({
        "id": event_id,
        "type": "summary",
        "app": group.app,
        "created_at": rfc3339(now_ms),
        "text": text,
        "held": {"rule": group.rule, "count": group.count, "from": from, "to": to, "conferences": group.conferences},
    });
    OutboxEntry {
        action: group.action.clone(),
        event_id,
        kind: "summary".into(),
        rule: Some(group.rule.clone()),
        conference: None,
        payload: body.to_string(),
        limit_per_rule: 0,
        limit_per_conference: 0,
        window_ms: 0,
    }
}

/// A Slack incoming-webhook message for an event: what, who, where, how bad, the link.
pub fn slack(event: &Value) -> Value {
    let text = event["text"].as_str().unwrap_or("hopscope event").to_string();
    let url = event["conference"]["url"].as_str().unwrap_or("");
    let conference = event["conference"]["id"].as_str().unwrap_or("");
    let link = if url.is_empty() { conference.to_string() } else { format!("<{url}|{conference}>") };
    let (headline, context) = match event["type"].as_str().unwrap_or("") {
        t @ ("finding.raised" | "finding.cleared") => {
            let f = &event["finding"];
            let severity = f["severity"].as_str().unwrap_or("info");
            let icon = match severity {
                "critical" => ":red_circle:",
                "error" => ":large_orange_circle:",
                "warning" => ":large_yellow_circle:",
                _ => ":white_circle:",
            };
            let state = if t == "finding.cleared" { "Cleared" } else { "Raised" };
            (
                format!(
                    "{icon} *{state}* · {} · {link}\n{}",
                    severity.to_uppercase(),
                    f["message"].as_str().unwrap_or("")
                ),
                format!(
                    "rule `{}` · category {} · {}",
                    f["rule"].as_str().unwrap_or(""),
                    f["category"].as_str().unwrap_or(""),
                    f["raised_at"].as_str().unwrap_or("")
                ),
            )
        }
        "conference.ended" => {
            let c = &event["conference"];
            (
                format!(
                    ":telephone_receiver: *Call {}* · {link}\n{}",
                    c["outcome"].as_str().unwrap_or("").replace('_', " "),
                    c["headline"].as_str().unwrap_or("")
                ),
                format!(
                    "{} participants · {} findings",
                    c["participants"].as_u64().unwrap_or(0),
                    event["findings"].as_array().map(Vec::len).unwrap_or(0)
                ),
            )
        }
        _ => (format!(":hourglass: {text}"), "rate-limit summary".to_string()),
    };
    json!({
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding_row() -> FindingRow {
        FindingRow {
            id: "f1".into(),
            rule: "audio-packet-loss".into(),
            severity: "warning".into(),
            category: "packet-loss".into(),
            participant: Some("carol".into()),
            raised_ms: 1_790_000_000_000.0,
            cleared_ms: None,
            message: "alice lost up to 7.2% of the audio from carol (40 s)".into(),
            actions: vec!["oncall".into()],
        }
    }

    #[test]
    fn finding_events_read_well_and_link_the_conference() {
        let c = ConferenceRef { id: "room-42".into(), url: "https://h/v1/conferences/room-42".into() };
        let e =
            finding("prod", "oncall", &c, "raised", &finding_row(), 1_790_000_001_000.0, &Limits::default());
        assert_eq!(e.event_id, "finding.raised:room-42:f1");
        let v: Value = serde_json::from_str(&e.payload).unwrap_or(Value::Null);
        assert_eq!(
            v["text"],
            "[WARNING] alice lost up to 7.2% of the audio from carol (40 s) (conference room-42: https://h/v1/conferences/room-42)"
        );
        assert_eq!(v["finding"]["raised_at"], "2026-09-21T14:13:20.000Z");
        let s = slack(&v);
        let block = s["blocks"][0]["text"]["text"].as_str().unwrap_or("");
        assert!(block.starts_with(":large_yellow_circle: *Raised* · WARNING · <https://h/v1/conferences/room-42|room-42>\nalice lost"), "{block}");
        assert_eq!(
            s["blocks"][1]["elements"][0]["text"],
            "rule `audio-packet-loss` · category packet-loss · 2026-09-21T14:13:20.000Z"
        );
    }

    #[test]
    fn held_summaries_say_how_many_and_where() {
        let g = HeldGroup {
            app: "prod".into(),
            action: "oncall".into(),
            rule: "audio-packet-loss".into(),
            window_start_ms: 1_790_000_100_000,
            count: 41,
            conferences: vec!["a".into(), "b".into()],
        };
        let e = held_summary(&g, 300.0, 1_790_000_500_000.0);
        let v: Value = serde_json::from_str(&e.payload).unwrap_or(Value::Null);
        assert_eq!(
            v["text"],
            "41 more like this (rule audio-packet-loss) in the 5 minutes from 2026-09-21T14:15:00.000Z to 2026-09-21T14:20:00.000Z were held back by the rate limit; conferences: a, b, …"
        );
    }
}

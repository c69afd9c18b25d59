//! Missing-child alerts as OASIS CAP 1.2 messages, with an English and an Urdu `<info>` block, and an Atom feed
//! of them. Pure: text in, text out.
//!
//! Only an alert's public part goes into a message: never the reporter, the office, police notes, sighting
//! details or FIR numbers. Each alert has up to three messages over its life, all from the node that raised it,
//! so every node renders the same message for the same alert:
//! - `Alert` while the child is missing (identifier `urn:hifazat:alert:<id>`, sent when raised; certainty
//!   `Possible` until the police validate it, then `Observed`);
//! - `Update` once the child is recovered or reunited (`…:<id>:recovered`), referencing the `Alert`;
//! - `Cancel` once the alert is closed (`…:<id>:closed`), referencing the earlier messages.
//!
//! Times are given in Pakistan Standard Time (+05:00, no daylight saving).

use hifazat_domain::calendar::civil_from_days;
use hifazat_domain::{AlertPublic, AlertStage, AlertStatus, Event, EventKind, RecordId, Sex};
use hifazat_topology::Topology;

/// The radius around the last-seen point that a message's area covers, in kilometres.
pub const AREA_RADIUS_KM: f64 = 10.0;

/// What a CAP message says of its alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgType {
    Alert,
    Update,
    Cancel,
}

impl MsgType {
    fn as_str(self) -> &'static str {
        match self {
            MsgType::Alert => "Alert",
            MsgType::Update => "Update",
            MsgType::Cancel => "Cancel",
        }
    }
}

/// An alert, as CAP needs it: its id, public part, status and timeline.
#[derive(Debug, Clone, Copy)]
pub struct AlertView<'a> {
    pub id: &'a RecordId,
    pub public: &'a AlertPublic,
    pub status: &'a AlertStatus,
    pub timeline: &'a [Event],
}

/// One CAP message, rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub identifier: String,
    pub msg_type: MsgType,
    pub sent_ms: u64,
    /// The English headline (the feed's entry title).
    pub headline: String,
    /// The `<alert>` element, without an XML declaration.
    pub xml: String,
}

impl Message {
    /// The message as a document of its own.
    pub fn document(&self) -> String {
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}", self.xml)
    }
}

/// The message's identifier, sender and sent time, as CAP's `references` names a message.
struct Ref {
    identifier: String,
    sent_ms: u64,
}

impl AlertView<'_> {
    /// When the alert was raised: its first `raised` event (or the earliest event).
    fn raised_ms(&self) -> u64 {
        let raised = self
            .timeline
            .iter()
            .filter(|e| e.kind == EventKind::Raised)
            .map(|e| e.at_ms)
            .min();
        raised
            .or_else(|| self.timeline.iter().map(|e| e.at_ms).min())
            .unwrap_or(self.public.last_seen_at_ms)
    }

    /// The node that raised the alert, by the earliest `raised` event.
    fn origin(&self) -> &str {
        self.timeline
            .iter()
            .filter(|e| e.kind == EventKind::Raised)
            .min_by_key(|e| (e.at_ms, e.node.as_str()))
            .map_or("unknown", |e| e.node.as_str())
    }

    fn closed_ms(&self) -> Option<u64> {
        self.timeline
            .iter()
            .filter(|e| e.kind == EventKind::Closed)
            .map(|e| e.at_ms)
            .min()
    }
}

/// The sender of an alert's messages: the node that raised it.
fn sender(view: &AlertView<'_>) -> String {
    format!("urn:hifazat:node:{}", clean_token(view.origin()))
}

/// The message that stands for the alert now.
pub fn message(view: &AlertView<'_>, topology: &Topology) -> Message {
    let base = format!("urn:hifazat:alert:{}", view.id);
    let original = Ref {
        identifier: base.clone(),
        sent_ms: view.raised_ms(),
    };
    let recovered = view.status.first_resolved_ms.map(|at| Ref {
        identifier: format!("{base}:recovered"),
        sent_ms: at.max(original.sent_ms),
    });
    let closed = if view.status.stage == AlertStage::Closed {
        Some(Ref {
            identifier: format!("{base}:closed"),
            sent_ms: view
                .closed_ms()
                .unwrap_or(original.sent_ms)
                .max(original.sent_ms),
        })
    } else {
        None
    };
    let (msg_type, this, earlier) = match (closed, recovered) {
        (Some(c), r) => (
            MsgType::Cancel,
            c,
            std::iter::once(original).chain(r).collect::<Vec<_>>(),
        ),
        (None, Some(r)) => (MsgType::Update, r, vec![original]),
        (None, None) => (MsgType::Alert, original, vec![]),
    };
    render(view, topology, msg_type, &this, &earlier)
}

fn render(
    view: &AlertView<'_>,
    topology: &Topology,
    msg_type: MsgType,
    this: &Ref,
    earlier: &[Ref],
) -> Message {
    let sender = sender(view);
    let p = view.public;
    let place = topology.district(&p.last_seen.district);
    let district_in = |lang: Lang| match (place, lang) {
        (Some(d), Lang::En) => d.name.as_str(),
        (Some(d), Lang::Ur) => d.name_ur.as_str(),
        (None, _) => p.last_seen.district.as_str(),
    };
    let mut x = String::new();
    x.push_str("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n");
    element(&mut x, 1, "identifier", &this.identifier);
    element(&mut x, 1, "sender", &sender);
    element(&mut x, 1, "sent", &pkt(this.sent_ms));
    element(&mut x, 1, "status", "Actual");
    element(&mut x, 1, "msgType", msg_type.as_str());
    element(&mut x, 1, "scope", "Public");
    element(&mut x, 1, "code", "hifazat:missing-child");
    if !earlier.is_empty() {
        let refs: Vec<String> = earlier
            .iter()
            .map(|r| format!("{sender},{},{}", r.identifier, pkt(r.sent_ms)))
            .collect();
        element(&mut x, 1, "references", &refs.join(" "));
    }
    let validated = view.status.first_validated_ms.is_some();
    let mut headline = String::new();
    for lang in [Lang::En, Lang::Ur] {
        let district = district_in(lang);
        let text = Text::of(lang, msg_type, p, district);
        if lang == Lang::En {
            headline = text.headline.clone();
        }
        x.push_str("  <info>\n");
        element(&mut x, 2, "language", lang.code());
        element(&mut x, 2, "category", "Rescue");
        element(&mut x, 2, "event", &text.event);
        let (response, urgency, severity, certainty) = match msg_type {
            MsgType::Alert => (
                "Monitor",
                "Immediate",
                "Severe",
                if validated { "Observed" } else { "Possible" },
            ),
            MsgType::Update | MsgType::Cancel => ("AllClear", "Past", "Minor", "Observed"),
        };
        element(&mut x, 2, "responseType", response);
        element(&mut x, 2, "urgency", urgency);
        element(&mut x, 2, "severity", severity);
        element(&mut x, 2, "certainty", certainty);
        element(&mut x, 2, "effective", &pkt(this.sent_ms));
        element(&mut x, 2, "senderName", &text.sender_name);
        element(&mut x, 2, "headline", &text.headline);
        element(&mut x, 2, "description", &text.description);
        element(&mut x, 2, "instruction", &text.instruction);
        element(&mut x, 2, "contact", &p.contact_line);
        x.push_str("    <area>\n");
        element(
            &mut x,
            3,
            "areaDesc",
            &format!("{}, {district}", p.last_seen.text),
        );
        element(
            &mut x,
            3,
            "circle",
            &format!(
                "{:.4},{:.4} {AREA_RADIUS_KM:.1}",
                p.last_seen.lat, p.last_seen.lon
            ),
        );
        x.push_str("      <geocode>\n");
        element(&mut x, 4, "valueName", "district");
        element(&mut x, 4, "value", &p.last_seen.district);
        x.push_str("      </geocode>\n");
        x.push_str("    </area>\n");
        x.push_str("  </info>\n");
    }
    x.push_str("</alert>\n");
    Message {
        identifier: this.identifier.clone(),
        msg_type,
        sent_ms: this.sent_ms,
        headline,
        xml: x,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Ur,
}

impl Lang {
    fn code(self) -> &'static str {
        match self {
            Lang::En => "en-PK",
            Lang::Ur => "ur-PK",
        }
    }
}

/// The words of one `<info>` block.
struct Text {
    event: String,
    sender_name: String,
    headline: String,
    description: String,
    instruction: String,
}

impl Text {
    fn of(lang: Lang, msg_type: MsgType, p: &AlertPublic, district: &str) -> Text {
        let (name, age, place) = (&p.child_name, p.age_years, &p.last_seen.text);
        let (date, time) = pkt_date_time(p.last_seen_at_ms);
        let contact = &p.contact_line;
        match lang {
            Lang::En => {
                let who = match p.sex {
                    Sex::Female => "girl",
                    Sex::Male => "boy",
                    Sex::Other | Sex::Unknown => "child",
                };
                let seen = format!(
                    "{name}, a {age}-year-old {who}, was last seen on {date} at {time} (PKT) at {place}, \
                     {district}. {}",
                    p.description
                );
                let (headline, instruction) = match msg_type {
                    MsgType::Alert => (
                        format!("Missing child: {name}, {age}, last seen in {district}"),
                        format!(
                            "If you see this child, call {contact} at once or report the sighting on the \
                             Hifazat portal. Do not approach anyone you suspect; tell the police."
                        ),
                    ),
                    MsgType::Update => (
                        format!("Found: {name} has been recovered"),
                        "No further action is needed. Thank you for your help.".to_owned(),
                    ),
                    MsgType::Cancel => (
                        format!("Withdrawn: the alert for {name} is closed"),
                        "No further action is needed. Thank you for your help.".to_owned(),
                    ),
                };
                Text {
                    event: "Missing child".into(),
                    sender_name: "Hifazat child-safety network".into(),
                    headline,
                    description: seen,
                    instruction,
                }
            }
            Lang::Ur => {
                let who = match p.sex {
                    Sex::Female => "لڑکی",
                    Sex::Male => "لڑکا",
                    Sex::Other | Sex::Unknown => "بچہ",
                };
                let seen = format!(
                    "{name} ({who})، عمر {age} سال، آخری بار {date} کو {time} بجے (پاکستانی وقت) {place}، \
                     {district} میں دیکھا گیا۔ {}",
                    p.description
                );
                let (headline, instruction) = match msg_type {
                    MsgType::Alert => (
                        format!(
                            "لاپتہ بچہ: {name}، عمر {age} سال، آخری بار {district} میں دیکھا گیا"
                        ),
                        format!(
                            "اگر آپ اس بچے کو دیکھیں تو فوراً {contact} پر کال کریں یا حفاظت پورٹل پر اطلاع دیں۔ \
                             کسی مشتبہ شخص کے قریب نہ جائیں، پولیس کو بتائیں۔"
                        ),
                    ),
                    MsgType::Update => (
                        format!("مل گیا: {name} کو بازیاب کر لیا گیا ہے"),
                        "مزید کسی کارروائی کی ضرورت نہیں۔ آپ کی مدد کا شکریہ۔".to_owned(),
                    ),
                    MsgType::Cancel => (
                        format!("واپس: {name} کے بارے میں الرٹ ختم کر دیا گیا ہے"),
                        "مزید کسی کارروائی کی ضرورت نہیں۔ آپ کی مدد کا شکریہ۔".to_owned(),
                    ),
                };
                Text {
                    event: "لاپتہ بچہ".into(),
                    sender_name: "حفاظت، بچوں کے تحفظ کا نیٹ ورک".into(),
                    headline,
                    description: seen,
                    instruction,
                }
            }
        }
    }
}

/// An Atom feed of CAP messages.
#[derive(Debug, Clone)]
pub struct Feed<'a> {
    /// The feed's own address (its id and `self` link).
    pub url: &'a str,
    pub title: &'a str,
    /// When the feed was made; its `updated` is the newest message, or this when there is none.
    pub now_ms: u64,
}

/// One entry: a message and where its CAP document is served.
#[derive(Debug, Clone)]
pub struct Entry {
    pub message: Message,
    pub cap_url: String,
}

/// The feed, entries newest first, each with its CAP message inline.
pub fn feed(feed: &Feed<'_>, entries: &[Entry]) -> String {
    let updated = entries
        .iter()
        .map(|e| e.message.sent_ms)
        .max()
        .unwrap_or(feed.now_ms);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    element(&mut x, 1, "id", feed.url);
    element(&mut x, 1, "title", feed.title);
    element(&mut x, 1, "updated", &pkt(updated));
    x.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        escape(feed.url)
    ));
    x.push_str("  <author><name>Hifazat</name></author>\n");
    for e in entries {
        x.push_str("  <entry>\n");
        element(&mut x, 2, "id", &e.message.identifier);
        element(&mut x, 2, "title", &e.message.headline);
        element(&mut x, 2, "updated", &pkt(e.message.sent_ms));
        x.push_str(&format!(
            "    <link rel=\"alternate\" type=\"application/cap+xml\" href=\"{}\"/>\n",
            escape(&e.cap_url)
        ));
        x.push_str("    <content type=\"application/cap+xml\">\n");
        x.push_str(&e.message.xml);
        x.push_str("    </content>\n");
        x.push_str("  </entry>\n");
    }
    x.push_str("</feed>\n");
    x
}

fn element(out: &mut String, depth: usize, name: &str, text: &str) {
    for _ in 0..depth {
        out.push_str("  ");
    }
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&escape(text));
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

/// Text made safe for XML: markup characters escaped, and characters XML 1.0 does not allow dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A name usable inside a URN: letters, digits and `-`, others replaced by `-`.
fn clean_token(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

const PKT_OFFSET_MS: i64 = 5 * 3_600_000;

/// Date and time parts in Pakistan Standard Time.
fn pkt_parts(ms: u64) -> (i64, u32, u32, u32, u32, u32) {
    let local = i64::try_from(ms).unwrap_or(i64::MAX - PKT_OFFSET_MS) + PKT_OFFSET_MS;
    let secs = local.div_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    (
        y,
        mo,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// A time as CAP and Atom write it, in Pakistan Standard Time: `2026-11-23T14:05:00+05:00`.
pub fn pkt(ms: u64) -> String {
    let (y, mo, d, h, mi, s) = pkt_parts(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+05:00")
}

/// A date and a time of day for people: `23 Nov 2026`, `14:05`.
fn pkt_date_time(ms: u64) -> (String, String) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d, h, mi, _) = pkt_parts(ms);
    (
        format!("{d} {} {y}", MONTHS[(mo - 1) as usize]),
        format!("{h:02}:{mi:02}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_in_pakistan_standard_time() {
        // 2026-11-01T00:00:00Z is 05:00 in Pakistan.
        assert_eq!(pkt(1_793_491_200_000), "2026-11-01T05:00:00+05:00");
        // 19:00Z on the last day of a year is the next year in Pakistan.
        assert_eq!(pkt(1_798_743_600_000), "2027-01-01T00:00:00+05:00");
        assert_eq!(pkt(0), "1970-01-01T05:00:00+05:00");
        assert_eq!(
            pkt_date_time(1_793_491_200_000),
            ("1 Nov 2026".to_owned(), "05:00".to_owned())
        );
        // Leap day.
        assert_eq!(pkt(1_835_395_200_000), "2028-02-29T05:00:00+05:00");
    }

    #[test]
    fn escaping_leaves_no_markup_and_no_characters_xml_forbids() {
        assert_eq!(
            escape("<a href=\"x\">Tom & 'Jerry'</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}c\u{FFFF}d\ne"), "abcd\ne");
        assert_eq!(escape("زارا"), "زارا");
    }
}

//! Kannel's sendsms HTTP interface: one GET per message, with the text in UTF-8, UCS-2 on the air when it needs
//! it (Kannel splits long texts into concatenated parts), and a delivery-report address that names the message.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// How long a submission may take before it counts as failed (and is tried again).
pub const SUBMIT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of the gateway's answer that is read and kept.
const ANSWER_BYTES_MAX: usize = 512;
/// Kannel's delivery-report mask: delivered, undelivered, buffered, accepted by the SMSC, rejected by the SMSC.
const DLR_MASK: u8 = 31;

/// A client for one smsbox.
#[derive(Debug, Clone)]
pub struct Kannel {
    config: hifazat_sms::Kannel,
    client: Client<HttpConnector, Empty<Bytes>>,
}

/// What the gateway answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    Accepted(String),
    Refused(String),
}

impl Kannel {
    pub fn new(config: hifazat_sms::Kannel) -> Kannel {
        let client = Client::builder(TokioExecutor::new()).build_http();
        Kannel { config, client }
    }

    /// The delivery report address for message `id`; Kannel fills in `%d` (the report type) and `%A` (the SMSC's
    /// words).
    fn dlr_url(&self, id: u64) -> String {
        format!(
            "{}/api/v1/sms/dlr?key={}&id={id}&status=%d&said=%A",
            self.config.callback_url.trim_end_matches('/'),
            self.config.callback_key
        )
    }

    /// The sendsms address for one message.
    pub fn url(&self, id: u64, to: &str, text: &str, ucs2: bool) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("username", &self.config.username)
            .append_pair("password", &self.config.password)
            .append_pair("from", &self.config.sender)
            .append_pair("to", to)
            .append_pair("text", text)
            .append_pair("charset", "UTF-8")
            .append_pair("coding", if ucs2 { "2" } else { "0" })
            .append_pair("dlr-mask", &DLR_MASK.to_string())
            .append_pair("dlr-url", &self.dlr_url(id))
            .finish();
        format!("{}?{query}", self.config.sendsms_url)
    }

    /// Hands one message to the gateway. An error is a failure to reach it (worth trying again); a refusal is the
    /// gateway's answer.
    pub async fn submit(
        &self,
        id: u64,
        to: &str,
        text: &str,
        ucs2: bool,
    ) -> Result<Submitted, String> {
        let uri: hyper::Uri = self
            .url(id, to, text, ucs2)
            .parse()
            .map_err(|e| format!("the sendsms address does not parse: {e}"))?;
        let response = tokio::time::timeout(SUBMIT_TIMEOUT, self.client.get(uri))
            .await
            .map_err(|_| {
                format!(
                    "no answer from the gateway in {}s",
                    SUBMIT_TIMEOUT.as_secs()
                )
            })?
            .map_err(|e| format!("the gateway is not reachable: {e}"))?;
        let status = response.status();
        let body = tokio::time::timeout(SUBMIT_TIMEOUT, response.into_body().collect())
            .await
            .map_err(|_| "the gateway's answer did not end".to_owned())?
            .map_err(|e| format!("the gateway's answer broke off: {e}"))?
            .to_bytes();
        let said = String::from_utf8_lossy(&body[..body.len().min(ANSWER_BYTES_MAX)])
            .trim()
            .to_owned();
        if status.is_success() {
            Ok(Submitted::Accepted(said))
        } else if status.is_server_error() {
            Err(format!("the gateway answered {status}: {said}"))
        } else {
            Ok(Submitted::Refused(format!("{status}: {said}")))
        }
    }
}

/// What a Kannel delivery report's type (`%d`) means for a message.
pub fn report(status: u8) -> Option<crate::outbox::State> {
    use crate::outbox::State;
    match status {
        1 => Some(State::Delivered),
        2 => Some(State::Failed {
            reason: "the network reports it undelivered".into(),
        }),
        16 => Some(State::Failed {
            reason: "the SMS centre rejected it".into(),
        }),
        // Buffered, or accepted by the SMS centre: still on its way.
        4 | 8 => Some(State::Submitted),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sendsms_address_carries_the_text_in_utf8_and_a_delivery_report_address() {
        let k = Kannel::new(hifazat_sms::Kannel {
            sendsms_url: "http://127.0.0.1:13013/cgi-bin/sendsms".into(),
            username: "u".into(),
            password: "p w".into(),
            sender: "8484".into(),
            callback_url: "http://127.0.0.5:8080/".into(),
            callback_key: "k".repeat(16),
        });
        let url = k.url(7, "+923001234567", "سلام & hi", true);
        assert!(url.starts_with(
            "http://127.0.0.1:13013/cgi-bin/sendsms?username=u&password=p+w&from=8484"
        ));
        assert!(url.contains(
            "&to=%2B923001234567&text=%D8%B3%D9%84%D8%A7%D9%85+%26+hi&charset=UTF-8&coding=2"
        ));
        assert!(url.contains(
            "dlr-url=http%3A%2F%2F127.0.0.5%3A8080%2Fapi%2Fv1%2Fsms%2Fdlr%3Fkey%3Dkkkkkkkkkkkkkkkk%26id%3D7%26status%3D%25d%26said%3D%25A"
        ));
        assert_eq!(report(1), Some(crate::outbox::State::Delivered));
        assert!(matches!(
            report(16),
            Some(crate::outbox::State::Failed { .. })
        ));
        assert_eq!(report(3), None);
    }
}

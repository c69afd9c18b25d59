//! Register officers are told of the register's enumeration alarms by SMS, once per alarm and officer, through the
//! outbox (and so through the gateway when one is configured).

mod common;

use common::{node_with_register_sms, now_ms, within};
use hifazat_phone::TopologyPlaces;
use hifazat_register::{Channel, GuardConfig, RegisterConfig, Requester};
use hifazat_sms::SmsConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_officers_are_told_of_an_alarm_once() {
    within(async {
        let topology = common::demo();
        let config = SmsConfig::parse(
            "[[register_officer]]\nname = \"Duty officer\"\nphone = \"03001234599\"\n\
             [[register_officer]]\nname = \"Deputy\"\nphone = \"03001234598\"\n",
            &TopologyPlaces(&topology),
        )
        .unwrap();
        let register = RegisterConfig {
            guard: GuardConfig {
                new_phones_alarm: 3,
                ..GuardConfig::default()
            },
            ..RegisterConfig::default()
        };
        let n = node_with_register_sms("federal", register, config);
        let phone = n.phone.clone().unwrap();
        // No alarm yet: nothing to tell.
        assert_eq!(phone.tell_alarms().await.unwrap(), 0);
        // Verifications from new numbers in a burst set the alarm off.
        let r = n.register.clone().unwrap();
        for i in 0..4 {
            let asker = Requester::Phone(format!("+92300111{i:04}"));
            let _ = r.verify(&asker, Channel::Sms, "3520112345671", now_ms());
        }
        assert_eq!(r.alarms(None, 10).unwrap().len(), 1, "the alarm went off");
        assert_eq!(phone.tell_alarms().await.unwrap(), 2, "both officers told");
        assert_eq!(phone.tell_alarms().await.unwrap(), 0, "and only once");
        let (_, page) = n.call("ministry", "GET", "/api/v1/sms/outbox", "").await;
        let told: Vec<_> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| {
                m["purpose"]["type"] == "register_alarm" || m["purpose"].get("seq").is_some()
            })
            .collect();
        assert_eq!(told.len(), 2, "{page}");
        for m in told {
            assert!(
                m["text"].as_str().unwrap().contains("REGISTER ALARM"),
                "{m}"
            );
            assert!(
                ["+923001234599", "+923001234598"].contains(&m["to"].as_str().unwrap()),
                "{m}"
            );
        }
    })
    .await;
}

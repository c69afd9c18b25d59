//! SMS, the parts that are the same whatever the gateway, all pure:
//! - `segment`: how a text is split into GSM 7-bit or UCS-2 parts;
//! - `incoming`: what an incoming text asks for;
//! - `phone`: phone numbers in E.164;
//! - `config`: a node's SMS settings and officials' directory;
//! - `template`: the texts sent, in Urdu and English;
//! - `plan`: which official is told of an alert, when, and by which node.
//!
//! The outbox, the Kannel gateway and the node's notifier are `hifazat-phone`'s.

pub mod config;
pub mod incoming;
pub mod phone;
pub mod plan;
pub mod segment;
pub mod template;

pub use config::{Gateway, Kannel, Official, Places, RegisterOfficer, SmsConfig, Timing};
pub use incoming::{AlertText, HELP, Request, parse};
pub use plan::{Duty, Plan, Seen, Task, plan};
pub use segment::{Coding, SMS_PARTS_MAX, Split, TooLong, coding, split};

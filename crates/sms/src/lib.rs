//! SMS, the parts that are the same whatever the gateway: how a text is split into GSM 7-bit or UCS-2 parts
//! (`segment`), and what an incoming text asks for (`incoming`). Pure.
//!
//! Not yet here (the SMS milestone): the outbox, the Kannel gateway, officials' notifications and escalation.

pub mod incoming;
pub mod segment;

pub use incoming::{AlertText, HELP, Request, parse};
pub use segment::{Coding, SMS_PARTS_MAX, Split, TooLong, coding, split};

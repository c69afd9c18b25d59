//! One raw gossipsub node as a process of its own, for the federation benchmark's baseline: the same process
//! layout as the demo federation, with none of its work. Usage: `raw-gossip LISTEN` (a multiaddr).
//!
//! Prints `ready` once listening, then `got SEQ` for each message received (SEQ is the message's first 8 bytes,
//! big-endian). Reads commands on standard input: `dial ADDR`, and `publish SEQ SIZE`, which publishes SIZE
//! random bytes starting with SEQ. Ends when standard input closes.

#![allow(clippy::print_stdout)]

use std::io::{BufRead, Write};

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic};
use libp2p::swarm::SwarmEvent;
use rand_core::{OsRng, RngCore};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args.next().expect("LISTEN").parse().expect("a multiaddr");
    let topic = IdentTopic::new("raw/1");
    let mut swarm = hifazat_bench::raw_gossip_swarm(listen, &topic);
    // Standard input is read on a thread of its own; its lines come over a channel.
    let (line_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut out = std::io::stdout();
    loop {
        tokio::select! {
            event = swarm.select_next_some() => match event {
                SwarmEvent::NewListenAddr { .. } => {
                    writeln!(out, "ready").and_then(|()| out.flush()).expect("stdout");
                }
                SwarmEvent::Behaviour(gossipsub::Event::Message { message, .. }) if message.data.len() >= 8 => {
                    let seq = u64::from_be_bytes(message.data[..8].try_into().expect("8 bytes"));
                    writeln!(out, "got {seq}").and_then(|()| out.flush()).expect("stdout");
                }
                _ => {}
            },
            line = lines.recv() => {
                let Some(line) = line else { break };
                if let Some(addr) = line.strip_prefix("dial ") {
                    swarm.dial(addr.parse::<libp2p::Multiaddr>().expect("a multiaddr")).expect("dial");
                    continue;
                }
                let mut words = line.split_whitespace().skip(1);
                let seq: u64 = words.next().and_then(|w| w.parse().ok()).expect("publish SEQ SIZE");
                let size: usize = words.next().and_then(|w| w.parse().ok()).expect("publish SEQ SIZE");
                let mut data = vec![0u8; size.max(8)];
                data[..8].copy_from_slice(&seq.to_be_bytes());
                OsRng.fill_bytes(&mut data[8..]);
                // Not yet in the mesh: the benchmark waits for every receipt and says so if one never comes.
                let _ = swarm.behaviour_mut().publish(topic.clone(), data);
            }
        }
    }
}

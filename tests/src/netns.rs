//! A network namespace with veth links to the host, for tests that cut a node off for real
//! (`tests/partition.rs`, `tests/offices.rs`), and the demo layout laid over those links.
//!
//! Nothing leaves the machine: while a test holds the namespace, each of its subnets has an `unreachable` route
//! behind the link's own, so with the host end down a packet for the node inside is refused at once rather than
//! taking the default route out of the machine.

use std::process::Command;

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("iproute2's `ip`");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The metric of the `unreachable` routes behind the test's links: higher (weaker) than the links' own routes.
const FALLBACK_METRIC: &str = "4242";

/// The namespace, links and fallback routes a test made; removed on drop.
#[derive(Debug)]
pub struct Cut {
    /// The namespace's name, for `ip netns exec`.
    pub ns: String,
    p2p_host: String,
    /// The subnets given an `unreachable` route.
    fenced: Vec<String>,
}

impl Cut {
    /// A namespace `hz<id>` with two veth pairs to the host: the peer-to-peer link on `10.213.<net>.0/24` (the
    /// one [`Cut::link`] takes down) and a control link on `10.214.<net>.0/24` that stays up, so a test (and a
    /// browser) can still reach the node inside. The host ends are `.1`, the namespace's `.2`.
    pub fn new(id: u32, net: u32) -> Cut {
        let ns = format!("hz{id}");
        let (p2p_host, p2p_ns) = (format!("hzp{id}h"), format!("hzp{id}n"));
        let (ctl_host, ctl_ns) = (format!("hzc{id}h"), format!("hzc{id}n"));
        let mut cut = Cut {
            ns: ns.clone(),
            p2p_host: p2p_host.clone(),
            fenced: Vec::new(),
        };
        // Before any link exists or goes down: these subnets route nowhere but to the test's links.
        for subnet in [213, 214] {
            let prefix = format!("10.{subnet}.{net}.0/24");
            ip(&[
                "route",
                "add",
                "unreachable",
                &prefix,
                "metric",
                FALLBACK_METRIC,
            ]);
            cut.fenced.push(prefix);
        }
        ip(&["netns", "add", &ns]);
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        for (host, inner, subnet) in [(&p2p_host, &p2p_ns, 213), (&ctl_host, &ctl_ns, 214)] {
            ip(&["link", "add", host, "type", "veth", "peer", "name", inner]);
            ip(&["link", "set", inner, "netns", &ns]);
            ip(&[
                "addr",
                "add",
                &format!("10.{subnet}.{net}.1/24"),
                "dev",
                host,
            ]);
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("10.{subnet}.{net}.2/24"),
                "dev",
                inner,
            ]);
            ip(&["link", "set", host, "up"]);
            ip(&["-n", &ns, "link", "set", inner, "up"]);
        }
        cut
    }

    /// The host end of the peer-to-peer link (what `ip link set <it> down` cuts).
    pub fn p2p_device(&self) -> &str {
        &self.p2p_host
    }

    /// Takes the peer-to-peer link down (cut) or up (heal).
    pub fn link(&self, up: bool) {
        ip(&[
            "link",
            "set",
            &self.p2p_host,
            if up { "up" } else { "down" },
        ]);
    }
}

impl Drop for Cut {
    fn drop(&mut self) {
        // Deleting the namespace deletes the veth ends inside it, and so both pairs; the fallback routes go last,
        // once no link of the test is left.
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        for prefix in &self.fenced {
            let _ = Command::new("ip")
                .args([
                    "route",
                    "del",
                    "unreachable",
                    prefix,
                    "metric",
                    FALLBACK_METRIC,
                ])
                .status();
        }
    }
}

/// The demo layout with every node on a [`Cut`]'s links: the host side shares `10.213.<net>.1` (HTTP on 18080 and
/// up, peer-to-peer on 19080 and up, in the demo's order), and node `inside` has the far end of the peer-to-peer
/// link (`10.213.<net>.2`, ports 18090 and 19090; its HTTP is reached at [`inside_http`]).
pub fn layout(net: u32, inside: &str) -> String {
    let mut text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../topology/demo.toml"
    ))
    .unwrap();
    let mut port = 0;
    for (i, name) in crate::DEMO.iter().enumerate() {
        let from = format!("host = \"127.0.0.{}\"", 2 + i);
        let to = if *name == inside {
            format!("host = \"10.213.{net}.2\"\nhttp_port = 18090\np2p_port = 19090")
        } else {
            port += 1;
            format!(
                "host = \"10.213.{net}.1\"\nhttp_port = {}\np2p_port = {}",
                18079 + port,
                19079 + port
            )
        };
        text = text.replacen(&from, &to, 1);
    }
    text
}

/// Where a node on the host side of [`layout`] answers HTTP.
pub fn host_http(net: u32, inside: &str, name: &str) -> std::net::SocketAddr {
    let port = crate::DEMO
        .iter()
        .filter(|n| **n != inside)
        .position(|n| *n == name)
        .expect("a node of the demo on the host side");
    format!("10.213.{net}.1:{}", 18080 + port).parse().unwrap()
}

/// Where the node inside the namespace answers HTTP: its control link, which stays up through a cut.
pub fn inside_http(net: u32) -> std::net::SocketAddr {
    format!("10.214.{net}.2:18090").parse().unwrap()
}

//! Reading a topology file: its rows as written, checked line by line and as a whole.

use super::*;

// The file as written. Codes carry their place in the file so errors can point at them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: String,
    /// Raised by the federal root with every signed update; the newest valid topology wins.
    #[serde(default)]
    version: u64,
    #[serde(default)]
    province: Vec<ProvinceRow>,
    #[serde(default)]
    region: Vec<RegionRow>,
    #[serde(default)]
    node: Vec<NodeRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvinceRow {
    code: Spanned<String>,
    name: String,
    /// The name in Urdu, in Urdu script.
    name_ur: Spanned<String>,
    kind: ProvinceKind,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionRow {
    code: Spanned<String>,
    province: Spanned<String>,
    name: String,
    /// The name in Urdu, in Urdu script.
    name_ur: Spanned<String>,
    districts: Vec<DistrictRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DistrictRow {
    code: Spanned<String>,
    name: String,
    /// The name in Urdu, in Urdu script.
    name_ur: String,
    /// The district headquarters (the town the district's offices are in).
    hq: String,
    lat: Spanned<f64>,
    lon: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeRow {
    name: Spanned<String>,
    role: Role,
    #[serde(default)]
    province: Option<Spanned<String>>,
    #[serde(default)]
    district: Option<Spanned<String>>,
    host: Spanned<String>,
    #[serde(default = "default_http_port")]
    http_port: u16,
    #[serde(default = "default_p2p_port")]
    p2p_port: u16,
    /// The node's ed25519 public key, 64 hex digits: its identity on the network and in logs.
    #[serde(default)]
    key: Option<Spanned<String>>,
    /// Former keys, each revoked after the given entry of each of its logs (scope = last valid seq).
    #[serde(default)]
    revoked: Vec<RevokedRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokedRow {
    key: Spanned<String>,
    #[serde(default)]
    logs: BTreeMap<String, u64>,
}

fn default_http_port() -> u16 {
    HTTP_PORT_DEFAULT
}

fn default_p2p_port() -> u16 {
    P2P_PORT_DEFAULT
}

struct Lines<'a>(&'a str);

impl Lines<'_> {
    fn of(&self, offset: usize) -> usize {
        self.0.as_bytes()[..offset.min(self.0.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    fn err<T>(
        &self,
        span: std::ops::Range<usize>,
        reason: impl Into<String>,
    ) -> Result<T, TopologyError> {
        Err(TopologyError {
            line: Some(self.of(span.start)),
            reason: reason.into(),
        })
    }
}

/// Whether `name` is an Urdu name: not empty, and every letter in it of the Arabic script (its base, supplement
/// and presentation-form blocks), so a Latin name copied into `name_ur` by mistake is refused.
pub(crate) fn urdu_ok(name: &str) -> bool {
    let name = name.trim();
    !name.is_empty()
        && name.chars().count() <= limits::NAME_CHARS_MAX
        && name.chars().filter(|c| c.is_alphabetic()).all(|c| {
            matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
        })
        && name.chars().any(char::is_alphabetic)
}

fn code_ok(code: &str, parts: usize) -> bool {
    let pieces: Vec<&str> = code.split('-').collect();
    pieces.len() == parts
        && pieces.iter().all(|p| {
            (2..=12).contains(&p.len())
                && p.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
}

impl Topology {
    pub fn parse(text: &str) -> Result<Topology, TopologyError> {
        if text.len() > limits::TOPOLOGY_BYTES_MAX {
            return Err(TopologyError {
                line: None,
                reason: "topology file is too large".into(),
            });
        }
        let lines = Lines(text);
        let file: File = toml::from_str(text).map_err(|e| TopologyError {
            line: e.span().map(|s| lines.of(s.start)),
            reason: e.message().to_owned(),
        })?;
        if file.name.trim().is_empty() {
            return Err(TopologyError {
                line: Some(1),
                reason: "`name` must not be empty".into(),
            });
        }

        let mut provinces = Vec::new();
        let mut province_codes = BTreeSet::new();
        for p in &file.province {
            if !code_ok(p.code.get_ref(), 1) {
                return lines.err(
                    p.code.span(),
                    format!("province code `{}` must be 2-12 capitals", p.code.get_ref()),
                );
            }
            if !province_codes.insert(p.code.get_ref().clone()) {
                return lines.err(
                    p.code.span(),
                    format!("province `{}` is defined twice", p.code.get_ref()),
                );
            }
            if !urdu_ok(p.name_ur.get_ref()) {
                return lines.err(
                    p.name_ur.span(),
                    format!(
                        "province `{}` needs `name_ur`, its name in Urdu script",
                        p.code.get_ref()
                    ),
                );
            }
            provinces.push(Province {
                code: p.code.get_ref().clone(),
                name: p.name.clone(),
                name_ur: p.name_ur.get_ref().trim().to_owned(),
                kind: p.kind,
            });
        }

        let mut regions = Vec::new();
        let mut region_codes = BTreeSet::new();
        let mut districts = Vec::new();
        let mut district_index = BTreeMap::new();
        for r in &file.region {
            let code = r.code.get_ref();
            if !code_ok(code, 2) {
                return lines.err(
                    r.code.span(),
                    format!("region code `{code}` must look like PB-LAHORE"),
                );
            }
            if !region_codes.insert(code.clone()) {
                return lines.err(r.code.span(), format!("region `{code}` is defined twice"));
            }
            if !province_codes.contains(r.province.get_ref()) {
                return lines.err(
                    r.province.span(),
                    format!(
                        "region `{code}` names unknown province `{}`",
                        r.province.get_ref()
                    ),
                );
            }
            if !code.starts_with(&format!("{}-", r.province.get_ref())) {
                return lines.err(
                    r.code.span(),
                    format!("region `{code}` must start with its province code"),
                );
            }
            if !urdu_ok(r.name_ur.get_ref()) {
                return lines.err(
                    r.name_ur.span(),
                    format!("region `{code}` needs `name_ur`, its name in Urdu script"),
                );
            }
            if r.districts.is_empty() {
                return lines.err(r.code.span(), format!("region `{code}` has no districts"));
            }
            for d in &r.districts {
                let dcode = d.code.get_ref();
                if !code_ok(dcode, 2) || !dcode.starts_with(&format!("{}-", r.province.get_ref())) {
                    return lines.err(
                        d.code.span(),
                        format!(
                            "district code `{dcode}` must look like {}-ABC",
                            r.province.get_ref()
                        ),
                    );
                }
                if region_codes.contains(dcode) || district_index.contains_key(dcode) {
                    return lines.err(d.code.span(), format!("code `{dcode}` is used twice"));
                }
                if d.name.trim().is_empty() || d.hq.trim().is_empty() {
                    return lines.err(
                        d.code.span(),
                        format!("district `{dcode}` needs a name and a headquarters"),
                    );
                }
                if !urdu_ok(&d.name_ur) {
                    return lines.err(
                        d.code.span(),
                        format!("district `{dcode}` needs `name_ur`, its name in Urdu script"),
                    );
                }
                let lat = *d.lat.get_ref();
                if let Err(reason) = hifazat_domain::geo::coordinates(lat, d.lon) {
                    return lines.err(
                        d.lat.span(),
                        format!("district `{dcode}` headquarters {reason}"),
                    );
                }
                district_index.insert(dcode.clone(), districts.len());
                districts.push(District {
                    code: dcode.clone(),
                    name: d.name.clone(),
                    name_ur: d.name_ur.trim().to_owned(),
                    hq: d.hq.clone(),
                    lat,
                    lon: d.lon,
                    region: code.clone(),
                    province: r.province.get_ref().clone(),
                });
            }
            regions.push(Region {
                code: code.clone(),
                name: r.name.clone(),
                name_ur: r.name_ur.get_ref().trim().to_owned(),
                province: r.province.get_ref().clone(),
            });
        }

        if file.node.len() > limits::TOPOLOGY_NODES_MAX {
            return Err(TopologyError {
                line: None,
                reason: format!(
                    "{} nodes; at most {} are allowed",
                    file.node.len(),
                    limits::TOPOLOGY_NODES_MAX
                ),
            });
        }
        let mut nodes = Vec::new();
        let mut names = BTreeSet::new();
        let mut keys = BTreeSet::new();
        let mut sockets = BTreeSet::new();
        for n in &file.node {
            let name = n.name.get_ref();
            let name_ok = (1..=32).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !name_ok {
                return lines.err(
                    n.name.span(),
                    format!("node name `{name}` must be 1-32 of a-z, 0-9 and -"),
                );
            }
            if !names.insert(name.clone()) {
                return lines.err(n.name.span(), format!("node `{name}` is defined twice"));
            }
            let host: IpAddr = n.host.get_ref().parse().or_else(|_| {
                lines.err(
                    n.host.span(),
                    format!("host `{}` is not an IP address", n.host.get_ref()),
                )
            })?;
            for port in [n.http_port, n.p2p_port] {
                if port == 0 || !sockets.insert((host, port)) {
                    return lines.err(
                        n.host.span(),
                        format!("node `{name}`: {host}:{port} is zero or already taken"),
                    );
                }
            }
            let key_of = |k: &Spanned<String>| -> Result<[u8; 32], TopologyError> {
                hex::decode(k.get_ref())
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .map_or_else(
                        || {
                            lines.err(
                                k.span(),
                                format!("node `{name}`: a key must be 64 hexadecimal digits"),
                            )
                        },
                        Ok,
                    )
            };
            let key = match &n.key {
                None => None,
                Some(k) => {
                    let bytes = key_of(k)?;
                    if !keys.insert(bytes) {
                        return lines.err(
                            k.span(),
                            format!("node `{name}`: key already belongs to another node"),
                        );
                    }
                    Some(bytes)
                }
            };
            if n.revoked.len() > limits::TOPOLOGY_REVOKED_MAX {
                return lines.err(
                    n.name.span(),
                    format!(
                        "node `{name}`: {} revoked keys; at most {} are kept",
                        n.revoked.len(),
                        limits::TOPOLOGY_REVOKED_MAX
                    ),
                );
            }
            let mut revoked = Vec::with_capacity(n.revoked.len());
            for r in &n.revoked {
                let bytes = key_of(&r.key)?;
                // A key is one node's, now or before, never two's: entries name their author by key alone.
                if !keys.insert(bytes) {
                    return lines.err(
                        r.key.span(),
                        format!("node `{name}`: revoked key already belongs to a node"),
                    );
                }
                if r.logs.len() > limits::TOPOLOGY_REVOKED_LOGS_MAX {
                    return lines.err(
                        r.key.span(),
                        format!(
                            "node `{name}`: a revoked key names {} logs; at most {}",
                            r.logs.len(),
                            limits::TOPOLOGY_REVOKED_LOGS_MAX
                        ),
                    );
                }
                for scope in r.logs.keys() {
                    if hifazat_log::Scope::parse(scope).is_err() {
                        return lines.err(
                            r.key.span(),
                            format!("node `{name}`: `{scope}` in a revoked key's logs is not a log scope"),
                        );
                    }
                }
                revoked.push(Revoked {
                    key: bytes,
                    logs: r.logs.clone(),
                });
            }
            let (province, district) = match n.role {
                Role::Federal => {
                    if n.province.is_some() || n.district.is_some() {
                        return lines.err(
                            n.name.span(),
                            "the federal node has no province or district",
                        );
                    }
                    (None, None)
                }
                Role::Province => {
                    let Some(p) = &n.province else {
                        return lines.err(
                            n.name.span(),
                            format!("province node `{name}` needs `province`"),
                        );
                    };
                    if !province_codes.contains(p.get_ref()) {
                        return lines.err(p.span(), format!("unknown province `{}`", p.get_ref()));
                    }
                    (Some(p.get_ref().clone()), None)
                }
                Role::District => {
                    let Some(d) = &n.district else {
                        return lines.err(
                            n.name.span(),
                            format!("district node `{name}` needs `district`"),
                        );
                    };
                    let Some(&i) = district_index.get(d.get_ref()) else {
                        return lines.err(d.span(), format!("unknown district `{}`", d.get_ref()));
                    };
                    (
                        Some(districts[i].province.clone()),
                        Some(d.get_ref().clone()),
                    )
                }
            };
            nodes.push(Node {
                name: name.clone(),
                role: n.role,
                province,
                district,
                host,
                http_port: n.http_port,
                p2p_port: n.p2p_port,
                key,
                revoked,
            });
        }
        let federal = nodes.iter().filter(|n| n.role == Role::Federal).count();
        if !nodes.is_empty() && federal != 1 {
            return Err(TopologyError {
                line: None,
                reason: format!("{federal} federal nodes; there must be exactly one"),
            });
        }
        let mut key_index = std::collections::HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            for (r, revoked) in n.revoked.iter().enumerate() {
                key_index.insert(revoked.key, (i, Some(r)));
            }
        }
        // Current keys last: a key both current and revoked (refused above) would read as current.
        for (i, n) in nodes.iter().enumerate() {
            if let Some(key) = n.key {
                key_index.insert(key, (i, None));
            }
        }
        Ok(Topology {
            name: file.name,
            version: file.version,
            provinces,
            regions,
            districts,
            nodes,
            district_index,
            key_index,
        })
    }

    /// Checks that this topology can be a membership document: it names nodes, and every node has a key.
    pub(super) fn check_membership(&self) -> Result<(), TopologyError> {
        if self.nodes.is_empty() {
            return Err(TopologyError {
                line: None,
                reason: "a signed topology must name its nodes".into(),
            });
        }
        if let Some(n) = self.nodes.iter().find(|n| n.key.is_none()) {
            return Err(TopologyError {
                line: None,
                reason: format!(
                    "node `{}` has no `key`; a signed topology names every node's public key",
                    n.name
                ),
            });
        }
        Ok(())
    }
}

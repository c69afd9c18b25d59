//! What a log is about, and so who may hold it: a typed value, written as a string only on the wire.
//!
//! On the wire (`docs/wire.md`) a scope is 1 to `SCOPE_BYTES_MAX` bytes of ASCII `a-z 0-9 - _ / :`:
//! `alerts`, `photos`, `cases/<district>`, `notices/<district or province>`, `register`, `register/<part>`. An area code
//! is written lower case on the wire and held upper case, as the topology writes it. A well-formed scope that this
//! version does not know (a newer version's) decodes as [`Scope::Other`], which nobody may hold, so an old node
//! neither stores nor relays it, and still understands the rest of a message that names it.

use std::cmp::Ordering;
use std::fmt;

use hifazat_limits as limits;

use crate::entry::DecodeError;

/// A district's or province's code as the topology writes it (upper case, e.g. `PB-LHR`, `SD`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct AreaCode(String);

impl AreaCode {
    /// A code of ASCII letters, digits and `-_:`, of either case, short enough for any scope that names it.
    pub fn new(code: &str) -> Result<AreaCode, DecodeError> {
        let ok = !code.is_empty()
            && "notices/".len() + code.len() <= limits::SCOPE_BYTES_MAX
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_:".contains(&b));
        if ok {
            Ok(AreaCode(code.to_ascii_uppercase()))
        } else {
            Err(DecodeError::Scope)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The rest of a scope's wire form that no typed part describes (a register part, a scope this version does not
/// know): well-formed, and made only by reading a scope.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Unparsed(String);

impl Unparsed {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a log is about.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Missing-child alerts: national.
    Alerts,
    /// The photos of missing-child alerts, in pieces: national, as the alerts are.
    Photos,
    /// One district's complaint cases.
    Cases(AreaCode),
    /// Register notifications sealed to the federal node's key at a district's or a province's node.
    Notices(AreaCode),
    /// Break-glass uses (`access/<about>/<at>`): officials' time-limited views of records of district `about`
    /// outside their area, written at a node of area `at` (its district or province; `about` itself at a node on
    /// that district's line).
    Access { about: AreaCode, at: AreaCode },
    /// The confidential register.
    Register,
    /// A log kept under the register (`register/<part>`), held as the register is.
    RegisterPart(Unparsed),
    /// A well-formed scope this version does not know.
    Other(Unparsed),
}

/// A scope's wire bytes, on the stack.
#[derive(Debug)]
pub struct WireScope {
    bytes: [u8; limits::SCOPE_BYTES_MAX],
    len: usize,
}

impl WireScope {
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("scopes are ASCII")
    }

    fn push(&mut self, s: &str) {
        for b in s.bytes() {
            self.bytes[self.len] = b.to_ascii_lowercase();
            self.len += 1;
        }
    }
}

fn well_formed(s: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= limits::SCOPE_BYTES_MAX
        && s.iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_/:".contains(b))
}

impl Scope {
    /// Reads a scope from its wire form.
    pub fn parse(wire: &str) -> Result<Scope, DecodeError> {
        if !well_formed(wire.as_bytes()) {
            return Err(DecodeError::Scope);
        }
        let area = |code: &str| AreaCode::new(code).ok();
        Ok(if wire == "alerts" {
            Scope::Alerts
        } else if wire == "photos" {
            Scope::Photos
        } else if wire == "register" {
            Scope::Register
        } else if let Some(part) = wire.strip_prefix("register/") {
            Scope::RegisterPart(Unparsed(part.to_owned()))
        } else if let Some(code) = wire.strip_prefix("cases/").and_then(area) {
            Scope::Cases(code)
        } else if let Some(code) = wire.strip_prefix("notices/").and_then(area) {
            Scope::Notices(code)
        } else if let Some((about, at)) = wire
            .strip_prefix("access/")
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(about, at)| Some((area(about)?, area(at)?)))
        {
            Scope::Access { about, at }
        } else {
            Scope::Other(Unparsed(wire.to_owned()))
        })
    }

    /// Reads a scope from its wire bytes.
    pub fn decode(wire: &[u8]) -> Result<Scope, DecodeError> {
        Scope::parse(std::str::from_utf8(wire).map_err(|_| DecodeError::Scope)?)
    }

    /// The national missing-child alert log scope.
    pub fn alerts() -> Scope {
        Scope::Alerts
    }

    /// The national scope of alerts' photos.
    pub fn photos() -> Scope {
        Scope::Photos
    }

    /// The scope of one district's complaint cases.
    pub fn cases(district_code: &str) -> Result<Scope, DecodeError> {
        AreaCode::new(district_code).map(Scope::Cases)
    }

    /// The scope of register notifications sealed at a node of one district (or province).
    pub fn notices(code: &str) -> Result<Scope, DecodeError> {
        AreaCode::new(code).map(Scope::Notices)
    }

    /// The scope of break-glass uses of records of district `about` at a node of area `at`.
    pub fn access(about: &str, at: &str) -> Result<Scope, DecodeError> {
        // Both codes together must fit a scope's length.
        if "access/".len() + about.len() + 1 + at.len() > limits::SCOPE_BYTES_MAX {
            return Err(DecodeError::Scope);
        }
        Ok(Scope::Access {
            about: AreaCode::new(about)?,
            at: AreaCode::new(at)?,
        })
    }

    /// The scope's wire form.
    pub fn wire(&self) -> WireScope {
        let mut w = WireScope {
            bytes: [0; limits::SCOPE_BYTES_MAX],
            len: 0,
        };
        match self {
            Scope::Alerts => w.push("alerts"),
            Scope::Photos => w.push("photos"),
            Scope::Register => w.push("register"),
            Scope::RegisterPart(part) => {
                w.push("register/");
                w.push(part.as_str());
            }
            Scope::Cases(code) => {
                w.push("cases/");
                w.push(code.as_str());
            }
            Scope::Notices(code) => {
                w.push("notices/");
                w.push(code.as_str());
            }
            Scope::Access { about, at } => {
                w.push("access/");
                w.push(about.as_str());
                w.push("/");
                w.push(at.as_str());
            }
            Scope::Other(s) => w.push(s.as_str()),
        }
        w
    }
}

/// Scopes sort by their wire form, as they did when they were strings (vectors and listings keep their order).
impl Ord for Scope {
    fn cmp(&self, other: &Scope) -> Ordering {
        self.wire().as_bytes().cmp(other.wire().as_bytes())
    }
}

impl PartialOrd for Scope {
    fn partial_cmp(&self, other: &Scope) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({})", self.wire().as_str())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire().as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_wire_form() {
        for wire in [
            "alerts",
            "photos",
            "cases/pb-lhr",
            "notices/sd",
            "access/pb-lhr/sd-khs",
            "access/pb-lhr/pb",
            "register",
            "register/notifications",
            "statistics",
            "cases/",
            "cases/a/b",
        ] {
            let scope = Scope::parse(wire).expect(wire);
            assert_eq!(scope.to_string(), wire);
            assert_eq!(Scope::decode(wire.as_bytes()), Ok(scope));
        }
        assert_eq!(
            Scope::parse("cases/pb-lhr"),
            Ok(Scope::Cases(AreaCode::new("PB-LHR").unwrap()))
        );
        assert_eq!(Scope::cases("pb-lhr"), Scope::parse("cases/pb-lhr"));
        // Not an area code: kept, and held by nobody.
        assert!(matches!(Scope::parse("cases/a/b"), Ok(Scope::Other(_))));
        for bad in ["", "Alerts", "cases/PB", "a b", &"x".repeat(49)] {
            assert_eq!(Scope::parse(bad), Err(DecodeError::Scope), "{bad:?}");
        }
        assert!(Scope::cases("pb lhr").is_err());
        assert_eq!(
            Scope::access("PB-LHR", "SD-KHS"),
            Scope::parse("access/pb-lhr/sd-khs")
        );
        assert!(Scope::access(&"x".repeat(20), &"y".repeat(21)).is_err());
        assert!(Scope::cases(&"x".repeat(41)).is_err());
    }

    #[test]
    fn scopes_sort_as_their_wire_forms() {
        let mut wires = [
            "register",
            "alerts",
            "notices/pb",
            "cases/sd-hyd",
            "cases/pb-lhr",
            "other",
        ];
        let mut scopes: Vec<Scope> = wires.iter().map(|w| Scope::parse(w).unwrap()).collect();
        wires.sort();
        scopes.sort();
        let sorted: Vec<String> = scopes.iter().map(Scope::to_string).collect();
        assert_eq!(sorted, wires);
    }
}

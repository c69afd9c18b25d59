//! Users, tokens and the access rules.

use hifazat_access::{Area, AuthError, Caller, Directory, Role, Users};
use hifazat_domain::EventKind;
use hifazat_topology::Topology;

fn demo() -> Topology {
    Topology::parse(include_str!("../../../topology/demo.toml")).unwrap()
}

fn user(role: Role, area: Area) -> Caller {
    Caller::User {
        name: "Officer".into(),
        role,
        area,
    }
}

#[test]
fn users_are_added_checked_found_by_token_and_removed() {
    let t = demo();
    let dir = tempfile::tempdir().unwrap();
    let lahore = t.node("lahore").unwrap();
    let district = Area::District("PB-LHR".into());
    let (user, token) = Users::add(
        dir.path(),
        &t,
        lahore,
        "Ayesha Malik",
        Role::Dpo,
        district.clone(),
    )
    .unwrap();
    assert!(token.starts_with("hz_") && token.len() == 67, "{token}");
    assert_eq!(user.token_sha256.len(), 64);
    let text = std::fs::read_to_string(dir.path().join("users.json")).unwrap();
    assert!(
        !text.contains(&token[3..]),
        "the token itself is never stored"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("users.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let users = Users::load(dir.path()).unwrap();
    assert_eq!(users.find(&token).unwrap().name, "Ayesha Malik");
    assert!(users.find("hz_0000").is_none());

    // Each refusal says why.
    let refused = |name: &str, role: Role, area: Area, node: &str| {
        Users::add(dir.path(), &t, t.node(node).unwrap(), name, role, area)
            .unwrap_err()
            .to_string()
    };
    assert!(
        refused("Ayesha Malik", Role::Dpo, district.clone(), "lahore").contains("already exists")
    );
    assert!(refused("B", Role::Rpo, district.clone(), "lahore").contains("needs --region"));
    assert!(refused("B", Role::Ministry, district.clone(), "lahore").contains("whole country"));
    assert!(
        refused("B", Role::Dpo, Area::District("SD-KHS".into()), "lahore")
            .contains("not on node `lahore`'s line")
    );
    assert!(
        refused("B", Role::Dpo, Area::District("XX-NOPE".into()), "lahore")
            .contains("not in the topology")
    );
    assert!(refused("B", Role::Ig, Area::Province("SD".into()), "punjab").contains("not on node"));
    assert!(refused("B", Role::RegisterOfficer, Area::National, "punjab").contains("federal node"));
    assert!(refused("B", Role::Verifier, Area::National, "lahore").contains("federal node"));
    assert!(refused("", Role::Ministry, Area::National, "lahore").contains("--name"));
    assert!(refused("a:b", Role::Ministry, Area::National, "lahore").contains("--name"));
    // What the line allows.
    Users::add(
        dir.path(),
        &t,
        t.node("punjab").unwrap(),
        "RPO Lahore",
        Role::Rpo,
        Area::Region("PB-LAHORE".into()),
    )
    .unwrap();
    Users::add(
        dir.path(),
        &t,
        t.node("federal").unwrap(),
        "NPB",
        Role::RegisterOfficer,
        Area::National,
    )
    .unwrap();
    Users::add(
        dir.path(),
        &t,
        t.node("federal").unwrap(),
        "IG Sindh",
        Role::Ig,
        Area::Province("SD".into()),
    )
    .unwrap();

    let removed = Users::remove(dir.path(), "Ayesha Malik").unwrap();
    assert_eq!(removed.role, Role::Dpo);
    assert!(Users::load(dir.path()).unwrap().find(&token).is_none());
    assert!(
        Users::remove(dir.path(), "Ayesha Malik")
            .unwrap_err()
            .to_string()
            .contains("no user")
    );
}

#[test]
fn the_directory_names_callers_and_sees_new_users() {
    let t = demo();
    let dir = tempfile::tempdir().unwrap();
    let directory = Directory::open(dir.path()).unwrap();
    assert_eq!(directory.caller(None), Ok(Caller::Public));
    assert_eq!(
        directory.caller(Some("Basic abc")),
        Err(AuthError::Malformed)
    );
    assert_eq!(
        directory.caller(Some("Bearer nonsense")),
        Err(AuthError::Unknown)
    );
    let (_, token) = Users::add(
        dir.path(),
        &t,
        t.node("lahore").unwrap(),
        "Clerk",
        Role::StationOfficer,
        Area::District("PB-LHR".into()),
    )
    .unwrap();
    // A running node reads the file again within a second of a change.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let header = format!("Bearer {token}");
    loop {
        match directory.caller(Some(&header)) {
            Ok(caller) => {
                assert_eq!(caller.actor(), "station_officer:Clerk");
                break;
            }
            Err(e) => {
                assert!(std::time::Instant::now() < deadline, "{e}");
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }
}

#[test]
fn areas_cover_their_districts() {
    let t = demo();
    assert!(Area::District("PB-LHR".into()).covers(&t, "PB-LHR"));
    assert!(!Area::District("PB-LHR".into()).covers(&t, "PB-KSR"));
    assert!(Area::Region("PB-LAHORE".into()).covers(&t, "PB-KSR"));
    assert!(!Area::Region("PB-LAHORE".into()).covers(&t, "SD-KHS"));
    assert!(Area::Province("SD".into()).covers(&t, "SD-HYD"));
    assert!(!Area::Province("SD".into()).covers(&t, "PB-LHR"));
    assert!(Area::National.covers(&t, "SD-HYD"));
}

#[test]
fn the_rules() {
    let t = demo();
    let public = Caller::Public;
    let dpo = user(Role::Dpo, Area::District("PB-LHR".into()));
    let ig_sindh = user(Role::Ig, Area::Province("SD".into()));
    let ministry = user(Role::Ministry, Area::National);
    let auditor = user(Role::Auditor, Area::National);
    let registrar = user(Role::RegisterOfficer, Area::National);

    assert!(public.may_raise_alert().is_ok());
    assert!(dpo.may_raise_alert().is_ok());
    assert!(ministry.may_raise_alert().is_err());
    assert!(auditor.may_raise_alert().is_err());

    // Only police validate or close, and only in their area; a recovery can be recorded anywhere.
    assert!(
        dpo.may_add_alert_event(&t, "PB-LHR", &EventKind::Validated)
            .is_ok()
    );
    assert!(
        dpo.may_add_alert_event(&t, "PB-LHR", &EventKind::Closed)
            .is_ok()
    );
    let far = dpo
        .may_add_alert_event(&t, "SD-KHS", &EventKind::Validated)
        .unwrap_err();
    assert!(far.0.contains("outside your area"), "{far}");
    assert!(
        dpo.may_add_alert_event(&t, "SD-KHS", &EventKind::Recovered)
            .is_ok()
    );
    assert!(
        ministry
            .may_add_alert_event(&t, "PB-LHR", &EventKind::Validated)
            .is_err()
    );
    assert!(
        public
            .may_add_alert_event(&t, "PB-LHR", &EventKind::Sighted)
            .is_err()
    );
    assert!(
        ig_sindh
            .may_add_alert_event(&t, "SD-HYD", &EventKind::Closed)
            .is_ok()
    );

    // Restricted parts and cases: police of the area and the ministry.
    assert!(dpo.sees_alert_restricted(&t, "PB-LHR"));
    assert!(!dpo.sees_alert_restricted(&t, "PB-KSR"));
    assert!(ministry.sees_alert_restricted(&t, "SD-HYD"));
    assert!(!public.sees_alert_restricted(&t, "PB-LHR"));
    assert!(!auditor.sees_alert_restricted(&t, "PB-LHR"));
    assert!(!registrar.sees_cases(&t, "PB-LHR"));
    assert!(ig_sindh.sees_cases(&t, "SD-KHS"));
    assert!(!ig_sindh.sees_cases(&t, "PB-LHR"));

    assert!(public.may_file_case(&t, "PB-LHR").is_ok());
    assert!(dpo.may_file_case(&t, "SD-KHS").is_err());
    assert!(ministry.may_file_case(&t, "PB-LHR").is_err());
    assert!(dpo.may_add_case_event(&t, "PB-LHR").is_ok());
    assert!(dpo.may_add_case_event(&t, "PB-KSR").is_err());
    assert!(public.may_add_case_event(&t, "PB-LHR").is_err());
    assert!(public.may_see_peers().is_err());
    assert!(auditor.may_see_peers().is_ok());

    // The register: institutions and register officers verify; only register officers keep it; police notify.
    let verifier = user(Role::Verifier, Area::National);
    assert!(verifier.may_verify().is_ok());
    assert!(registrar.may_verify().is_ok());
    assert!(public.may_verify().unwrap_err().0.contains("short code"));
    assert!(ministry.may_verify().is_err());
    assert!(dpo.may_verify().is_err());
    assert!(registrar.may_keep_register().is_ok());
    for other in [&verifier, &ministry, &auditor, &dpo, &public] {
        assert!(other.may_keep_register().is_err());
        assert!(!verifier.sees_cases(&t, "PB-LHR"));
    }
    // The register log's checkpoints and proofs: auditors and register officers.
    assert!(auditor.may_audit_register().is_ok());
    assert!(registrar.may_audit_register().is_ok());
    for other in [&verifier, &ministry, &dpo, &ig_sindh, &public] {
        assert!(other.may_audit_register().is_err());
    }
    assert!(dpo.may_notify_register().is_ok());
    assert!(ig_sindh.may_notify_register().is_ok());
    for other in [&verifier, &ministry, &auditor, &registrar, &public] {
        assert!(other.may_notify_register().is_err());
    }
    assert_eq!(public.actor(), "public");
}

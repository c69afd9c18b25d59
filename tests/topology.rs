//! The signed topology through the binary, as an operator runs it: a root key is made, each node is initialised
//! and reports its public key, the keys go into the topology, the root signs it, and anyone holding the root's
//! verifier key can check it. Altered or foreign-signed topologies are refused with a reason. No network.

use std::path::Path;
use std::process::{Command, Output};

use hifazat_tests::{demo_names, exe, http, init, start};

fn hifazat(args: &[&str]) -> Output {
    Command::new(exe()).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `hifazat topology sign --key KEY --in INPUT --out OUT`.
fn sign(key: &Path, input: &Path, out: &Path) -> Output {
    hifazat(&[
        "topology",
        "sign",
        "--key",
        path(key),
        "--in",
        path(input),
        "--out",
        path(out),
    ])
}

/// Makes a root key in `dir`; returns its verifier key.
fn keygen(dir: &Path, file: &str) -> String {
    let out = hifazat(&[
        "topology",
        "keygen",
        "--name",
        "hifazat.example/root",
        "--out",
        path(&dir.join(file)),
    ]);
    assert!(out.status.success(), "{out:?}");
    stdout(&out).trim().to_owned()
}

#[test]
fn a_topology_is_signed_by_the_root_and_checked_by_anyone() {
    let dir = tempfile::tempdir().unwrap();
    let root = keygen(dir.path(), "root.key");
    assert!(root.starts_with("hifazat.example/root+"), "{root}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("root.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The root key is never overwritten.
    let again = hifazat(&[
        "topology",
        "keygen",
        "--name",
        "x",
        "--out",
        path(&dir.path().join("root.key")),
    ]);
    assert!(!again.status.success());

    // Each node is initialised from the unsigned layout and reports its public key.
    let demo = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../topology/demo.toml"
    ))
    .unwrap();
    let mut keyed = demo.replacen("name = \"demo\"", "name = \"demo\"\nversion = 1", 1);
    let mut members = 0;
    for node in demo_names() {
        let node = node.as_str();
        let out = init(node, &dir.path().join(node));
        assert!(out.status.success(), "{out:?}");
        let printed = stdout(&out);
        let key = printed
            .rsplit("public key ")
            .next()
            .unwrap()
            .trim_end_matches([')', '\n']);
        assert_eq!(key.len(), 64, "{printed}");
        let marker = format!("name = \"{node}\"\n");
        assert!(keyed.contains(&marker), "{node} in demo.toml");
        keyed = keyed.replacen(&marker, &format!("{marker}key = \"{key}\"\n"), 1);
        members += 1;
    }
    let toml = dir.path().join("demo-keyed.toml");
    std::fs::write(&toml, &keyed).unwrap();
    let signed = dir.path().join("demo.signed");
    let out = sign(&dir.path().join("root.key"), &toml, &signed);
    assert!(out.status.success(), "{out:?}");

    let verify =
        |file: &Path, root: &str| hifazat(&["topology", "verify", "--root", root, path(file)]);
    let out = verify(&signed, &root);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "version 1, signed by hifazat.example/root, {members} members"
        )),
        "{text}"
    );
    assert!(text.contains("lahore"), "{text}");

    // Altered in transit: one address changed.
    let altered = dir.path().join("altered.signed");
    let bytes = std::fs::read_to_string(&signed).unwrap();
    std::fs::write(&altered, bytes.replacen("127.0.0.5", "127.0.0.9", 1)).unwrap();
    let out = verify(&altered, &root);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("does not verify"), "{out:?}");

    // Checked against another root key (same name): no known signature.
    let other = keygen(dir.path(), "other.key");
    let out = verify(&signed, &other);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("no signature by a known key"),
        "{out:?}"
    );

    // Installing it into a node: the node checks it again and must find itself under its own key.
    let lahore = dir.path().join("lahore");
    let install = |data: &Path, root: &str, file: &Path| {
        hifazat(&[
            "topology",
            "install",
            "--data",
            path(data),
            "--root",
            root,
            path(file),
        ])
    };
    let out = install(&lahore, &root, &signed);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout(&out).contains("installed topology version 1"),
        "{out:?}"
    );
    // The node serves with it.
    let (mut child, addr) = start("127.0.0.23", &lahore);
    let (status, _) = http(addr, "GET", "/healthz", "").unwrap();
    assert_eq!(status, 200);
    child.kill().unwrap(); // the process this test started
    child.wait().unwrap();
    // Not the same version again, nor an older one.
    let out = install(&lahore, &root, &signed);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only a newer one replaces it"),
        "{out:?}"
    );
    // A node whose key is not the one the topology names for it refuses it.
    let stranger = dir.path().join("stranger");
    assert!(init("lahore", &stranger).status.success());
    let out = install(&stranger, &root, &signed);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another key than this node's"),
        "{out:?}"
    );
    // A newer topology signed under another root is not installed over the trusted one.
    let v2 = dir.path().join("v2.toml");
    std::fs::write(&v2, keyed.replacen("version = 1", "version = 2", 1)).unwrap();
    let v2_signed = dir.path().join("v2.signed");
    let out = sign(&dir.path().join("other.key"), &v2, &v2_signed);
    assert!(out.status.success(), "{out:?}");
    let out = install(&lahore, &other, &v2_signed);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("trusts root key"),
        "{out:?}"
    );

    // The unkeyed layout cannot be signed as a membership document.
    let out = sign(
        &dir.path().join("root.key"),
        Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../topology/demo.toml"
        )),
        &dir.path().join("unkeyed.signed"),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has no `key`"),
        "{out:?}"
    );
}

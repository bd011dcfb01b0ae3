//! The arrows of DESIGN.md, checked on the source: the HTTP layer reaches the database only
//! through `provisioning` and `store::Db`'s own functions, and never holds a connection.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_http_layer_never_sees_a_connection_or_chooses_a_pool() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(
        files.len() > 10,
        "found only {} files under src/http",
        files.len()
    );
    // A connection, a transaction, a pool or driver of its own, or a closure run on one.
    let banned = [
        "PgConnection",
        "AsyncPgConnection",
        "diesel::",
        "diesel_async",
        ".run(",
        ".get()?",
        "FastPath",
        "store::fast",
        "AsyncConn",
    ];
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for word in banned {
                if line.contains(word) {
                    let name = file.strip_prefix(&root).unwrap().display();
                    found.push(format!("src/http/{name}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the HTTP layer reaches past Db:\n{}",
        found.join("\n")
    );
}

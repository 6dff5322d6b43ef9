//! The service worker script and the offline shell, generated from the running build.
//!
//! cargo-leptos names the bundle files by content hash (`hash-files = true`) but does not list
//! them for a service worker, so the server does it at start: it walks the site root, takes a
//! digest of every file, and prepends the list to `public/sw.js` as `self.BEATBOOK_BUILD`. The
//! script's bytes therefore change exactly when the build does, which is what makes the browser
//! install the new version (and the app offer it to the user).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Files in the site root that are not part of the app shell.
const NOT_PRECACHED: &[&str] = &["sw.js", "hash.txt", "robots.txt"];

/// The bundle files of the running build, by the content hashes cargo-leptos wrote to
/// `hash.txt` (`js: …`, `wasm: …`, `css: …`); `None` reads as an unhashed build. Older builds'
/// files left in `pkg/` are not precached.
pub fn current_bundle(output_name: &str, hash_txt: Option<&str>) -> Vec<String> {
    let Some(text) = hash_txt else {
        return vec![format!("{output_name}.js"), format!("{output_name}_bg.wasm"), format!("{output_name}.css")];
    };
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .filter_map(|(kind, hash)| {
            let ext = kind.trim();
            ["js", "wasm", "css"].contains(&ext).then(|| format!("{output_name}.{}.{ext}", hash.trim()))
        })
        .collect()
}

/// What `/sw.js` and `/shell` serve.
#[derive(Debug, Clone)]
pub struct ShellAssets {
    /// The generated service worker, or `None` when the site root has no `sw.js` (not built).
    pub service_worker: Option<String>,
    /// The data-free offline shell page.
    pub shell_html: String,
    /// Digest of everything precached: changes with every build.
    pub version: String,
    /// The shell's Content-Security-Policy (set by the caller; names [`shell_nonce`]).
    pub csp: String,
}

/// The nonce the offline shell's inline scripts carry. The shell is one static, data-free page
/// per build, cached by the service worker with its headers, so its nonce is derived from the
/// build (stable across restarts, so a restart is not mistaken for an update) rather than drawn
/// per request like every other page's. Nothing user-supplied is ever rendered into it.
pub fn shell_nonce(bundle: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(b"beatbook offline shell");
    for b in bundle {
        h.update(b.as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

fn short_digest(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..8])
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Builds the service worker and shell for the site at `site_root`.
///
/// # Errors
/// An I/O error reading the site root.
pub fn build_shell_assets(site_root: &Path, bundle: &[String], shell_html: String) -> std::io::Result<ShellAssets> {
    let mut files = Vec::new();
    if site_root.is_dir() {
        walk(site_root, &mut files)?;
    }
    files.sort();
    let mut entries = vec![serde_json::json!({ "url": "/shell", "revision": short_digest(shell_html.as_bytes()) })];
    let mut all = Sha256::new();
    all.update(shell_html.as_bytes());
    for file in &files {
        let rel = file.strip_prefix(site_root).unwrap_or(file);
        let url = format!("/{}", rel.to_string_lossy().replace('\\', "/"));
        let stale_bundle = url.strip_prefix("/pkg/").is_some_and(|name| !bundle.iter().any(|b| b == name));
        if stale_bundle || NOT_PRECACHED.iter().any(|n| url == format!("/{n}")) {
            continue;
        }
        let bytes = std::fs::read(file)?;
        let revision = short_digest(&bytes);
        all.update(url.as_bytes());
        all.update(revision.as_bytes());
        entries.push(serde_json::json!({ "url": url, "revision": revision }));
    }
    let version = hex::encode(&all.finalize()[..8]);
    let template = site_root.join("sw.js");
    let service_worker = match std::fs::read_to_string(&template) {
        Ok(body) => {
            let build = serde_json::json!({
                "version": version,
                "precache": entries,
                "schema_version": protocol::sync::SCHEMA_VERSION,
                "max_push_bytes": protocol::sync::MAX_PUSH_BYTES,
                "server_header": protocol::SERVER_HEADER,
            });
            Some(format!("self.BEATBOOK_BUILD = {build};\n{body}"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    Ok(ShellAssets { service_worker, shell_html, version, csp: String::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_built_file_and_changes_with_the_build() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("pkg")).expect("mkdir");
        std::fs::write(dir.path().join("sw.js"), "// worker").expect("write");
        std::fs::write(dir.path().join("pkg/beatbook.abc.wasm"), b"\0asm").expect("write");
        std::fs::write(dir.path().join("pkg/beatbook.old.wasm"), b"\0asm").expect("write");
        std::fs::write(dir.path().join("manifest.webmanifest"), "{}").expect("write");
        let bundle = current_bundle("beatbook", Some("js: j1\nwasm: abc\ncss: c1\n"));
        assert_eq!(bundle, ["beatbook.j1.js", "beatbook.abc.wasm", "beatbook.c1.css"]);
        let a = build_shell_assets(dir.path(), &bundle, "<html></html>".into()).expect("build");
        let sw = a.service_worker.expect("sw.js present");
        assert!(sw.contains("\"/pkg/beatbook.abc.wasm\""), "{sw}");
        assert!(sw.contains("\"/manifest.webmanifest\""));
        assert!(sw.contains("\"/shell\""));
        assert!(!sw.contains("\"/sw.js\""), "the worker must not precache itself");
        assert!(!sw.contains("beatbook.old.wasm"), "an older build's bundle is not precached");
        assert!(sw.ends_with("// worker"));
        std::fs::write(dir.path().join("pkg/beatbook.abc.wasm"), b"\0asm2").expect("write");
        let b = build_shell_assets(dir.path(), &bundle, "<html></html>".into()).expect("build");
        assert_ne!(a.version, b.version);
    }

    #[test]
    fn an_unbuilt_site_has_no_worker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a =
            build_shell_assets(dir.path(), &current_bundle("beatbook", None), "<html></html>".into()).expect("build");
        assert!(a.service_worker.is_none());
    }
}

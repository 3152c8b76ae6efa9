//! `wasmcache new`: write a ready backend project in one of the template languages.

mod templates;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};

use self::templates::{README, Template, WIT, for_language, languages};
use super::outcome::Failure;

/// Write a new backend project: sources, the WIT it targets, `build.sh` and a README.
///
/// The project starts as a copy of the language's example backend (the one the tests
/// build and check); `./build.sh` builds `NAME.wasm`, which `wasmcache check` accepts
/// as it is.
#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The project's name and folder: lowercase letters, digits and dashes, starting with
    /// a letter.
    name: String,

    /// The language: rust, python, js or c.
    #[arg(long)]
    lang: String,

    /// Make the project in this folder instead of `./NAME`.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Why a name cannot be a project's, or `None` when it can.
fn bad_name(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_lowercase()) {
        return Some("it must start with a lowercase letter");
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Some("it may hold only lowercase letters, digits and dashes");
    }
    if name.ends_with('-') || name.len() > 64 {
        return Some("it must not end with a dash or be longer than 64 characters");
    }
    None
}

/// Where the generated build scripts look for toolchains when `WASMCACHE_TOOLCHAINS` is
/// not set: the variable's value now, else this checkout's `target/toolchains`.
fn toolchains_default() -> String {
    std::env::var("WASMCACHE_TOOLCHAINS").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(|root| root.join("target/toolchains").display().to_string())
            .unwrap_or_default()
    })
}

/// The command that installs the toolchains, as the build scripts print it.
fn setup_command() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|root| {
            root.join("guest-examples/setup-toolchains.sh")
                .display()
                .to_string()
        })
        .unwrap_or_else(|| "guest-examples/setup-toolchains.sh".into())
}

/// `text` with the project's placeholders filled in.
fn fill(text: &str, name: &str, lang: &str, template: &Template) -> String {
    text.replace("@NAME@", name)
        .replace("@CRATE_NAME@", name)
        .replace("@CRATE@", &name.replace('-', "_"))
        .replace("@LANGARG@", lang)
        .replace("@LANG@", template.language)
        .replace("@EXAMPLE@", template.example)
        .replace("@POLICY@", template.policy)
        .replace("@SOURCE@", template.source)
        .replace("@WORLD@", template.world)
        .replace("@TOOLNOTE@", template.tool_note)
        .replace("@TOOLCHAINS@", &toolchains_default())
        .replace("@SETUP@", &setup_command())
}

/// A source file as the project needs it: the examples find the contract's WIT three
/// folders up (and the Rust one its WASI seed interface beside it); a project has both
/// in `wit/`.
fn adapt(path: &str, contents: &str) -> String {
    match path {
        "src/lib.rs" => contents.replace(
            "path: [\"../../../wit\", \"wit/insecure-seed.wit\"]",
            "path: \"wit\"",
        ),
        _ => contents.to_string(),
    }
}

/// Writes the project for `name` in `lang` into `dir`.
fn generate(name: &str, lang: &str, dir: &Path) -> anyhow::Result<()> {
    if let Some(why) = bad_name(name) {
        bail!("`{name}` cannot name a project: {why}");
    }
    let template = for_language(lang).ok_or_else(|| {
        anyhow!(
            "no template for `{lang}`; there are: {}",
            languages().join(", ")
        )
    })?;
    if dir.exists()
        && dir
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!("{} already exists and is not empty", dir.display());
    }
    let mut files: Vec<(String, String)> = template
        .files
        .iter()
        .map(|(path, contents)| {
            let contents = if path.ends_with(".sh") || path.ends_with(".toml") {
                fill(contents, name, lang, template)
            } else {
                adapt(path, contents)
            };
            (path.to_string(), contents)
        })
        .collect();
    files.push(("README.md".into(), fill(README, name, lang, template)));
    files.push(("wit/backend.wit".into(), WIT.into()));
    files.push((".gitignore".into(), "/target\n*.wasm\n".into()));
    for (path, contents) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
        if path.extension().is_some_and(|e| e == "sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("cannot make {} executable", path.display()))?;
        }
    }
    Ok(())
}

pub(super) fn run(args: Args) -> Result<ExitCode, Failure> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    generate(&args.name, &args.lang, &dir).map_err(|e| Failure::Usage(e.to_string()))?;
    println!("made {} in {}; next:", args.name, dir.display());
    println!("  cd {} && ./build.sh", dir.display());
    println!("  wasmcache check {}.wasm --differential", args.name);
    println!("  wasmcache serve {}.wasm", args.name);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(bad_name("my-cache2"), None);
        assert!(bad_name("My").is_some());
        assert!(bad_name("2x").is_some());
        assert!(bad_name("a_b").is_some());
        assert!(bad_name("a-").is_some());
        assert!(bad_name("").is_some());
    }

    #[test]
    fn every_language_writes_a_project_with_its_wit_and_an_executable_build() {
        let scratch = tempfile::tempdir().expect("tempdir");
        for lang in languages() {
            let dir = scratch.path().join(lang);
            generate("x", lang, &dir).expect("generates");
            let wit = std::fs::read_to_string(dir.join("wit/backend.wit")).expect("wit");
            assert!(wit.contains("package wasmcache:backend@0.2.0"));
            let build = std::fs::read_to_string(dir.join("build.sh")).expect("build.sh");
            assert!(
                !build.contains('@'),
                "{lang}: placeholders filled:\n{build}"
            );
            assert!(build.contains("x.wasm"), "{lang}");
            let readme = std::fs::read_to_string(dir.join("README.md")).expect("readme");
            assert!(readme.contains("./build.sh") && readme.contains("wasmcache check x.wasm"));
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("build.sh"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o111, 0o111, "{lang}: build.sh is executable");
        }
        let lib = std::fs::read_to_string(scratch.path().join("rust/src/lib.rs")).expect("lib");
        assert!(lib.contains("path: \"wit\""), "{lib}");
        let seed = scratch.path().join("rust/wit/deps/insecure-seed.wit");
        assert!(std::fs::read_to_string(seed).is_ok_and(|wit| wit.contains("insecure-seed")));
        let again = generate("x", "rust", &scratch.path().join("rust"));
        assert!(again.unwrap_err().to_string().contains("not empty"));
        let unknown = generate("x", "cobol", &scratch.path().join("cobol"));
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("rust, python, js, c")
        );
    }
}

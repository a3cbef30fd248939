//! `digitdash completions SHELL` and `digitdash man`: generated from the command line's own
//! definitions, for each shell, with every subcommand and the newer flags in them.

mod common;

use std::process::Command;

use common::texts;

/// Runs `digitdash ARGS` outside any workspace; returns (stdout, stderr), asserting success.
fn digitdash(args: &[&str]) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_digitdash"))
        .args(args)
        .env_remove("DIGITDASH_DATA_DIR")
        .output()
        .expect("run digitdash");
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{args:?}: {err}");
    (out, err)
}

/// Subcommands every completion script and the man page must name.
const SUBCOMMANDS: [&str; 6] = ["eval", "predict", "export", "plot", "completions", "man"];

#[test]
fn bash_zsh_and_fish_completions_cover_the_command_line() {
    for (shell, marker) in [
        ("bash", "complete -F _digitdash"),
        ("zsh", "#compdef digitdash"),
        ("fish", "complete -c digitdash"),
    ] {
        let (script, _) = digitdash(&["completions", shell]);
        assert!(
            script.contains(marker),
            "{shell}: {}",
            &script[..script.len().min(300)]
        );
        for word in SUBCOMMANDS
            .iter()
            .chain(&["--dataset", "fashion-mnist", "--probabilities"])
        {
            let bare = word.trim_start_matches("--");
            assert!(script.contains(bare), "{shell} lacks {word}");
        }
    }
}

#[test]
fn an_unknown_shell_is_refused_with_the_choices() {
    let output = Command::new(env!("CARGO_BIN_EXE_digitdash"))
        .args(["completions", "tcsh"])
        .output()
        .expect("run digitdash");
    let (out, err) = texts(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("bash") && err.contains("zsh") && err.contains("fish"),
        "{err}"
    );
}

#[test]
fn the_man_page_is_roff_with_every_subcommand() {
    let (page, _) = digitdash(&["man"]);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH digitdash 1"),
        "{page}"
    );
    assert!(page.contains(".TH digitdash 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for sub in SUBCOMMANDS {
        assert!(page.contains(&format!("digitdash\\-{sub}")), "lacks {sub}");
    }
    assert!(page.contains("\\-\\-data\\-dir"), "the options are listed");

    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    digitdash(&["man", "--dir", pages.to_str().unwrap()]);
    for name in [
        "digitdash.1",
        "digitdash-export.1",
        "digitdash-completions.1",
    ] {
        let text = std::fs::read_to_string(pages.join(name)).unwrap();
        assert!(text.contains(".TH"), "{name}");
    }
    let export = std::fs::read_to_string(pages.join("digitdash-export.1")).unwrap();
    assert!(export.contains("probabilities"), "{export}");
}

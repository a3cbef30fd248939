//! Subcommands at the edges of what they accept, through the binary: `bench` outside the
//! batch sizes and step counts training takes.

mod common;

use common::{digitdash, texts};

#[test]
fn bench_refuses_batch_sizes_and_step_counts_training_would_not_take() {
    let cases: [(&[&str], &str); 5] = [
        (&["--batch-size", "0"], "--batch-size"),
        (&["--batch-size", "60001"], "--batch-size"),
        (&["--batch-size", "100000"], "--batch-size"),
        (&["--steps", "0"], "--steps"),
        (&["--compare", "--rounds", "0"], "--rounds"),
    ];
    for (args, flag) in cases {
        let all = [&["bench"][..], args].concat();
        let output = digitdash(&std::env::temp_dir(), &all);
        let (out, err) = texts(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?} names the flag: {err}");
        assert!(out.is_empty(), "{args:?}: nothing measured: {out}");
        if flag == "--batch-size" {
            assert!(
                err.contains("from 1 to 60000"),
                "{args:?}: the range: {err}"
            );
        } else {
            assert!(err.contains("1 or more"), "{args:?}: {err}");
        }
    }
}

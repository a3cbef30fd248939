//! The trainer in this process, instrumented: what it passes through the network, and when.

use std::time::Duration;

use super::{spawn, Command, Event, RunSetup};
use crate::config::Config;
use crate::data::{Mnist, Split, IMAGE_PIXELS};
use crate::model::score::scored;
use crate::run::record::EvalSplit;

/// `n` images, each one different (`seed` and its index written into its first pixels) and
/// with a band at a row its label picks, so a network learns them in a few steps; `shift`
/// moves every label on (labels that disagree with what the training images teach).
fn images(n: usize, seed: u8, shift: u8) -> Split {
    let mut pixels = vec![0u8; n * IMAGE_PIXELS];
    let mut labels = Vec::with_capacity(n);
    for (i, image) in pixels.chunks_mut(IMAGE_PIXELS).enumerate() {
        let label = (i % 10) as u8;
        let row = 2 + 2 * usize::from(label);
        image[row * 28 + 4..row * 28 + 24].fill(255);
        image[0] = seed;
        image[1] = (i % 256) as u8;
        image[2] = (i / 256) as u8;
        labels.push((label + shift) % 10);
    }
    Split::new(pixels, labels).expect("a consistent split")
}

/// A folder of tiny data and a config over it; `test_seed` makes its test images its own
/// (the instrument tells test sets apart by their first image).
fn workspace(n_train: usize, n_test: usize, test_seed: u8) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let data = Mnist {
        train: images(n_train, 1, 0),
        test: images(n_test, test_seed, 0),
    };
    data.save(dir.path(), false).expect("write the tiny data");
    let mut config = Config::default();
    config.data.dir = dir.path().to_path_buf();
    config.data.download = false;
    config.data.validation = Some(20);
    config.train.batch_size = 10;
    config.train.eval_every = 2;
    (dir, config)
}

/// Every event of a run to its end.
fn run_to_end(config: Config, commands: &[(u64, Command)]) -> Vec<Event> {
    let handle = spawn(config, RunSetup::default()).expect("the trainer starts");
    let mut events = Vec::new();
    loop {
        let event = handle
            .events
            .recv_timeout(Duration::from_secs(300))
            .expect("the trainer went quiet");
        if let Event::Step(s) = &event {
            for (_, command) in commands.iter().filter(|(at, _)| *at == s.step) {
                handle.send(*command);
            }
        }
        let done = matches!(event, Event::Finished(_) | Event::Failed(_));
        events.push(event);
        if done {
            break;
        }
    }
    handle.join();
    events
}

#[test]
fn no_test_image_goes_through_the_network_before_the_end_unless_asked() {
    let (_dir, mut config) = workspace(120, 30, 2);
    config.train.steps = 12;
    let test_first = images(30, 2, 0).image(0).to_vec();
    let before = scored::batches_of(&test_first);

    // Unasked: the test set is scored at the end only, for the final weights and the best.
    let events = run_to_end(config.clone(), &[]);
    let looks: Vec<(usize, &Event)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Event::Evaluation(e) if e.split == EvalSplit::Test))
        .collect();
    let Some(Event::Finished(summary)) = events.last() else {
        panic!("{events:?}")
    };
    let best = summary.best.expect("a best checkpoint");
    // The final weights', and the best checkpoint's unless they are the final weights.
    let expected = 1 + usize::from(best.step != 12);
    assert_eq!(looks.len(), expected, "{looks:?}");
    assert_eq!(summary.test_looks, expected as u64);
    let last_step = events
        .iter()
        .rposition(|e| matches!(e, Event::Step(_)))
        .unwrap();
    assert!(
        looks.iter().all(|(at, _)| *at > last_step),
        "after the last step"
    );
    let validations = events
        .iter()
        .filter(|e| matches!(e, Event::Evaluation(e) if e.split == EvalSplit::Validation))
        .count();
    assert_eq!(validations, 6, "every 2 steps, on the validation split");
    // The instrument agrees: the test set's batches are those looks, no more.
    assert_eq!(scored::batches_of(&test_first) - before, expected);

    // Asked once after step 5: one more look, recorded.
    let before = scored::batches_of(&test_first);
    let events = run_to_end(config, &[(5, Command::EvaluateTest)]);
    let looks = events
        .iter()
        .filter(|e| matches!(e, Event::Evaluation(e) if e.split == EvalSplit::Test))
        .count();
    assert_eq!(looks, expected + 1, "the same run, and one look asked for");
    assert_eq!(scored::batches_of(&test_first) - before, expected + 1);
    let Some(Event::Finished(summary)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(summary.test_looks, expected as u64 + 1);
}

#[test]
fn the_split_is_the_same_images_for_every_seed_and_never_trained_on() {
    let (_dir, mut config) = workspace(120, 30, 3);
    config.train.steps = 20;
    config.train.eval_every = 0;
    let mut splits = Vec::new();
    for seed in [0, 1] {
        config.train.seed = seed;
        let handle = spawn(config.clone(), RunSetup::default()).unwrap();
        handle.send(Command::ShareBatch);
        let mut validation = None;
        let mut fed = Vec::new();
        loop {
            let event = handle
                .events
                .recv_timeout(Duration::from_secs(300))
                .expect("the trainer went quiet");
            match &event {
                Event::Started(s) => validation = Some(std::sync::Arc::clone(&s.validation)),
                Event::Step(_) => handle.send(Command::ShareBatch),
                Event::Batch(b) => fed.push(std::sync::Arc::clone(&b.images)),
                _ => {}
            }
            if matches!(event, Event::Finished(_)) {
                break;
            }
        }
        handle.join();
        let validation = validation.expect("a start");
        assert_eq!(validation.len(), 20);
        assert!(!fed.is_empty());
        for batch in &fed {
            for i in 0..batch.len() {
                let image = batch.image(i);
                assert!(
                    (0..validation.len()).all(|v| validation.image(v) != image),
                    "seed {seed} trained on a validation image"
                );
            }
        }
        splits.push(validation);
    }
    assert_eq!(splits[0], splits[1], "the same images for seeds 0 and 1");
    assert_eq!(
        *splits[0],
        images(120, 1, 0).first(20),
        "the first 20 training images"
    );
}

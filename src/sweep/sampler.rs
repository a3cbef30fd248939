//! Trials' settings by grid and by random draw: both a pure function of the space, the
//! sweep's seed and the trial's number, so a plan can be fixed ahead and redrawn alike.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::space::Space;
use super::value::Settings;

/// Trial `index` of the grid over `space`: the keys in order, the last changing fastest.
/// `None` past the grid's end.
pub fn grid_trial(space: &Space, index: usize) -> Option<Settings> {
    let mut rest = index;
    let mut settings = Settings::new();
    for param in space.params.iter().rev() {
        let values = param.domain.grid_values()?;
        let n = values.len().max(1);
        settings.insert(param.key.clone(), param.typed(values[rest % n].clone()));
        rest /= n;
    }
    (rest == 0).then_some(settings)
}

/// Trial `index` drawn at random: each key on its own, from a stream of the sweep's seed
/// that belongs to this trial alone (so trial 7 is the same however many trials run).
pub fn random_trial(space: &Space, seed: u64, index: usize) -> Settings {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index as u64);
    space
        .params
        .iter()
        .map(|p| (p.key.clone(), p.typed(p.domain.sample(&mut rng))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::space::parse_space;
    use crate::sweep::value::ParamValue;

    fn space(text: &str) -> Space {
        parse_space(&text.parse::<toml::Table>().unwrap()).unwrap()
    }

    #[test]
    fn the_grid_enumerates_exactly_the_product() {
        let s = space(
            "batch_size = [32, 64, 128]\nlearning_rate = { log_uniform = [1e-4, 1e-2], points = 3 }\n\
             dropout = [0.0, 0.5]\n",
        );
        let trials: Vec<Settings> = (0..).map_while(|i| grid_trial(&s, i)).collect();
        assert_eq!(trials.len(), 18);
        let mut seen = std::collections::BTreeSet::new();
        for t in &trials {
            seen.insert(format!("{t:?}"));
        }
        assert_eq!(seen.len(), 18, "each combination once");
        for batch in [32, 64, 128] {
            for lr in [1e-4, 1e-3, 1e-2] {
                for dropout in [0.0, 0.5] {
                    let want: Settings = [
                        ("batch_size".to_string(), ParamValue::Int(batch)),
                        ("learning_rate".to_string(), ParamValue::Float(lr)),
                        ("dropout".to_string(), ParamValue::Float(dropout)),
                    ]
                    .into();
                    assert!(trials.contains(&want), "{want:?}");
                }
            }
        }
        // The last key (alphabetically) changes fastest.
        assert_eq!(trials[0]["learning_rate"], ParamValue::Float(1e-4));
        assert_eq!(trials[1]["learning_rate"], ParamValue::Float(1e-3));
    }

    #[test]
    fn random_draws_with_a_seed_are_the_same_twice_and_differ_between_seeds() {
        let s =
            space("learning_rate = { log_uniform = [1e-4, 1e-2] }\nbatch_size = [32, 64, 128]\n");
        let draw = |seed| {
            (0..20)
                .map(|i| random_trial(&s, seed, i))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let first = draw(7);
        assert_ne!(first[0], first[1], "trials differ from each other");
        assert_eq!(
            random_trial(&s, 7, 19),
            first[19],
            "a trial is the same alone"
        );
    }
}

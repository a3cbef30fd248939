//! The `tpe` method through the `tpe` crate (Tree-structured Parzen Estimators, Bergstra et
//! al. 2011; Optuna's default sampler): one estimator per key (Parzen for numbers, in the
//! logarithm for log spaces; a histogram for lists), told each settled trial's validation
//! accuracy. The first [`STARTUP_TRIALS`] trials are drawn at random, as Optuna does.

use rand_tpe::SeedableRng as _;
use tpe::{categorical_range, histogram_estimator, parzen_estimator, range, TpeOptimizer};

use super::sampler::random_trial;
use super::space::{Domain, Param, Space, SAMPLED_DIGITS};
use super::value::{round_significant, ParamValue, Settings};

/// Trials drawn at random before the estimators choose.
pub const STARTUP_TRIALS: usize = 10;

/// Chooses trials' settings from the results of those before.
pub struct TpeSampler {
    space: Space,
    seed: u64,
    optimizers: Vec<Option<TpeOptimizer>>,
    told: usize,
}

impl TpeSampler {
    /// A sampler over `space` drawing from `seed`.
    pub fn new(space: &Space, seed: u64) -> Self {
        let optimizers = space.params.iter().map(optimizer).collect();
        Self {
            space: space.clone(),
            seed,
            optimizers,
            told: 0,
        }
    }

    /// Tells the sampler that `settings` reached `accuracy` on the validation split (a
    /// failed trial: 0).
    pub fn tell(&mut self, settings: &Settings, accuracy: f64) {
        let score = if accuracy.is_finite() { -accuracy } else { 0.0 };
        for (param, optimizer) in self.space.params.iter().zip(&mut self.optimizers) {
            let (Some(optimizer), Some(value)) = (optimizer, settings.get(&param.key)) else {
                continue;
            };
            if let Some(x) = inner_value(param, value) {
                let _ = optimizer.tell(x, score);
            }
        }
        self.told += 1;
    }

    /// The settings of trial `index`: drawn at random while fewer than [`STARTUP_TRIALS`]
    /// have been told, else each key's most promising value among candidates drawn near the
    /// best trials.
    pub fn ask(&mut self, index: usize) -> Settings {
        let random = random_trial(&self.space, self.seed, index);
        if self.told < STARTUP_TRIALS {
            return random;
        }
        let mut rng = rand_tpe::rngs::StdRng::seed_from_u64(self.seed ^ ((index as u64) << 20));
        let mut settings = Settings::new();
        for (param, optimizer) in self.space.params.iter().zip(&mut self.optimizers) {
            let value = match optimizer.as_mut().map(|o| o.ask(&mut rng)) {
                Some(Ok(x)) => outer_value(param, x),
                _ => random[&param.key].clone(),
            };
            settings.insert(param.key.clone(), param.typed(value));
        }
        settings
    }
}

/// The estimator of one key (none for a space the crate cannot hold).
fn optimizer(param: &Param) -> Option<TpeOptimizer> {
    let (estimator, space) = match &param.domain {
        Domain::List(values) => (histogram_estimator(), categorical_range(values.len()).ok()?),
        Domain::Uniform { low, high, .. } => (parzen_estimator(), range(*low, *high).ok()?),
        Domain::LogUniform { low, high, .. } => {
            (parzen_estimator(), range(low.ln(), high.ln()).ok()?)
        }
        Domain::Int { low, high, .. } => (
            parzen_estimator(),
            range(*low as f64, *high as f64 + 1.0).ok()?,
        ),
    };
    Some(TpeOptimizer::new(estimator, space))
}

/// A setting as its estimator sees it.
fn inner_value(param: &Param, value: &ParamValue) -> Option<f64> {
    let below = |x: f64, high: f64| x.min(high - (high.abs() + 1.0) * 1e-12);
    Some(match &param.domain {
        Domain::List(values) => values.iter().position(|v| v == value)? as f64,
        Domain::Uniform { high, .. } => below(value.number()?, *high),
        Domain::LogUniform { high, .. } => below(value.number()?.ln(), high.ln()),
        Domain::Int { .. } => value.number()? + 0.5,
    })
}

/// The setting an estimator's value stands for.
fn outer_value(param: &Param, x: f64) -> ParamValue {
    match &param.domain {
        Domain::List(values) => values[(x.max(0.0) as usize).min(values.len() - 1)].clone(),
        Domain::Uniform { low, high, .. } => {
            ParamValue::Float(round_significant(x, SAMPLED_DIGITS).clamp(*low, *high))
        }
        Domain::LogUniform { low, high, .. } => {
            ParamValue::Float(round_significant(x.exp(), SAMPLED_DIGITS).clamp(*low, *high))
        }
        Domain::Int { low, high, .. } => ParamValue::Int((x.floor() as i64).clamp(*low, *high)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::space::parse_space;

    #[test]
    fn after_the_random_start_draws_crowd_near_the_best_settings() {
        let space = parse_space(
            &"learning_rate = { log_uniform = [1e-5, 1e-1] }\nbatch_size = [32, 64, 128]\n"
                .parse::<toml::Table>()
                .unwrap(),
        )
        .unwrap();
        // The best rate is 1e-3 and the best batch 64.
        let score = |s: &Settings| {
            let lr = s["learning_rate"].number().unwrap();
            let batch_penalty = if s["batch_size"] == ParamValue::Int(64) {
                0.0
            } else {
                0.05
            };
            0.99 - 0.02 * (lr.log10() + 3.0).powi(2) - batch_penalty
        };
        let mut sampler = TpeSampler::new(&space, 3);
        let mut late = Vec::new();
        for i in 0..60 {
            let s = sampler.ask(i);
            if i >= 40 {
                late.push(s.clone());
            }
            sampler.tell(&s, score(&s));
        }
        let near = late
            .iter()
            .filter(|s| (s["learning_rate"].number().unwrap().log10() + 3.0).abs() < 0.75)
            .count();
        assert!(near >= 12, "{near} of 20 late draws near the best rate");
        let sixty_four = late
            .iter()
            .filter(|s| s["batch_size"] == ParamValue::Int(64))
            .count();
        assert!(
            sixty_four >= 10,
            "{sixty_four} of 20 late draws at the best batch"
        );
        // The same history gives the same draws.
        let mut again = TpeSampler::new(&space, 3);
        let mut replay = TpeSampler::new(&space, 3);
        for i in 0..15 {
            let s = again.ask(i);
            again.tell(&s, score(&s));
            replay.tell(&s, score(&s));
        }
        assert_eq!(again.ask(15), replay.ask(15));
    }
}

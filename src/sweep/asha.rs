//! Asynchronous successive halving (ASHA, Li et al. 2018): trials start on the smallest
//! budget; whenever a worker is free, a trial in the top 1/eta of a rung's results so far
//! (and not promoted yet) goes on to the next rung, the highest rung first. No trial waits
//! for a rung to fill, so workers never idle; a trial that can no longer reach the top 1/eta
//! of its rung (every result of that rung is in) is stopped early.

use std::collections::BTreeSet;

/// The results of each rung and the promotions out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Asha {
    eta: usize,
    /// Per rung: the trials that reached it and their validation accuracy there.
    results: Vec<Vec<(usize, f64)>>,
    /// Per rung: the trials promoted out of it.
    promoted: Vec<BTreeSet<usize>>,
}

impl Asha {
    /// A scheduler with reduction factor `eta` over `rungs` rungs.
    pub fn new(eta: u32, rungs: usize) -> Self {
        Self {
            eta: eta.max(2) as usize,
            results: vec![Vec::new(); rungs],
            promoted: vec![BTreeSet::new(); rungs],
        }
    }

    /// The number of rungs.
    pub fn rungs(&self) -> usize {
        self.results.len()
    }

    /// Trial `trial` reached rung `rung` with `score` (validation accuracy).
    pub fn record(&mut self, trial: usize, rung: usize, score: f64) {
        if let Some(results) = self.results.get_mut(rung) {
            results.retain(|(t, _)| *t != trial);
            results.push((trial, score));
        }
    }

    /// Trial `trial` went on from rung `rung`.
    pub fn promote(&mut self, trial: usize, rung: usize) {
        if let Some(promoted) = self.promoted.get_mut(rung) {
            promoted.insert(trial);
        }
    }

    /// Whether `trial` was promoted out of `rung`.
    pub fn was_promoted(&self, trial: usize, rung: usize) -> bool {
        self.promoted.get(rung).is_some_and(|p| p.contains(&trial))
    }

    /// The trials of rung `rung` in the top 1/eta of its results so far, best first (ties:
    /// the lower trial number first).
    pub fn top(&self, rung: usize) -> Vec<usize> {
        let Some(results) = self.results.get(rung) else {
            return Vec::new();
        };
        let mut ranked = results.clone();
        let score = |s: f64| if s.is_nan() { f64::NEG_INFINITY } else { s };
        ranked.sort_by(|a, b| score(b.1).total_cmp(&score(a.1)).then(a.0.cmp(&b.0)));
        ranked.truncate(results.len() / self.eta);
        ranked.into_iter().map(|(trial, _)| trial).collect()
    }

    /// The trial to promote now, and the rung it leaves: from the highest rung below the top
    /// down, the best of its top 1/eta not promoted yet.
    pub fn promotable(&self) -> Option<(usize, usize)> {
        (0..self.rungs().saturating_sub(1)).rev().find_map(|rung| {
            self.top(rung)
                .into_iter()
                .find(|t| !self.was_promoted(*t, rung))
                .map(|t| (t, rung))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Promotes while anything is promotable, as free workers would; returns the promotions.
    fn drain(asha: &mut Asha) -> Vec<(usize, usize)> {
        let mut made = Vec::new();
        while let Some((trial, rung)) = asha.promotable() {
            asha.promote(trial, rung);
            made.push((trial, rung));
        }
        made
    }

    #[test]
    fn with_every_score_of_a_rung_in_exactly_its_top_third_goes_on() {
        // Nine trials, scripted scores; rung 0 fills before anyone asks.
        let scores = [0.50, 0.91, 0.70, 0.95, 0.60, 0.88, 0.93, 0.40, 0.80];
        let mut asha = Asha::new(3, 3);
        for (trial, score) in scores.iter().enumerate() {
            asha.record(trial, 0, *score);
        }
        assert_eq!(drain(&mut asha), [(3, 0), (6, 0), (1, 0)]);
        // Rung 1: the three promoted; the top third of three is one.
        for (trial, score) in [(3, 0.97), (6, 0.98), (1, 0.96)] {
            asha.record(trial, 1, score);
        }
        assert_eq!(drain(&mut asha), [(6, 1)]);
        assert_eq!(asha.promotable(), None);
        // Twenty-seven trials with eta 3: 9 go on from rung 0.
        let mut big = Asha::new(3, 2);
        for trial in 0..27 {
            big.record(trial, 0, trial as f64 / 100.0);
        }
        let promoted: Vec<usize> = drain(&mut big).into_iter().map(|(t, _)| t).collect();
        assert_eq!(promoted, (18..27).rev().collect::<Vec<_>>());
    }

    #[test]
    fn arriving_one_by_one_each_promotion_is_in_the_top_third_of_what_was_known() {
        // Results come in one at a time, a worker asking after each, as ASHA runs.
        let scores = [0.5, 0.6, 0.7, 0.2, 0.9, 0.1, 0.3, 0.8, 0.4];
        let mut asha = Asha::new(3, 2);
        let mut made = Vec::new();
        for (trial, score) in scores.iter().enumerate() {
            asha.record(trial, 0, *score);
            let known = &scores[..=trial];
            for (t, rung) in drain(&mut asha) {
                let mut sorted = known.to_vec();
                sorted.sort_by(|a, b| b.total_cmp(a));
                let cut = sorted[known.len() / 3 - 1];
                assert!(scores[t] >= cut, "trial {t} promoted outside the top third");
                made.push((t, rung));
            }
        }
        // 0.7 went on after three results; then 0.9, then 0.8 as the rung grew to nine.
        assert_eq!(made, [(2, 0), (4, 0), (7, 0)]);
        // The final top third is all promoted.
        assert!(asha.top(0).iter().all(|t| asha.was_promoted(*t, 0)));
    }
}

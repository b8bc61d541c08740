//! The best path through the frames' candidates (Boersma 1993, section 3; Praat's
//! `Pitch_pathFinder`): a Viterbi search that rewards strong candidates and charges for
//! octave jumps between voiced frames and for every voiced/unvoiced switch. This is what
//! keeps a word's F0 on one octave: a frame whose strongest peak is a harmonic stays on the
//! fundamental when its neighbours are there.

use super::frame::Frame;
use super::PitchParams;

/// The chosen frequency of every frame, `None` where the path is voiceless.
pub fn best_path(frames: &[Frame], params: &PitchParams, time_step: f64) -> Vec<Option<f32>> {
    if frames.is_empty() {
        return Vec::new();
    }
    let ceiling = params.ceiling_hz as f64;
    let voicing = params.voicing as f64;
    let silence = params.silence as f64;
    let octave_cost = params.octave_cost as f64;
    // Praat's costs are per 10 ms step; other steps scale them.
    let per_step = 0.01 / time_step;
    let jump_cost = params.octave_jump_cost as f64 * per_step;
    let switch_cost = params.voiced_unvoiced_cost as f64 * per_step;
    let voiced = |f: f64| f > 0.0 && f < ceiling;

    // Local scores: a voiced candidate's strength less a small cost for lower octaves; the
    // voiceless one scores the voicing threshold, plus more the quieter the frame is
    // relative to the silence threshold.
    let mut score: Vec<Vec<f64>> = frames
        .iter()
        .map(|frame| {
            let quiet = if silence <= 0.0 {
                0.0
            } else {
                (2.0 - frame.intensity / (silence / (1.0 + voicing))).max(0.0)
            };
            frame
                .candidates
                .iter()
                .map(|c| {
                    if voiced(c.frequency) {
                        c.strength - octave_cost * (ceiling / c.frequency).log2()
                    } else {
                        voicing + quiet
                    }
                })
                .collect()
        })
        .collect();
    let mut from: Vec<Vec<usize>> = frames.iter().map(|f| vec![0; f.candidates.len()]).collect();
    for t in 1..frames.len() {
        let (done, rest) = score.split_at_mut(t);
        let (previous, current) = (&done[t - 1], &mut rest[0]);
        for (j, c2) in frames[t].candidates.iter().enumerate() {
            let mut best = (f64::NEG_INFINITY, 0);
            for (i, c1) in frames[t - 1].candidates.iter().enumerate() {
                let cost = match (voiced(c1.frequency), voiced(c2.frequency)) {
                    (false, false) => 0.0,
                    (true, true) => jump_cost * (c1.frequency / c2.frequency).log2().abs(),
                    _ => switch_cost,
                };
                let value = previous[i] - cost + current[j];
                // First of equals, as Praat.
                if value > best.0 {
                    best = (value, i);
                }
            }
            current[j] = best.0;
            from[t][j] = best.1;
        }
    }
    let last = score.last().expect("frames is not empty");
    let mut place = (1..last.len()).fold(0, |best, i| if last[i] > last[best] { i } else { best });
    let mut path = vec![None; frames.len()];
    for t in (0..frames.len()).rev() {
        let f = frames[t].candidates[place].frequency;
        path[t] = voiced(f).then_some(f as f32);
        place = from[t][place];
    }
    path
}

#[cfg(test)]
mod tests {
    use super::super::frame::Candidate;
    use super::*;

    fn frame(candidates: &[(f64, f64)]) -> Frame {
        let mut all = vec![Candidate {
            frequency: 0.0,
            strength: 0.0,
        }];
        all.extend(
            candidates
                .iter()
                .map(|&(frequency, strength)| Candidate { frequency, strength }),
        );
        Frame {
            candidates: all,
            intensity: 0.5,
        }
    }

    #[test]
    fn a_frame_whose_strongest_peak_is_an_octave_up_stays_on_the_path() {
        let p = PitchParams::default();
        // Frame 2's octave (200 Hz) is a little stronger than its fundamental; the jump
        // cost of going there and back keeps it at 100 Hz.
        let frames = [
            frame(&[(100.0, 0.9), (200.0, 0.6)]),
            frame(&[(100.0, 0.9), (200.0, 0.6)]),
            frame(&[(100.0, 0.8), (200.0, 0.85)]),
            frame(&[(100.0, 0.9), (200.0, 0.6)]),
        ];
        assert_eq!(best_path(&frames, &p, 0.01), vec![Some(100.0); 4]);
        // Alone, the same frame would take its strongest peak.
        assert_eq!(best_path(&frames[2..3], &p, 0.01), vec![Some(200.0)]);
    }

    #[test]
    fn weak_and_quiet_frames_are_voiceless_and_ceiling_peaks_never_voiced() {
        let p = PitchParams::default();
        let mut quiet = frame(&[(150.0, 0.6)]);
        quiet.intensity = 0.001;
        let frames = [frame(&[(150.0, 0.3)]), quiet, frame(&[(700.0, 0.99)])];
        assert_eq!(best_path(&frames, &p, 0.01), vec![None; 3]);
        assert!(best_path(&[], &p, 0.01).is_empty());
    }
}

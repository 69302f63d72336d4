//! Grader for quantize_int8: runs the learner's int8 quantizers and calibration on inputs
//! kernlings chose and hands every result back as f32s. Generated into
//! target/kernlings-graders/; the learner's file is included below by path.

mod protocol;

#[path = {{LEARNER}}]
mod learner;

use protocol::Case;

fn main() {
    let case = Case::from_args();
    let (rows, cols) = (case.param("rows") as usize, case.param("cols") as usize);
    let per_channel = case.param("per_channel") != 0.0;
    let w = case.f32s("w");
    let s = learner::quantize_symmetric(&w, rows, cols, per_channel);
    case.write_f32s("sym_q", &s.q.iter().map(|&q| q as f32).collect::<Vec<_>>());
    case.write_f32s("sym_scales", &s.scales);
    let a = learner::quantize_asymmetric(&w, rows, cols, per_channel);
    case.write_f32s("asym_q", &a.q.iter().map(|&q| q as f32).collect::<Vec<_>>());
    case.write_f32s("asym_scales", &a.scales);
    case.write_f32s("asym_zero_points", &a.zero_points.iter().map(|&z| z as f32).collect::<Vec<_>>());
    let x = case.f32s("activations");
    let p = case.param("percentile");
    let mut calibration = Vec::new();
    for percentile in [100.0, p] {
        let clip = learner::clip_percentile(&x, percentile);
        let (mse, snr_db) = learner::quantization_error(&x, clip);
        calibration.extend([clip, mse as f32, snr_db as f32]);
    }
    case.write_f32s("calibration", &calibration);
    case.done();
}

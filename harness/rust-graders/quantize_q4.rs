//! Grader for quantize_q4: runs the learner's Q4_0 and Q4_1 quantizers on the weights
//! kernlings chose, and their dequantizers on the blocks kernlings made (its own, so the two
//! halves are graded apart). Bytes travel as one f32 each. Generated into
//! target/kernlings-graders/; the learner's file is included below by path.

mod protocol;

#[path = {{LEARNER}}]
mod learner;

use protocol::Case;

fn bytes(values: &[f32]) -> Vec<u8> {
    values.iter().map(|&v| v as u8).collect()
}

fn as_f32(bytes: &[u8]) -> Vec<f32> {
    bytes.iter().map(|&b| b as f32).collect()
}

fn main() {
    let case = Case::from_args();
    let x = case.f32s("x");
    case.write_f32s("q4_0", &as_f32(&learner::quantize_q4_0(&x)));
    case.write_f32s("q4_1", &as_f32(&learner::quantize_q4_1(&x)));
    let (b0, b1) = (bytes(&case.f32s("blocks_q4_0")), bytes(&case.f32s("blocks_q4_1")));
    case.write_f32s("dequant_q4_0", &learner::dequantize_q4_0(&b0));
    case.write_f32s("dequant_q4_1", &learner::dequantize_q4_1(&b1));
    case.done();
}

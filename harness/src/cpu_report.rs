//! What the CPU driver reports about each launch, read back by the grading child.
//! The driver appends one JSON line per launch to the file named by `KERNLINGS_CPU_REPORT`.

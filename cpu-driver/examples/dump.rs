//! Prints how the interpreter decoded a PTX file, one instruction per line: the first thing to
//! look at when a kernel misbehaves on the CPU backend.
//! Run: cargo run -p kernlings-cpu-driver --example dump -- kernel.ptx
fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: dump <file.ptx>");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // Globals get placeholder addresses: nothing runs here.
    let module = kernlings_cpu_driver::ptx::parse_module(&text, &mut |_| 0x1000)
        .unwrap_or_else(|e| panic!("{e}"));
    for f in &module.functions {
        println!(
            "{} ({} registers, {} B static shared, {} B local)",
            f.name, f.num_regs, f.static_smem, f.local_bytes
        );
        for (i, ins) in f.instrs.iter().enumerate() {
            println!(
                "{i:4} line {:4}  {:?} {:?} {:?}  {}",
                ins.line, ins.op, ins.ty, ins.space, ins.text
            );
        }
    }
}

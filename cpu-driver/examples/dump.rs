fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let m = kernlings_cpu_driver::ptx::parse_module(&text, &mut |_| 0x1000).unwrap();
    for f in &m.functions {
        println!("{} params={:?} regs={}", f.name, f.params, f.num_regs);
        for (i, ins) in f.instrs.iter().enumerate() {
            println!(
                "{i:3} {:?} ty={:?} sp={:?} g={:?} d={:?} s={:?} | {}",
                ins.op, ins.ty, ins.space, ins.guard, ins.dst, ins.src, ins.text
            );
        }
    }
}

mod cpu_report;
mod cpu_setup;
mod curriculum;
mod grade;
mod outcome;
mod toolchain;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__grade") {
        grade::child_main(args.get(2).map_or("", String::as_str));
    }
    println!("kernlings: under construction");
}

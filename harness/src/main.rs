mod cpu_report;
mod cpu_setup;
mod curriculum;
mod grade;
mod outcome;
mod toolchain;

fn main() {
    println!("kernlings: under construction");
}

mod curriculum;
mod outcome;

fn main() {
    println!("kernlings: under construction");
}

//! Development aid: the evaluation report of one seed.
use watch::eval;
use watch::generate::Spec;
fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let run = eval::run(&Spec {
        seed,
        ..Spec::default()
    });
    println!("{}", eval::report(&[run]));
}

//! Crate docs.
#![allow(dead_code)]

/* outer /* nested */ still a comment

*/
const RAW: &str = r#"raw "quoted"

// not a comment
"#;
const MULTI: &str = "first

second";
const QUOTE: char = '"';
const APOS: char = '\'';

struct Holder<'a> {
    name: &'a str,
}

fn pick<'a>(h: &Holder<'a>) -> &'a str {
    'outer: loop {
        break 'outer;
    }
    h.name
}
@FILLER@
fn main() {
    let h = Holder { name: "n" };
    println!("{:?} {:?} {:?} {:?} {}", RAW, MULTI, QUOTE, APOS, pick(&h));
}

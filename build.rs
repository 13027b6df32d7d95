// The templates are embedded by include_dir, whose macro cannot tell cargo to watch them.
fn main() {
    println!("cargo:rerun-if-changed=templates");
}

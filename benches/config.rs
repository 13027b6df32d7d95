//! How long reading `serverless.example.yml` takes: the full `config::load` (read, parse,
//! variables, shorthand, typed model, validation) against a bare YAML parse of the same text in
//! the same process, which is the floor any loader pays. Run with `cargo bench --bench config`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sls::config::{self, LoadOptions};
use sls::diag::Sources;

fn time<F: FnMut()>(runs: u32, mut f: F) -> (Duration, Duration) {
    for _ in 0..runs / 10 {
        f();
    }
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort();
    (
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100],
    )
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let opts = LoadOptions {
        config: Some("serverless.example.yml".into()),
        cwd: root.clone(),
        stage: Some("prod".into()),
        ..Default::default()
    };
    let text = std::fs::read_to_string(root.join("serverless.example.yml")).expect("example");
    let runs = 2000;
    let (load_med, load_p99) = time(runs, || {
        config::load(&opts).expect("example loads");
    });
    let (parse_med, parse_p99) = time(runs, || {
        let mut s = Sources::default();
        let f = s.add("serverless.example.yml", text.clone());
        config::yaml::parse(&s, f).expect("parses");
    });
    println!("config load of serverless.example.yml ({runs} runs, stage prod)");
    println!("  full load (parse + variables + validation): median {load_med:?}, p99 {load_p99:?}");
    println!(
        "  bare YAML parse (reference):                median {parse_med:?}, p99 {parse_p99:?}"
    );
    println!(
        "  ratio full/parse: {:.2}x",
        load_med.as_secs_f64() / parse_med.as_secs_f64()
    );
}

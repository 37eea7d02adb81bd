//! Benchmark of `hwx rules eval`: N mixed queries (default 100,000), answered
//! 1. in process by the evaluator the command uses,
//! 2. by the real `hwx rules eval` process reading a file,
//!
//! next to the raw engine on the same lines: serde_json parsing each line and writing it back,
//! which is the least any JSON-lines tool must do.
//!
//! Run: `cargo run --release -p hwx-loadtests --bin rules-eval -- [N]`

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hwx::rules::eval::Evaluator;
use hwx_loadtests::{Rng, Who, cpu_time, measure};

fn day(rng: &mut Rng) -> String {
    let y = 2020 + rng.below(12);
    let m = 1 + rng.below(12);
    let d = 1 + rng.below(28);
    format!("{y}-{m:02}-{d:02}")
}

fn query(rng: &mut Rng) -> String {
    let d = day(rng);
    match rng.below(14) {
        0 => format!(r#"{{"q":"business_day","date":"{d}"}}"#),
        1 => format!(r#"{{"q":"submission_deadline","registered":"{d}"}}"#),
        2 => format!(r#"{{"q":"bureau_email_due","registered":"{d}"}}"#),
        3 => format!(
            r#"{{"q":"report_deadline","fiscal_year":{}}}"#,
            2000 + rng.below(90)
        ),
        4 => format!(r#"{{"q":"expiry_grace_end","expired":"{d}"}}"#),
        5 => format!(r#"{{"q":"suspension_last_day","start":"{d}"}}"#),
        6 => format!(r#"{{"q":"reapply_from","revoked":"{d}"}}"#),
        7 => format!(r#"{{"q":"email_reusable_from","closed":"{d}"}}"#),
        8 => format!(r#"{{"q":"retention","acquired":"{d}","accepted":null}}"#),
        9 => format!(
            r#"{{"q":"maintenance","at":"{d}T{:02}:{:02}:00+09:00"}}"#,
            rng.below(24),
            rng.below(60)
        ),
        10 => format!(
            r#"{{"q":"eligible","service":"{}","kind":"{}","school":null,"regular_placements_3m":{},"suspension_order":false,"improvement_order":false,"revoked_on":null,"on":"{d}"}}"#,
            rng.pick(&["job", "seeker"]),
            rng.pick(&["K1", "K2", "K4"]),
            rng.below(3)
        ),
        11 => format!(
            r#"{{"q":"message","from":"seeker","text":"{}","org_contacts":[]}}"#,
            rng.pick(&[
                "面談を希望します。平日の午後が都合がよいです。",
                "連絡は０９０ー１２３４ー５６７８へお願いします",
                "メールは taro [at] example [dot] com です",
                "東京都千代田区霞が関1-2-2に住んでいます",
            ])
        ),
        12 => format!(
            r#"{{"q":"national_holidays","year":{}}}"#,
            1980 + rng.below(120)
        ),
        _ => r#"{"q":"no_such_query"}"#.to_owned(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let mut rng = Rng::new(2026);
    let lines: Vec<String> = (0..n).map(|_| query(&mut rng)).collect();
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    println!("generated {n} queries, {} bytes", input.len());

    // The raw engine: parse each line as JSON and write it back.
    let (raw_wall, raw_cpu, raw_bytes) = measure(3, || {
        let mut out = Vec::with_capacity(input.len());
        for l in input.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or(serde_json::Value::Null);
            serde_json::to_writer(&mut out, &v).ok();
            out.push(b'\n');
        }
        out.len()
    });

    // The evaluator in process (the same code `hwx rules eval` runs).
    let ev = Evaluator::new(&[], &[])?;
    let (ev_wall, ev_cpu, ev_out) = measure(3, || {
        let mut out = Vec::with_capacity(input.len() * 2);
        ev.run(input.as_bytes(), &mut out).map(|_| out)
    });
    let ev_out = ev_out?;
    let answers = ev_out.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(answers, n, "one answer per query");
    // A benchmark of failures measures nothing: every answer must come from the rules.
    let internal = String::from_utf8_lossy(&ev_out)
        .matches("internal error")
        .count();
    if internal > 0 {
        return Err(format!("{internal} answers hit the panic safety net").into());
    }

    // The real command, as a script would run it.
    let exe = std::env::current_exe()?.with_file_name("hwx");
    let file = std::env::temp_dir().join(format!("hwx-rules-eval-{}.ndjson", std::process::id()));
    {
        let mut w = BufWriter::new(File::create(&file)?);
        w.write_all(input.as_bytes())?;
    }
    let mut cmd_wall = Duration::MAX;
    let mut cmd_cpu = Duration::ZERO;
    if exe.exists() {
        for _ in 0..3 {
            let before = cpu_time(Who::Children);
            let t0 = Instant::now();
            let status = Command::new(&exe)
                .args(["rules", "eval"])
                .stdin(File::open(&file)?)
                .stdout(Stdio::null())
                .status()?;
            let wall = t0.elapsed();
            let cpu = cpu_time(Who::Children).saturating_sub(before);
            if !status.success() {
                return Err(format!("hwx rules eval failed: {status}").into());
            }
            if wall < cmd_wall {
                cmd_wall = wall;
                cmd_cpu = cpu;
            }
        }
    } else {
        eprintln!(
            "{} not built: build it with `cargo build --release -p hwx` to time the command",
            exe.display()
        );
    }
    std::fs::remove_file(&file).ok();

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!("rules-eval: {n} queries (best of 3)");
    println!(
        "  raw serde_json round-trip  wall {:8.1} ms  cpu {:8.1} ms  {:>10.0} lines/s  ({raw_bytes} bytes)",
        ms(raw_wall),
        ms(raw_cpu),
        rate(raw_wall)
    );
    println!(
        "  evaluator, in process      wall {:8.1} ms  cpu {:8.1} ms  {:>10.0} queries/s  ratio to raw {:.2}x",
        ms(ev_wall),
        ms(ev_cpu),
        rate(ev_wall),
        ev_wall.as_secs_f64() / raw_wall.as_secs_f64()
    );
    if cmd_wall != Duration::MAX {
        println!(
            "  `hwx rules eval` process   wall {:8.1} ms  cpu {:8.1} ms  {:>10.0} queries/s  ratio to raw {:.2}x",
            ms(cmd_wall),
            ms(cmd_cpu),
            rate(cmd_wall),
            cmd_wall.as_secs_f64() / raw_wall.as_secs_f64()
        );
    }
    Ok(())
}

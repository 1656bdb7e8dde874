//! Criterion benchmarks of every fast kernel on the standard 3840x2160 frame, one thread,
//! and of session 01's readable versions beside the three the course discusses (blur, Sobel,
//! median), so the gap between them is measured by the same tool.
//!
//! `cargo bench -p session02_pipelines` (add a name to filter, e.g. `-- blur`).

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use session01_image_basics::Filter;
use session02_pipelines::bench::{CASES, Operation, frame};
use session02_pipelines::{Kernels, PipelineSpec};

fn kernels(c: &mut Criterion) {
    let image = frame();
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    let mut group = c.benchmark_group("3840x2160 rgb, 1 thread");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    for case in CASES {
        let Operation::Filter(spec) = case.operation else {
            continue;
        };
        let mut variants = vec![("fast", Kernels::Fast)];
        if matches!(case.name, "blur" | "edges" | "median") {
            variants.push(("session01", Kernels::Reference));
        }
        for (label, kernels) in variants {
            let filter = PipelineSpec::parse(spec)
                .and_then(|spec| spec.build_with(kernels))
                .expect("the benchmark specs are valid");
            group.bench_function(format!("{}/{label}", case.name), |b| {
                b.iter(|| one_thread.install(|| filter.apply(&image)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);

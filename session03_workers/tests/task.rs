//! The task model: legal moves only, and a task that travels as JSON unchanged.

use std::sync::Arc;

use chrono::Utc;
use session02_pipelines::PipelineSpec;
use session03_workers::{
    BlobKey, FailureKind, Task, TaskError, TaskId, TaskRecord, TaskState, WorkerId,
};

fn task() -> Task {
    Task::new(
        PipelineSpec::parse("blur:sigma=2|edges").unwrap(),
        BlobKey::new("inputs/a.png").unwrap(),
        BlobKey::new("outputs/a.png").unwrap(),
    )
}

fn record() -> TaskRecord {
    TaskRecord::new(Arc::new(task()), Utc::now())
}

#[test]
fn the_happy_path_sets_times_attempts_and_worker() {
    let mut record = record();
    assert_eq!(record.state, TaskState::Pending);
    let worker = WorkerId::named("w0");
    record.start(&worker, Utc::now()).unwrap();
    assert_eq!(record.state, TaskState::Running);
    assert_eq!(record.attempts, 1);
    assert_eq!(record.worker.as_ref(), Some(&worker));
    assert!(record.started_at.is_some());
    record.succeed(Utc::now()).unwrap();
    assert_eq!(record.state, TaskState::Succeeded);
    assert!(record.finished_at.is_some());
    assert!(record.duration_seconds.is_some_and(|s| s >= 0.0));
}

#[test]
fn illegal_moves_are_refused_and_change_nothing() {
    let worker = WorkerId::named("w0");
    let mut pending = record();
    let error = pending.succeed(Utc::now()).unwrap_err();
    assert_eq!(
        (error.from, error.to),
        (TaskState::Pending, TaskState::Succeeded)
    );
    assert!(
        error
            .to_string()
            .contains("cannot go from pending to succeeded"),
        "{error}"
    );
    assert_eq!(pending.state, TaskState::Pending);
    assert!(pending.fail(TaskError::job("x"), 3, Utc::now()).is_err());
    assert!(pending.requeue(Utc::now()).is_err());
    assert!(pending.release().is_err());

    let mut done = record();
    done.start(&worker, Utc::now()).unwrap();
    done.succeed(Utc::now()).unwrap();
    for attempt in [
        done.clone().start(&worker, Utc::now()),
        done.clone().succeed(Utc::now()),
        done.clone().requeue(Utc::now()),
        done.clone().release(),
    ] {
        assert!(attempt.is_err(), "a succeeded task is final");
    }
    assert!(
        done.clone()
            .fail(TaskError::worker("late"), 3, Utc::now())
            .is_err()
    );
    assert_eq!(done.attempts, 1);
}

#[test]
fn every_pair_of_states_follows_the_table() {
    use TaskState::*;
    let legal = [
        (Pending, Running),
        (Retrying, Running),
        (Running, Pending),
        (Running, Succeeded),
        (Running, Failed),
        (Running, Retrying),
        (Running, Dead),
        (Dead, Pending),
    ];
    for from in TaskState::ALL {
        for to in TaskState::ALL {
            assert_eq!(
                from.can_become(to),
                legal.contains(&(from, to)),
                "{from} -> {to}"
            );
        }
    }
    assert!(Succeeded.is_final() && Failed.is_final() && Dead.is_final());
    assert!(!Pending.is_final() && !Running.is_final() && !Retrying.is_final());
}

#[test]
fn job_failures_are_final_and_worker_failures_retry_until_dead() {
    let worker = WorkerId::named("w0");
    let mut job = record();
    job.start(&worker, Utc::now()).unwrap();
    let state = job
        .fail(TaskError::job("bad image"), 3, Utc::now())
        .unwrap();
    assert_eq!(state, TaskState::Failed);
    assert_eq!(job.error.as_ref().unwrap().kind, FailureKind::Job);

    let mut flaky = record();
    for attempt in 1..=3 {
        flaky.start(&worker, Utc::now()).unwrap();
        let state = flaky
            .fail(TaskError::worker("crash"), 3, Utc::now())
            .unwrap();
        let expected = if attempt < 3 {
            TaskState::Retrying
        } else {
            TaskState::Dead
        };
        assert_eq!(state, expected, "attempt {attempt}");
    }
    assert_eq!(flaky.attempts, 3);
    assert!(flaky.finished_at.is_some());
    flaky.requeue(Utc::now()).unwrap();
    assert_eq!((flaky.state, flaky.attempts), (TaskState::Pending, 0));
}

#[test]
fn tasks_and_records_round_trip_through_json() {
    let task = task();
    let json = serde_json::to_string(&task).unwrap();
    assert!(json.contains(r#""name":"blur""#), "{json}");
    assert_eq!(serde_json::from_str::<Task>(&json).unwrap(), task);

    let mut record = record();
    record.start(&WorkerId::named("w3"), Utc::now()).unwrap();
    record
        .fail(TaskError::worker("timed out"), 3, Utc::now())
        .unwrap();
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["state"], "retrying");
    assert_eq!(json["error"]["kind"], "worker");
    assert_eq!(json["worker"], "w3");
    let back: TaskRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back, record);
}

#[test]
fn malformed_tasks_are_refused_with_the_reason() {
    let mut json = serde_json::to_value(task()).unwrap();
    json["input"] = "../../etc/passwd".into();
    let error = serde_json::from_value::<Task>(json)
        .unwrap_err()
        .to_string();
    assert!(error.contains("invalid blob key"), "{error}");

    let error = serde_json::from_str::<Task>(r#"{"id":"nope"}"#)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("UUID") || error.contains("invalid"),
        "{error}"
    );

    let error = "running?".parse::<TaskState>().unwrap_err();
    assert!(error.contains("pending, running"), "{error}");
    let error = "xyz".parse::<TaskId>().unwrap_err();
    assert!(error.contains("not a task id"), "{error}");
}

#[test]
fn ids_are_unique_and_ordered_by_creation() {
    let ids: Vec<TaskId> = (0..1000).map(|_| TaskId::new()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len());
    assert_eq!(sorted, ids, "UUID v7 ids sort by creation");
    let text = ids[0].to_string();
    assert_eq!(text.parse::<TaskId>().unwrap(), ids[0]);
}

//! Exercise 10.4: an end-to-end test as a function.

use std::time::{Duration, Instant};

use image::ImageFormat;
use ureq::Agent;
use ureq::http::Response;

use super::{CHECK_PIPELINE, CHECK_POLL, CHECK_SIZE, ServiceCheck};

/// The boundary between the form's fields: a text no photo is likely to hold.
const BOUNDARY: &str = "ex10-check-boundary-5b2e0c";

/// The largest result the check reads.
const MAX_RESULT: u64 = 100_000_000;

/// Exercise 10.4: upload, follow the job, download and check the result.
pub fn check_service(base: &str, photo: &[u8], deadline: Duration) -> Result<ServiceCheck, String> {
    let started = Instant::now();
    // The time left, as every request's timeout; an error once there is none.
    let left = || {
        deadline
            .checked_sub(started.elapsed())
            .filter(|left| !left.is_zero())
            .ok_or_else(|| format!("the check did not finish within {deadline:?}"))
    };
    let agent: Agent = Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();

    // 1. Submit.
    let url = format!("{base}/api/jobs");
    let mut answer = agent
        .post(&url)
        .config()
        .timeout_global(Some(left()?))
        .build()
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .send(&form(photo)[..])
        .map_err(|e| format!("POST {url}: {e}"))?;
    if answer.status() != 202 {
        return Err(format!(
            "POST {url} answered {}, not 202: {}",
            answer.status(),
            text(&mut answer)
        ));
    }
    let location = header(&answer, "location")
        .ok_or_else(|| format!("POST {url} answered 202 without a Location"))?;
    let job = if location.starts_with("http://") || location.starts_with("https://") {
        location
    } else {
        format!("{base}{location}")
    };

    // 2. Follow.
    let mut polls = 0;
    loop {
        polls += 1;
        let mut answer = get(&agent, &job, left()?)?;
        if answer.status() != 200 {
            return Err(format!(
                "GET {job} answered {}: {}",
                answer.status(),
                text(&mut answer)
            ));
        }
        let body = answer
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("GET {job}: reading the job: {e}"))?;
        let view: serde_json::Value = serde_json::from_str(&body)
            .map_err(|e| format!("GET {job}: not JSON ({e}): {body}"))?;
        match view["state"].as_str() {
            Some("succeeded") => break,
            Some(state @ ("failed" | "dead")) => {
                return Err(format!("the job {state}: {}", view["error"]));
            }
            Some(_) => std::thread::sleep(CHECK_POLL.min(left()?)),
            None => return Err(format!("GET {job}: no state in {body}")),
        }
    }

    // 3. Fetch.
    let url = format!("{job}/result");
    let mut answer = get(&agent, &url, left()?)?;
    if answer.status() != 200 {
        return Err(format!(
            "GET {url} answered {}: {}",
            answer.status(),
            text(&mut answer)
        ));
    }
    let kind = header(&answer, "content-type").unwrap_or_default();
    let media = kind.split(';').next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case("image/png") {
        return Err(format!("GET {url}: the result is {kind:?}, not image/png"));
    }
    let bytes = answer
        .body_mut()
        .with_config()
        .limit(MAX_RESULT)
        .read_to_vec()
        .map_err(|e| format!("GET {url}: reading the result: {e}"))?;
    let image = image::load_from_memory_with_format(&bytes, ImageFormat::Png)
        .map_err(|e| format!("GET {url}: the result is not a PNG: {e}"))?;
    let size = (image.width(), image.height());
    if size != CHECK_SIZE {
        return Err(format!(
            "the result is {}x{}, not {}x{}",
            size.0, size.1, CHECK_SIZE.0, CHECK_SIZE.1
        ));
    }
    Ok(ServiceCheck {
        job,
        polls,
        bytes: bytes.len(),
        took: started.elapsed(),
    })
}

/// `GET url`, within `timeout`.
fn get(agent: &Agent, url: &str, timeout: Duration) -> Result<Response<ureq::Body>, String> {
    agent
        .get(url)
        .config()
        .timeout_global(Some(timeout))
        .build()
        .call()
        .map_err(|e| format!("GET {url}: {e}"))
}

/// The form: the photo as a file, the pipeline, the format.
fn form(photo: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(photo.len() + 512);
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(photo);
    for (name, value) in [("pipeline", CHECK_PIPELINE), ("format", "png")] {
        body.extend_from_slice(
            format!(
                "\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn header(answer: &Response<ureq::Body>, name: &str) -> Option<String> {
    answer
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// The body as text, for an error message: what the service said, cut short.
fn text(answer: &mut Response<ureq::Body>) -> String {
    let body = answer.body_mut().read_to_string().unwrap_or_default();
    body.chars().take(300).collect()
}

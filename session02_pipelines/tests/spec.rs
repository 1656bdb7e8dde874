//! The filter-spec language: text and JSON, and errors that point at the token.

use proptest::prelude::*;
use session01_image_basics::Filter;
use session02_pipelines::PipelineSpec;

#[test]
fn text_and_json_give_the_same_spec() {
    let text = PipelineSpec::parse("resize:width=800,height=600|blur:sigma=3|edges").unwrap();
    let json = PipelineSpec::from_json(
        r#"{"filters":[{"name":"resize","width":800,"height":600},{"name":"blur","sigma":3},{"name":"edges"}]}"#,
    )
    .unwrap();
    assert_eq!(text, json);
    assert_eq!(
        text.to_string(),
        "resize:height=600,width=800|blur:sigma=3|edges"
    );
    assert_eq!(PipelineSpec::from_json(&text.to_json()).unwrap(), text);
    assert_eq!(
        " blur : sigma = 2 | invert "
            .parse::<PipelineSpec>()
            .unwrap()
            .to_string(),
        "blur:sigma=2|invert"
    );
}

#[test]
fn a_built_pipeline_knows_its_spec() {
    let pipeline = PipelineSpec::parse_and_build("blur:sigma=3|edges").unwrap();
    assert_eq!(pipeline.spec(), "blur:sigma=3|edges");
    assert_eq!(pipeline.filters().len(), 2);
}

/// The error's message and the underlined token.
fn error(text: &str) -> (String, String) {
    let error = PipelineSpec::parse_and_build(text).unwrap_err();
    let (source, range) = error
        .location
        .clone()
        .expect("a text spec error has a location");
    assert_eq!(source, text);
    (error.message.clone(), text[range].to_owned())
}

#[test]
fn errors_point_at_the_offending_token() {
    let (message, token) = error("resize:width=800|blurr:sigma=3");
    assert!(
        message.starts_with("unknown filter \"blurr\"; valid filters: grayscale,"),
        "{message}"
    );
    assert_eq!(token, "blurr");

    let (message, token) = error("blur:sigma=3,radius=2|edges");
    assert!(
        message.contains("blur has no parameter \"radius\"; valid parameters: sigma"),
        "{message}"
    );
    assert_eq!(token, "radius=2");

    let (message, token) = error("edges|blur:sigma=-4");
    assert_eq!(message, "blur: sigma must be a number in 0.1..=100, got -4");
    assert_eq!(token, "sigma=-4");

    assert_eq!(error("blur:sigma").1, "sigma");
    assert_eq!(error("blur||edges").1, "");
    assert_eq!(error("crop:x=1").1, "crop");
    assert_eq!(error("blur:sigma=1,sigma=2").1, "sigma=2");
    assert_eq!(error("bl*ur").1, "*");
}

#[test]
fn the_error_underlines_the_token_under_the_text() {
    let error = PipelineSpec::parse_and_build("resize:width=800|blurr:sigma=3").unwrap_err();
    let shown = error.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines[1], "  resize:width=800|blurr:sigma=3");
    assert_eq!(lines[2], "                   ^^^^^");
}

#[test]
fn json_errors_name_the_problem() {
    let bad = [
        (
            r#"{"filters":[{"name":"blur","sigma":true}]}"#,
            "must be a number or a string",
        ),
        (r#"{"filters":[{"sigma":2}]}"#, "missing field `name`"),
        (r#"{"stages":[]}"#, "unknown field `stages`"),
        ("{not json", "invalid JSON spec"),
    ];
    for (json, expected) in bad {
        let error = PipelineSpec::parse_and_build(json).unwrap_err().to_string();
        assert!(error.contains(expected), "{json}: {error}");
    }
    let error = PipelineSpec::parse_and_build(
        r#"{"filters":[{"name":"edges"},{"name":"blur","sigma":0}]}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("filter 2 (blur): blur: sigma must be"),
        "{error}"
    );
    assert!(PipelineSpec::parse_and_build(r#"{"filters":[]}"#).is_err());
    assert!(PipelineSpec::parse_and_build("   ").is_err());
}

proptest! {
    /// Any spec of catalog filters prints as text that parses back to itself.
    #[test]
    fn text_round_trips(stages in proptest::collection::vec((0usize..4, 0.5f64..20.0), 1..5)) {
        let names = ["blur", "brightness", "invert", "median"];
        let text: Vec<String> = stages
            .iter()
            .map(|&(i, v)| match names[i] {
                "blur" => format!("blur:sigma={v:.2}"),
                "brightness" => format!("brightness:factor={:.2}", v / 2.0),
                "median" => format!("median:radius={}", (v as i64).clamp(1, 20)),
                name => name.to_owned(),
            })
            .collect();
        let spec = PipelineSpec::parse(&text.join("|")).unwrap();
        prop_assert_eq!(PipelineSpec::parse(&spec.to_string()).unwrap(), spec.clone());
        prop_assert!(spec.build().is_ok());
    }
}

//! Parameter checking: every value outside its range is an error that names the parameter
//! and the range; every value inside is accepted.

use proptest::prelude::*;
use session01_image_basics::filters::{GaussianBlur, Resize};
use session01_image_basics::{ParamError, build, catalog};

proptest! {
    #[test]
    fn sigma_is_accepted_exactly_in_its_range(sigma in prop_oneof![
        any::<f64>(),
        -1.0f64..200.0,
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(0.1),
        Just(100.0),
    ]) {
        let valid = sigma.is_finite() && (0.1..=100.0).contains(&sigma);
        let from_code = GaussianBlur::new(sigma);
        let from_text = build("blur", &[format!("sigma={sigma}")]);
        prop_assert_eq!(from_code.is_ok(), valid);
        prop_assert_eq!(from_text.is_ok(), valid);
        if let Err(err) = from_text {
            let message = err.to_string();
            prop_assert!(message.starts_with("blur: sigma must be a number in 0.1..=100, got "), "{}", message);
        }
    }

    #[test]
    fn resize_sides_are_accepted_exactly_in_their_range(side in prop_oneof![any::<i64>(), -5i64..20_000]) {
        let valid = (1..=16_384).contains(&side);
        let result = build("resize", &[format!("width={side}")]);
        prop_assert_eq!(result.is_ok(), valid);
        prop_assert_eq!(Resize::new(None, Some(side), None, image::imageops::FilterType::Nearest).is_ok(), valid);
        if let Err(err) = result {
            prop_assert_eq!(
                err.to_string(),
                format!("resize: width must be a whole number in 1..=16384, got {side}")
            );
        }
    }

    #[test]
    fn text_that_is_not_a_number_is_rejected_by_name(text in "[a-z%#]{1,8}") {
        prop_assume!(!["inf", "nan", "infinity"].contains(&text.as_str()));
        for (filter, key) in [("blur", "sigma"), ("median", "radius"), ("threshold", "level")] {
            let err = build(filter, &[format!("{key}={text}")]).unwrap_err();
            let is_invalid = matches!(err, ParamError::Invalid { name, .. } if name == key);
            prop_assert!(is_invalid, "{}", err);
        }
    }

    /// Any parameter list either builds a filter or gives an error; nothing panics.
    #[test]
    fn building_never_panics(
        index in 0..15usize,
        params in prop::collection::vec("[a-z]{1,9}=[-0-9a-z.]{0,6}", 0..4),
    ) {
        let _ = build(catalog()[index].name, &params);
    }
}

#[test]
fn an_unknown_filter_lists_the_valid_ones() {
    let err = build("blurr", &[] as &[&str]).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("unknown filter \"blurr\"; valid filters: grayscale, "),
        "{message}"
    );
    for info in catalog() {
        assert!(message.contains(info.name), "{message} lists {}", info.name);
    }
}

#[test]
fn wrong_parameters_are_named() {
    let cases: [(&str, &[&str], &str); 8] = [
        (
            "blur",
            &["radius=2"],
            "blur has no parameter \"radius\"; valid parameters: sigma",
        ),
        (
            "invert",
            &["amount=2"],
            "invert has no parameter \"amount\"; valid parameters: none",
        ),
        (
            "blur",
            &["sigma=2", "sigma=3"],
            "blur: parameter \"sigma\" is given more than once",
        ),
        ("blur", &["sigma"], "\"sigma\" is not KEY=VALUE"),
        (
            "crop",
            &["width=10"],
            "crop: parameter \"height\" is required (a whole number in 1..=1000000)",
        ),
        (
            "rotate",
            &["angle=45"],
            "rotate: angle must be one of 90, 180, 270, got \"45\"",
        ),
        (
            "resize",
            &["width=10", "mode=fit"],
            "resize: mode=fit needs both width and height",
        ),
        ("resize", &[], "resize: give width, height or both"),
    ];
    for (filter, params, expected) in cases {
        assert_eq!(build(filter, params).unwrap_err().to_string(), expected);
    }
}

#[test]
fn names_and_choices_ignore_case_and_spaces() {
    let filter = build(" Flip ", &["direction = VERTICAL"]).unwrap();
    assert_eq!(filter.spec(), "flip:direction=vertical");
}

#[test]
fn every_default_is_valid() {
    for info in catalog() {
        let required: Vec<String> = info
            .params
            .iter()
            .filter(|spec| spec.default == session01_image_basics::ParamDefault::Required)
            .map(|spec| format!("{}=1", spec.name))
            .collect();
        let result = if info.name == "resize" {
            build(info.name, &["width=10"])
        } else {
            build(info.name, &required)
        };
        assert!(result.is_ok(), "{}: {:?}", info.name, result.err());
    }
}

//! A JSON request body read field by field, so every error names its field and numbers
//! keep their exact text.

use std::collections::BTreeMap;

use axum::body::Bytes;
use serde_json::value::RawValue;

use crate::api::error::ApiError;

/// The fields of a JSON object body, each kept as raw JSON text.
#[derive(Debug, Default)]
pub struct JsonBody {
    fields: BTreeMap<String, Box<RawValue>>,
}

impl JsonBody {
    /// Parses the body; an empty body is an empty object. Anything but an object is refused.
    pub fn parse(bytes: &Bytes) -> Result<Self, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let fields: BTreeMap<String, Box<RawValue>> =
            serde_json::from_slice(bytes).map_err(|error| {
                ApiError::bad(
                    "INVALID_JSON",
                    format!("body is not a JSON object: {error}"),
                )
            })?;
        Ok(Self { fields })
    }

    /// Raw JSON text of a field, `None` when absent or `null`.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(|raw| raw.get())
            .filter(|text| *text != "null")
    }

    /// Raw JSON text of a required field.
    pub fn required_raw(&self, name: &str) -> Result<&str, ApiError> {
        self.raw(name).ok_or_else(|| ApiError::missing(name))
    }

    /// An optional string field.
    pub fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.raw(name) {
            None => Ok(None),
            Some(raw) => serde_json::from_str::<String>(raw).map(Some).map_err(|_| {
                ApiError::field(name, format!("expected a string, got {}", shorten(raw)))
            }),
        }
    }

    /// A required string field.
    pub fn required_string(&self, name: &str) -> Result<String, ApiError> {
        self.string(name)?.ok_or_else(|| ApiError::missing(name))
    }

    /// An optional boolean field.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.raw(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(raw) => Err(ApiError::field(
                name,
                format!("expected true or false, got {}", shorten(raw)),
            )),
        }
    }

    /// An optional positive integer id, as a JSON number or a string of digits.
    pub fn id(&self, name: &str) -> Result<Option<u64>, ApiError> {
        let Some(raw) = self.raw(name) else {
            return Ok(None);
        };
        let text = raw.trim_matches('"');
        match text.parse::<u64>() {
            Ok(id) if id > 0 => Ok(Some(id)),
            _ => Err(ApiError::field(
                name,
                format!("expected a positive integer id, got {}", shorten(raw)),
            )),
        }
    }

    /// An optional choice among `table`'s names (case-insensitive).
    pub fn choice<T: Copy>(&self, name: &str, table: &[(&str, T)]) -> Result<Option<T>, ApiError> {
        let Some(text) = self.string(name)? else {
            return Ok(None);
        };
        lookup(name, &text, table).map(Some)
    }
}

/// Finds `text` in a table of names (case-insensitive); the error lists the allowed names.
pub fn lookup<T: Copy>(field: &str, text: &str, table: &[(&str, T)]) -> Result<T, ApiError> {
    table
        .iter()
        .find(|(label, _)| label.eq_ignore_ascii_case(text))
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(label, _)| *label).collect();
            ApiError::field(
                field,
                format!("{text:?} is not one of {}", names.join(", ")),
            )
        })
}

fn shorten(raw: &str) -> String {
    raw.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Result<JsonBody, ApiError> {
        JsonBody::parse(&Bytes::from(text.to_string()))
    }

    #[test]
    fn malformed_and_non_object_bodies_are_invalid_json() {
        for text in ["{", "[1,2]", "\"x\"", "{\"a\":}", "nonsense"] {
            assert_eq!(body(text).unwrap_err().code, "INVALID_JSON", "{text}");
        }
        assert!(body("").unwrap().raw("a").is_none());
    }

    #[test]
    fn fields_are_typed_and_errors_name_them() {
        let parsed =
            body(r#"{"side":"BUY","postOnly":1,"orderId":"17","price":12.5,"x":null}"#).unwrap();
        assert_eq!(
            parsed.choice("side", &[("buy", 1), ("sell", 2)]).unwrap(),
            Some(1)
        );
        let error = parsed.boolean("postOnly").unwrap_err();
        assert!(error.message.starts_with("postOnly:"), "{}", error.message);
        assert_eq!(parsed.id("orderId").unwrap(), Some(17));
        assert_eq!(parsed.raw("price"), Some("12.5"));
        assert_eq!(parsed.raw("x"), None);
        assert_eq!(
            parsed.required_string("market").unwrap_err().code,
            "MISSING_PARAMETER"
        );
        let error = parsed.string("price").unwrap_err();
        assert_eq!(error.code, "INVALID_PARAMETER");
        assert!(error.message.contains("price"));
        let error = parsed.choice("side", &[("ask", 2)]).unwrap_err();
        assert!(error.message.contains("ask"), "{}", error.message);
    }
}

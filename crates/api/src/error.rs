//! Every error the API answers, and the one place they become HTTP responses.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use coach_plans_model::wire::ErrorBody;
use coach_plans_service::ServiceError;

/// What went wrong while serving a request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// A bad request to a compatibility endpoint: answered `{"error": message}` as the Python
    /// version did.
    #[error("{0}")]
    Compat(String),
    /// A bad query parameter on the native API.
    #[error("invalid parameter {parameter}: {message}")]
    BadParameter {
        parameter: &'static str,
        message: String,
    },
    /// Nothing there.
    #[error("{0}")]
    NotFound(String),
    /// The path exists, the method does not. `allow` is what the route takes (the `Allow`
    /// header).
    #[error("method {method} not allowed for {path}")]
    MethodNotAllowed {
        method: String,
        path: String,
        allow: &'static str,
    },
    /// A request URI longer than the API reads (in bytes, and the limit).
    #[error("the request URI is {0} bytes, more than {1}")]
    UriTooLong(usize, usize),
    /// Request headers beyond what the API reads.
    #[error("the request headers are too large: {0}")]
    HeadersTooLarge(String),
    /// A missing or wrong bearer token.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// Storage is down and the answer needs it.
    #[error("the database is unavailable")]
    Unavailable,
    /// Anything else; the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The error for a service failure on a read.
    pub(crate) fn from_service(error: ServiceError) -> Self {
        match error {
            ServiceError::Unavailable(_) => Self::Unavailable,
            ServiceError::NotFound(missing) => Self::NotFound(missing.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }

    fn body(&self) -> ErrorBody {
        let titled = |title: &str, message: String| ErrorBody {
            error: title.to_owned(),
            message: Some(message),
            parameter: None,
        };
        match self {
            Self::Compat(message) => ErrorBody {
                error: message.clone(),
                message: None,
                parameter: None,
            },
            Self::BadParameter { parameter, message } => ErrorBody {
                error: "Bad Request".to_owned(),
                message: Some(message.clone()),
                parameter: Some((*parameter).to_owned()),
            },
            Self::NotFound(message) => titled("Not Found", message.clone()),
            Self::MethodNotAllowed { method, path, .. } => titled(
                "Method Not Allowed",
                format!("Method {method} not allowed for {path}"),
            ),
            Self::UriTooLong(length, limit) => titled(
                "URI Too Long",
                format!("The request URI is {length} bytes; the API reads at most {limit}"),
            ),
            Self::HeadersTooLarge(what) => titled(
                "Request Header Fields Too Large",
                format!("The request headers are too large: {what}"),
            ),
            Self::Unauthorized => titled(
                "Unauthorized",
                "A valid bearer token is required: Authorization: Bearer <token>".to_owned(),
            ),
            Self::Unavailable => titled(
                "Service Unavailable",
                "The database is unavailable; try again shortly".to_owned(),
            ),
            Self::Internal(_) => titled(
                "Internal Server Error",
                "An unexpected error occurred".to_owned(),
            ),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Compat(_) | Self::BadParameter { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::UriTooLong(..) => StatusCode::URI_TOO_LONG,
            Self::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            log::error!("request failed: {cause}");
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::MethodNotAllowed { allow, .. } => {
                response.insert_header((header::ALLOW, HeaderValue::from_static(allow)));
            }
            Self::Unauthorized => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            Self::Unavailable => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
            }
            _ => {}
        }
        response.json(self.body())
    }
}

/// How many characters of user input an error message or log line echoes (cut with
/// [`coach_plans_model::shorten`] beyond that).
pub(crate) const ECHO_CHARS: usize = 200;

//! The `Client`: one HTTPS connection pool to one Custody server, an optional bearer
//! token, and a method per JSON endpoint of `/api/v1`. Error answers become
//! `ClientError::Api` with the server's code and message.

use std::fmt;

use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;

use crate::ClientError;
use crate::api::{
    CreateRoomRequest, ErrorEnvelope, FileId, FileInfo, FilePage, FileVersion, Items, LoginRequest,
    LoginResponse, Room, RoomId,
};
use crate::path::encode_segment;
use crate::trust::{CONNECT_TIMEOUT, Trust, client_config};

/// Prefix of every API route. Do not change: it is part of the wire contract.
const API_PREFIX: &str = "/api/v1";

/// How much of a non-JSON error body is quoted back to the user.
const MAX_QUOTED_ERROR: usize = 200;

/// The largest error document read; the rest is ignored.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The largest JSON answer read (a long file listing fits many times over).
const MAX_JSON_BODY: usize = 64 * 1024 * 1024;

/// A client for one Custody server.
#[derive(Clone)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    /// The base URL with any trailing `/` removed from its path.
    base: String,
    token: Option<String>,
    /// Sent as `Custody-Justification` with uploads and downloads, for rooms
    /// whose data-loss policy asks for one.
    justification: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// Parse and check a server base URL: absolute, `https`, with a host, no query.
pub(crate) fn parse_base_url(url: &str) -> Result<Url, ClientError> {
    let invalid = |reason: &str| ClientError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
    if parsed.scheme() != "https" {
        return Err(invalid("only https is supported"));
    }
    if parsed.host_str().is_none() {
        return Err(invalid("no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid("a query or fragment is not allowed"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("credentials in the url are not allowed"));
    }
    Ok(parsed)
}

impl Client {
    /// A client for the server at `base_url` (e.g. `https://127.0.0.1:8443`),
    /// trusting it as `trust` says, sending `token` as bearer when given.
    pub fn new(base_url: &str, trust: Trust, token: Option<String>) -> Result<Self, ClientError> {
        let parsed = parse_base_url(base_url)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(client_config(&trust)?)
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("custody-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Tls {
                detail: e.to_string(),
            })?;
        let base = parsed.as_str().trim_end_matches('/').to_owned();
        Ok(Self {
            http,
            base,
            token,
            justification: None,
        })
    }

    /// Use `token` as the bearer for later requests (after [`Client::login`]).
    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
    }

    /// The bearer token in use, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The pinned HTTPS client itself, for tools that send requests of their
    /// own (the benchmarks); what is sent through it carries no token.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The full URL of an API route; `route` starts with `/` and is already encoded.
    pub fn url(&self, route: &str) -> String {
        format!("{}{API_PREFIX}{route}", self.base)
    }

    /// Sends `reason` as the data-loss justification of later transfers.
    pub fn with_justification(mut self, reason: Option<String>) -> Self {
        self.justification = reason;
        self
    }

    pub(crate) fn request(&self, method: Method, route: &str) -> RequestBuilder {
        let mut builder = self.http.request(method, self.url(route));
        if let Some(reason) = &self.justification {
            builder = builder.header("custody-justification", reason.as_str());
        }
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// Send, and turn any non-success answer into `ClientError::Api`.
    pub(crate) async fn send(&self, builder: RequestBuilder) -> Result<Response, ClientError> {
        let response = builder.send().await.map_err(ClientError::transport)?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(api_error(response).await)
        }
    }

    async fn json<T: DeserializeOwned>(&self, builder: RequestBuilder) -> Result<T, ClientError> {
        let response = self.send(builder).await?;
        decode(response).await
    }

    async fn no_content(&self, builder: RequestBuilder) -> Result<(), ClientError> {
        self.send(builder).await.map(drop)
    }

    /// Log in; the caller keeps the returned token (see [`Client::set_token`]).
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        totp: Option<&str>,
    ) -> Result<LoginResponse, ClientError> {
        let body = LoginRequest {
            email,
            password,
            totp,
        };
        self.json(self.request(Method::POST, "/auth/login").json(&body))
            .await
    }

    /// Revoke the current token on the server.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.no_content(self.request(Method::POST, "/auth/logout"))
            .await
    }

    /// The rooms the caller can see.
    pub async fn list_rooms(&self) -> Result<Vec<Room>, ClientError> {
        let items: Items<Room> = self.json(self.request(Method::GET, "/rooms")).await?;
        Ok(items.items)
    }

    /// Create a room.
    pub async fn create_room(&self, name: &str, classification: &str) -> Result<Room, ClientError> {
        let body = CreateRoomRequest {
            name,
            classification,
        };
        self.json(self.request(Method::POST, "/rooms").json(&body))
            .await
    }

    /// One room by id.
    pub async fn get_room(&self, room: &RoomId) -> Result<Room, ClientError> {
        let route = format!("/rooms/{}", encode_segment(room.as_str()));
        self.json(self.request(Method::GET, &route)).await
    }

    /// The current version of every file in a room (every page of the listing).
    pub async fn list_files(&self, room: &RoomId) -> Result<Vec<FileInfo>, ClientError> {
        let route = format!("/rooms/{}/files", encode_segment(room.as_str()));
        let mut files = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page_route = match &after {
                Some(after) => format!("{route}?after={}", encode_segment(after)),
                None => route.clone(),
            };
            let page: FilePage = self.json(self.request(Method::GET, &page_route)).await?;
            files.extend(page.items);
            match page.next {
                // A cursor that does not move on would loop for ever.
                Some(next) if after.as_ref() != Some(&next) => after = Some(next),
                _ => return Ok(files),
            }
        }
    }

    /// The current version of one file.
    pub async fn get_file_info(&self, file: &FileId) -> Result<FileInfo, ClientError> {
        let route = format!("/files/{}", encode_segment(file.as_str()));
        self.json(self.request(Method::GET, &route)).await
    }

    /// Every stored version of a file.
    pub async fn list_versions(&self, file: &FileId) -> Result<Vec<FileVersion>, ClientError> {
        let route = format!("/files/{}/versions", encode_segment(file.as_str()));
        let items: Items<FileVersion> = self.json(self.request(Method::GET, &route)).await?;
        Ok(items.items)
    }

    /// An evidence bundle of the ledger (`GET /ledger/bundle`) for the event
    /// filters `query` (`(name, value)` pairs), as the exact JSON text served.
    pub async fn ledger_bundle(&self, query: &[(String, String)]) -> Result<String, ClientError> {
        let pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode_segment(k), encode_segment(v)))
            .collect();
        let route = format!("/ledger/bundle?{}", pairs.join("&"));
        let response = self.send(self.request(Method::GET, &route)).await?;
        let bytes = read_limited(response, MAX_JSON_BODY).await?;
        if bytes.len() >= MAX_JSON_BODY {
            return Err(ClientError::BadResponse {
                detail: format!("the bundle is larger than {MAX_JSON_BODY} bytes"),
            });
        }
        String::from_utf8(bytes).map_err(|_| ClientError::BadResponse {
            detail: "the bundle is not UTF-8".into(),
        })
    }

    /// Sends a leaked copy to `POST /trace`: the server reads its mark and
    /// names the events that issued it, with an evidence bundle. Returns the
    /// exact JSON text served.
    pub async fn trace(&self, content: Vec<u8>) -> Result<String, ClientError> {
        let builder = self
            .request(Method::POST, "/trace")
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(content);
        let response = self.send(builder).await?;
        let bytes = read_limited(response, MAX_JSON_BODY).await?;
        if bytes.len() >= MAX_JSON_BODY {
            return Err(ClientError::BadResponse {
                detail: format!("the trace report is larger than {MAX_JSON_BODY} bytes"),
            });
        }
        String::from_utf8(bytes).map_err(|_| ClientError::BadResponse {
            detail: "the trace report is not UTF-8".into(),
        })
    }

    /// Delete a file (all its versions, as the server's retention rules allow).
    pub async fn delete_file(&self, file: &FileId) -> Result<(), ClientError> {
        let route = format!("/files/{}", encode_segment(file.as_str()));
        self.no_content(self.request(Method::DELETE, &route)).await
    }
}

/// Read a success body as JSON of type `T`.
pub(crate) async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ClientError> {
    let bytes = read_limited(response, MAX_JSON_BODY).await?;
    if bytes.len() >= MAX_JSON_BODY {
        return Err(ClientError::BadResponse {
            detail: format!("the json answer is larger than {MAX_JSON_BODY} bytes"),
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| ClientError::BadResponse {
        detail: format!("cannot read the json answer: {e}"),
    })
}

/// Turn an error answer into `ClientError::Api`, with the server's code when the
/// body is the standard error document and the HTTP reason otherwise.
pub(crate) async fn api_error(response: Response) -> ClientError {
    let status = response.status();
    let body = read_limited(response, MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    match serde_json::from_slice::<ErrorEnvelope>(&body) {
        Ok(envelope) => ClientError::Api {
            status: status.as_u16(),
            code: envelope.error.code,
            message: envelope.error.message,
            request_id: envelope.error.request_id,
        },
        Err(_) => ClientError::Api {
            status: status.as_u16(),
            code: fallback_code(status),
            message: quote_body(status, &body),
            request_id: None,
        },
    }
}

/// Read at most `limit` bytes of a body, so a hostile server cannot exhaust memory.
async fn read_limited(mut response: Response, limit: usize) -> Result<Vec<u8>, ClientError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ClientError::transport)? {
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
        if body.len() >= limit {
            break;
        }
    }
    Ok(body)
}

fn fallback_code(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("error")
        .to_lowercase()
        .replace(' ', "_")
}

fn quote_body(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return format!("http status {}", status.as_u16());
    }
    text.chars().take(MAX_QUOTED_ERROR).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        let got = parse_base_url(input).map(|u| u.to_string());
        match (got, expected) {
            (Ok(url), Ok(want)) => assert_eq!(url, want, "input `{input}`"),
            (Err(err), Err(code)) => assert_eq!(err.code(), code, "input `{input}`"),
            (got, want) => panic!("input `{input}`: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn debug_output_hides_the_token() {
        let client = Client::new(
            "https://127.0.0.1:8443",
            Trust::Fingerprint([0; 32]),
            Some("secret-token".to_owned()),
        );
        let shown = format!("{client:?}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(!shown.contains("secret-token"), "{shown}");
    }

    #[test]
    fn parse_base_url_table() {
        let cases = [
            ("https://127.0.0.1:8443", Ok("https://127.0.0.1:8443/")),
            (
                "https://custody.example/prefix/",
                Ok("https://custody.example/prefix/"),
            ),
            ("http://127.0.0.1:8080", Err("invalid_url")),
            ("127.0.0.1:8443", Err("invalid_url")),
            ("https://h/?x=1", Err("invalid_url")),
            ("https://user:pw@h/", Err("invalid_url")),
            ("", Err("invalid_url")),
        ];
        for (input, expected) in cases {
            check(input, expected);
        }
    }
}

//! Files: streamed upload, streamed (ranged) download, metadata and versions.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;

use app::{App, Files, act};
use model::{ByteRange, FileId, FilePath, Justification, RoomId, VersionId};

use super::id;
use crate::auth::{Authed, Meta};
use crate::dto::*;
use crate::error::{ApiError, ApiPath, ApiQuery, ErrorBody};

/// The response header naming the mark id of a copy marked for its recipient.
pub const MARK_ID_HEADER: &str = "custody-mark-id";

/// Files of a room with their newest version, a page at a time in path order
/// (follow `next` as `after` until it is absent).
#[utoipa::path(get, path = "/rooms/{id}/files", tag = "files", security(("bearer" = [])), params(("id" = String, Path), FileListQuery), responses((status = 200, body = FileList), (status = 404, body = ErrorBody)))]
pub async fn list_files(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiQuery(q): ApiQuery<FileListQuery>,
) -> Result<Json<FileList>, ApiError> {
    let limit = q.limit.unwrap_or(app::MAX_PAGE);
    let auth = app
        .room(&meta, &a.principal, id::<RoomId>(&raw)?, act::FileList)
        .await?;
    let (files, next) = Files(&app)
        .list_files_page(auth, q.after.as_deref(), limit)
        .await?;
    Ok(Json(FileList {
        items: files.iter().map(FileDto::from).collect(),
        next,
    }))
}

/// Uploads the request body as a new version of `path` (streamed; any size up
/// to the configured limit). Concurrent uploads to one path become successive versions.
#[utoipa::path(put, path = "/rooms/{id}/files/{path}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path), ("path" = String, Path, description = "room-relative path; segments percent-encoded, `/` kept")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileDto), (status = 202, body = super::dlp::HeldDto, description = "stored but held for review by the room's data-loss policy"), (status = 400, body = ErrorBody, description = "path_traversal, path_absolute, path_control_character…"), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody, description = "dlp_blocked, dlp_justification_required (give `Custody-Justification`), av_infected, av_uninspectable")))]
pub async fn put_file(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath((room, path)): ApiPath<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let room = id::<RoomId>(&room)?;
    // The path is checked before the seam is asked, as it always was.
    let path = FilePath::parse(&path).map_err(app::AppError::from)?;
    let auth = app.room(&meta, &a.principal, room, act::FileUpload).await?;
    let why = justification(&headers)?;
    let uploaded = Files(&app)
        .upload_with(auth, &path, declared, body.into_data_stream(), why.as_ref())
        .await?;
    Ok(match uploaded {
        app::Uploaded::Stored(file) => {
            (StatusCode::CREATED, Json(FileDto::from(&file))).into_response()
        }
        app::Uploaded::Held(held) => (
            StatusCode::ACCEPTED,
            Json(super::dlp::HeldDto::from(&*held)),
        )
            .into_response(),
    })
}

/// The header that carries a justification for content whose data-loss action
/// is `justify`.
pub const JUSTIFICATION_HEADER: &str = "custody-justification";

/// The caller's data-loss justification (`Custody-Justification`), if any; a
/// header that is not one line of at most 1,000 characters is
/// `bad_justification` (one that is not text is taken as absent).
fn justification(headers: &HeaderMap) -> Result<Option<Justification>, ApiError> {
    let raw = headers
        .get(JUSTIFICATION_HEADER)
        .and_then(|v| v.to_str().ok());
    Ok(Justification::parse(raw).map_err(app::AppError::from)?)
}

/// The byte range a `Range` header asks for: `None` when absent or not a
/// single byte range, which RFC 9110 lets a server ignore (it then sends all).
pub(crate) fn byte_range(header: Option<&str>) -> Option<ByteRange> {
    let spec = header?.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let number = |s: &str| s.trim().parse::<u64>().ok();
    match (
        a.trim().is_empty(),
        number(a),
        b.trim().is_empty(),
        number(b),
    ) {
        (true, _, _, Some(len)) => ByteRange::suffix(len),
        (false, Some(start), true, _) => Some(ByteRange::From { start }),
        (false, Some(start), false, Some(end)) => ByteRange::from_to(start, end),
        _ => None,
    }
}

/// One file's metadata.
#[utoipa::path(get, path = "/files/{id}", tag = "files", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = FileDto), (status = 404, body = ErrorBody)))]
pub async fn get_file(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<FileDto>, ApiError> {
    let auth = app
        .file(&meta, &a.principal, id::<FileId>(&raw)?, act::FileList)
        .await?;
    let file = Files(&app).get_file(auth).await?;
    Ok(Json(FileDto::from(&file)))
}

/// Deletes a file.
#[utoipa::path(delete, path = "/files/{id}", tag = "files", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_file(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let auth = app
        .file(&meta, &a.principal, id::<FileId>(&raw)?, act::FileDelete)
        .await?;
    Files(&app).delete_file(auth).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every version of a file, newest first.
#[utoipa::path(get, path = "/files/{id}/versions", tag = "files", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = VersionList), (status = 404, body = ErrorBody)))]
pub async fn list_versions(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<VersionList>, ApiError> {
    let auth = app
        .file(&meta, &a.principal, id::<FileId>(&raw)?, act::FileList)
        .await?;
    let versions = Files(&app).list_versions(auth).await?;
    Ok(Json(VersionList {
        items: versions.iter().map(VersionDto::from).collect(),
    }))
}

/// Makes an earlier version the newest again: its content becomes a new
/// version (through the room's inbound data-loss policy, like an upload), and
/// the upload's event names the version restored. Needs `file.upload`.
#[utoipa::path(post, path = "/files/{id}/versions/{version}/restore", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path), ("version" = String, Path, description = "the version id to restore")),
    responses((status = 201, body = FileDto), (status = 202, body = super::dlp::HeldDto, description = "stored but held for review by the room's data-loss policy"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "dlp_blocked")))]
pub async fn restore_version(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath((raw, version)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let file = id::<FileId>(&raw)?;
    let version = id::<VersionId>(&version)?;
    let auth = app.file(&meta, &a.principal, file, act::FileUpload).await?;
    let restored = Files(&app).restore_version(auth, version).await?;
    Ok(match restored {
        app::Uploaded::Stored(file) => {
            (StatusCode::CREATED, Json(FileDto::from(&file))).into_response()
        }
        app::Uploaded::Held(held) => (
            StatusCode::ACCEPTED,
            Json(super::dlp::HeldDto::from(&*held)),
        )
            .into_response(),
    })
}

/// Which version to read.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContentQuery {
    /// A version id; the newest when absent.
    pub version: Option<String>,
}

/// The content, streamed; `Range: bytes=…` gives 206 with only the chunks needed
/// decrypted. `Repr-Digest` carries the SHA-256 of the whole content.
#[utoipa::path(get, path = "/files/{id}/content", tag = "files", security(("bearer" = [])), params(("id" = String, Path), ContentQuery),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 206, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody), (status = 416, body = ErrorBody), (status = 500, body = ErrorBody, description = "integrity_error")))]
pub async fn get_content(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiQuery(q): ApiQuery<ContentQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let version = q.version.as_deref().map(id::<VersionId>).transpose()?;
    let range = byte_range(headers.get(header::RANGE).and_then(|v| v.to_str().ok()));
    let auth = app
        .file(&meta, &a.principal, id::<FileId>(&raw)?, act::FileDownload)
        .await?;
    let why = justification(&headers)?;
    let download = Files(&app)
        .download_with(auth, version, range, why.as_ref())
        .await;
    match download {
        Ok(d) => Ok(content_response(d)),
        Err(e @ app::AppError::RangeNotSatisfiable { size }) => Ok(unsatisfiable(e, size)),
        Err(e) => Err(e.into()),
    }
}

/// 416 with `Content-Range: bytes */<size>` (RFC 9110 §15.5.17), so that the
/// client learns the size it can ask within.
fn unsatisfiable(e: app::AppError, size: u64) -> Response {
    let mut response = ApiError::from(e).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
        response.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    response
}

fn content_response(d: app::Download) -> Response {
    let size = u64::try_from(d.info.size).unwrap_or(0);
    let (status, length) = match d.range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, end + 1 - start),
        None => (StatusCode::OK, size),
    };
    let mut response = (status, Body::from_stream(d.body)).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let digest = base64::engine::general_purpose::STANDARD.encode(&d.info.sha256);
    if let Ok(v) = HeaderValue::from_str(&format!("sha-256=:{digest}:")) {
        h.insert("repr-digest", v);
    }
    if let Some(mark) = d
        .mark_id
        .as_deref()
        .and_then(|m| HeaderValue::from_str(m).ok())
    {
        // A copy marked for its recipient: its digest is not the file's listed one.
        h.insert(MARK_ID_HEADER, mark);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", hex::encode(&d.info.sha256))) {
        h.insert(header::ETAG, v);
    }
    if let Some((start, end)) = d.range
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}"))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    let name: String = d
        .info
        .path
        .rsplit('/')
        .next()
        .unwrap_or("file")
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{name}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header's range resolved against `size`, as the download resolves it.
    type Want = Result<Option<(u64, u64)>, &'static str>;

    fn check(header: Option<&str>, size: u64, want: Want) {
        let got = byte_range(header)
            .map(|r| r.resolve(size))
            .transpose()
            .map_err(|_| "range_not_satisfiable");
        assert_eq!(got, want, "{header:?} of {size}");
    }

    #[test]
    fn ranges() {
        let table: Vec<(Option<&str>, u64, Want)> = vec![
            (None, 100, Ok(None)),
            (Some("bytes=0-9"), 100, Ok(Some((0, 9)))),
            (Some("bytes=90-"), 100, Ok(Some((90, 99)))),
            (Some("bytes=-10"), 100, Ok(Some((90, 99)))),
            (Some("bytes=-1000"), 100, Ok(Some((0, 99)))),
            (Some("bytes=50-1000"), 100, Ok(Some((50, 99)))),
            (Some("bytes=100-"), 100, Err("range_not_satisfiable")),
            (Some("bytes=9-0"), 100, Ok(None)),
            (Some("bytes=0-1,5-6"), 100, Ok(None)),
            (Some("items=0-1"), 100, Ok(None)),
            (Some("bytes=x-y"), 100, Ok(None)),
            (Some("bytes=-0"), 100, Ok(None)),
            (Some(" bytes= 5 - 6 "), 100, Ok(Some((5, 6)))),
        ];
        for (h, size, want) in table {
            check(h, size, want);
        }
    }
}

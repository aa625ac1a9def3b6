//! Static files from `assets/`, embedded in the binary (read from disk in debug builds).

use rust_embed::RustEmbed;

use super::Response;

#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

fn etag_of(file: &rust_embed::EmbeddedFile) -> String {
    format!(
        "\"{}\"",
        crate::secure::hex(&file.metadata.sha256_hash()[..12])
    )
}

/// A short content hash for cache-busting links (`/assets/style.css?v=…`).
pub fn version(path: &str) -> String {
    Assets::get(path)
        .map(|f| crate::secure::hex(&f.metadata.sha256_hash()[..6]))
        .unwrap_or_default()
}

/// Serves `/assets/{path}`; `None` when there is no such file.
pub fn serve(path: &str, if_none_match: Option<&str>, versioned: bool) -> Option<Response> {
    let file = Assets::get(path)?;
    let etag = etag_of(&file);
    let cache = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    if if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
        return Some(Response {
            status: 304,
            headers: vec![
                ("ETag".into(), etag),
                ("Cache-Control".into(), cache.into()),
            ],
            body: Vec::new(),
        });
    }
    let mime = file.metadata.mimetype().to_string();
    let mime = if mime.starts_with("text/") && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime
    };
    Some(
        Response::new(200, &mime, file.data.into_owned())
            .with_header("ETag", &etag)
            .with_header("Cache-Control", cache),
    )
}

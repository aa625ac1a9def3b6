//! A request's form, read once: the fields of an urlencoded or multipart body and, for a
//! multipart one, where its files are (in memory, or in the file the body was spooled to).

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};

use super::{Request, Upload, multipart, parse_form};

/// Longest text field taken from a spooled multipart body.
const MAX_SPOOLED_FIELD: u64 = 64 * 1024;

const UNREADABLE: &str = "the upload could not be read back";

/// The parsed body of a request.
#[derive(Default)]
pub struct Form {
    /// Text fields; the last of repeated keys wins.
    pub fields: HashMap<String, String>,
    files: Files,
}

#[derive(Default)]
enum Files {
    /// Not a multipart body.
    #[default]
    None,
    /// A multipart body the scanner refused, with its reason.
    Unreadable(&'static str),
    Memory(Vec<multipart::Part>),
    Spooled(Vec<multipart::PartAt>),
}

impl Form {
    /// Reads the body of `req` once: `application/x-www-form-urlencoded`, or
    /// `multipart/form-data` held in memory or spooled to a file. Any other body has no fields.
    pub fn parse(req: &Request) -> Form {
        let ct = req.header("content-type").unwrap_or("");
        if ct.starts_with("application/x-www-form-urlencoded") {
            return Form {
                fields: parse_form(&req.body),
                files: Files::None,
            };
        }
        if !ct.starts_with("multipart/form-data") {
            return Form::default();
        }
        match &req.spooled {
            Some(spooled) => match multipart::locate_in_file(ct, &spooled.file) {
                Ok(parts) => {
                    let fields = spooled_fields(&spooled.file, &parts).unwrap_or_default();
                    Form {
                        fields,
                        files: Files::Spooled(parts),
                    }
                }
                Err(why) => Form {
                    fields: HashMap::new(),
                    files: Files::Unreadable(why),
                },
            },
            None => match multipart::parse(ct, &req.body) {
                Ok(parts) => {
                    let (files, texts): (Vec<_>, Vec<_>) =
                        parts.into_iter().partition(|p| p.filename.is_some());
                    Form {
                        fields: texts
                            .into_iter()
                            .map(|p| (p.name, String::from_utf8_lossy(&p.data).into_owned()))
                            .collect(),
                        files: Files::Memory(files),
                    }
                }
                Err(why) => Form {
                    fields: HashMap::new(),
                    files: Files::Unreadable(why),
                },
            },
        }
    }

    pub fn get(&self, name: &str) -> Option<&String> {
        self.fields.get(name)
    }

    /// The uploaded file in field `name`, read from memory or from the file `req`'s body was
    /// spooled to; an error when the body is a multipart one that could not be read.
    pub fn upload(&self, req: &Request, name: &str) -> Result<Option<Upload>, &'static str> {
        match &self.files {
            // Not a form-data body: the scanner still has its say (its refusal tells why there
            // is no file).
            Files::None => {
                let ct = req.header("content-type").unwrap_or("");
                Ok(find_in(&multipart::parse(ct, &req.body)?, name))
            }
            Files::Unreadable(why) => Err(why),
            Files::Memory(parts) => Ok(find_in(parts, name)),
            Files::Spooled(parts) => {
                let Some(part) = parts.iter().find(|p| p.name == name) else {
                    return Ok(None);
                };
                let Some(spooled) = &req.spooled else {
                    return Err(UNREADABLE);
                };
                let mut file = spooled.file.try_clone().map_err(|_| UNREADABLE)?;
                file.seek(SeekFrom::Start(part.start))
                    .map_err(|_| UNREADABLE)?;
                let len = part.end - part.start;
                Ok(Some(Upload {
                    filename: part.filename.clone(),
                    len,
                    data: Box::new(file.take(len)),
                }))
            }
        }
    }
}

/// The part named `name` of a multipart body held in memory, as an upload.
fn find_in(parts: &[multipart::Part], name: &str) -> Option<Upload> {
    parts.iter().find(|p| p.name == name).map(|p| Upload {
        filename: p.filename.clone(),
        len: p.data.len() as u64,
        data: Box::new(std::io::Cursor::new(p.data.clone())),
    })
}

/// The text fields of a multipart body spooled to a file (each at most 64 KiB).
fn spooled_fields(
    file: &std::fs::File,
    parts: &[multipart::PartAt],
) -> Result<HashMap<String, String>, &'static str> {
    let mut fields = HashMap::new();
    for p in parts {
        if p.filename.is_some() || p.end - p.start > MAX_SPOOLED_FIELD {
            continue;
        }
        let mut file = file;
        let mut value = Vec::new();
        file.seek(SeekFrom::Start(p.start))
            .and_then(|_| file.take(p.end - p.start).read_to_end(&mut value))
            .map_err(|_| UNREADABLE)?;
        fields.insert(p.name.clone(), String::from_utf8_lossy(&value).into_owned());
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::IpAddr;

    use super::Form;
    use crate::http::{Method, Request};

    fn post(content_type: &str, body: &[u8]) -> Request {
        Request {
            method: Method::Post,
            path: "/admin/numbers/import".into(),
            query: String::new(),
            headers: vec![("content-type".into(), content_type.into())],
            body: body.to_vec(),
            spooled: None,
            peer: IpAddr::from([127, 0, 0, 1]),
        }
    }

    #[test]
    fn a_multipart_body_gives_its_fields_and_its_file_from_one_reading() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n\
--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"n.csv\"\r\n\r\nnumber\n2125550142\r\n--b--\r\n";
        let req = post("multipart/form-data; boundary=b", body);
        let form = Form::parse(&req);
        assert_eq!(form.get("csrf").map(String::as_str), Some("tok"));
        assert!(form.get("file").is_none(), "a file is not a text field");
        let mut upload = form.upload(&req, "file").unwrap().unwrap();
        assert_eq!(upload.filename.as_deref(), Some("n.csv"));
        let mut text = String::new();
        upload.data.read_to_string(&mut text).unwrap();
        assert_eq!(text, "number\n2125550142");
        assert!(form.upload(&req, "other").unwrap().is_none());
    }

    #[test]
    fn an_urlencoded_body_has_fields_and_no_file() {
        let req = post("application/x-www-form-urlencoded", b"csrf=t&confirm=yes");
        let form = Form::parse(&req);
        assert_eq!(form.get("confirm").map(String::as_str), Some("yes"));
        assert!(form.upload(&req, "file").is_err());
    }
}
